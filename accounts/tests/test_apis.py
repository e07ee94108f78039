"""The trader's exchange credentials under /api/v1/credentials/: secrets go in and never come out."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts import crypto
from accounts.models import AuditLog, ExchangeCredential
from accounts.services import user_api_key_create
from accounts.tests.factories import ExchangeCredentialFactory

LIST = reverse("api:credential-list")
CLEAR_KEY = "ClearApiKey-0123456789-K3Y9"
CLEAR_SECRET = "ClearApiSecret-0123456789-S3CR"
CLEAR_PASSPHRASE = "ClearPassphrase-42"


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # The throttles count in the cache, which outlives a test.
    cache.clear()


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def detail_url(credential) -> str:
    return reverse("api:credential-detail", args=[credential.pk])


def assert_no_secrets(response) -> None:
    content = response.content.decode()
    for secret in (CLEAR_KEY, CLEAR_SECRET, CLEAR_PASSPHRASE, CLEAR_KEY[:-4]):
        assert secret not in content


def new_key(**overrides) -> dict:
    return {"exchange": "BINANCE", "api_key": CLEAR_KEY, "api_secret": CLEAR_SECRET, "is_testnet": True} | overrides


@pytest.mark.django_db
def test_it_stores_a_key_encrypted_and_shows_only_its_last_four_characters(alice_client, alice):
    response = alice_client.post(LIST, new_key(), content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert (body["masked_key"], body["api_key_hint"], body["validation_status"]) == ("••••K3Y9", "K3Y9", "pending")
    assert not {"api_key", "api_secret", "passphrase"} & set(body)
    assert_no_secrets(response)

    credential = ExchangeCredential.objects.get(user=alice)
    assert credential.pk == body["id"] and credential.exchange == "BINANCE" and credential.is_testnet
    assert CLEAR_KEY not in credential.api_key_encrypted and CLEAR_SECRET not in credential.api_secret_encrypted
    assert crypto.decrypt(credential.api_secret_encrypted) == CLEAR_SECRET
    audit = AuditLog.objects.get(action="credential.create")
    assert audit.user == alice and CLEAR_KEY not in str(audit.new_values)


@pytest.mark.django_db
def test_it_takes_a_passphrase_where_the_exchange_needs_one(alice_client, alice):
    response = alice_client.post(LIST, new_key(exchange="COINBASE"), content_type="application/json")
    assert response.status_code == 400 and "passphrase" in response.json()["error"]["message"]
    assert_no_secrets(response)
    response = alice_client.post(
        LIST,
        new_key(exchange="COINBASE", passphrase=CLEAR_PASSPHRASE, is_testnet=False),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert_no_secrets(response)
    assert crypto.decrypt(ExchangeCredential.objects.get(user=alice).api_passphrase_encrypted) == CLEAR_PASSPHRASE


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (new_key(api_secret=""), {"api_secret"}),
        ({"exchange": "BINANCE", "api_key": CLEAR_KEY}, {"api_secret"}),
        (new_key(exchange="MTGOX"), {"exchange"}),
        (new_key(api_key="short", api_secret=CLEAR_SECRET), set()),  # the service's own check
        (new_key(api_key="k" * 513), {"api_key"}),
    ],
)
def test_it_refuses_bad_input_without_echoing_secrets_and_stores_nothing(alice_client, body, fields):
    response = alice_client.post(LIST, body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == fields
    assert_no_secrets(response)
    assert not ExchangeCredential.objects.exists() and not AuditLog.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_second_key_for_the_same_exchange_and_network(alice_client, alice):
    assert alice_client.post(LIST, new_key(), content_type="application/json").status_code == 201
    response = alice_client.post(LIST, new_key(), content_type="application/json")
    assert response.status_code == 400 and "already have" in response.json()["error"]["message"]
    assert ExchangeCredential.objects.filter(user=alice).count() == 1


@pytest.mark.django_db
def test_it_lists_and_shows_only_the_callers_own_keys_without_secrets(alice_client, alice, bob):
    mine = ExchangeCredentialFactory(user=alice, api_key=CLEAR_KEY, api_secret=CLEAR_SECRET)
    bobs = ExchangeCredentialFactory(user=bob)
    ExchangeCredentialFactory(user=alice, principal_id="aaaaa-aa", is_testnet=False)  # a principal's key
    response = alice_client.get(LIST)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert_no_secrets(response)

    response = alice_client.get(detail_url(mine))
    assert response.status_code == 200 and response.json()["masked_key"] == "••••K3Y9"
    assert_no_secrets(response)
    assert alice_client.get(detail_url(bobs)).status_code == 404


@pytest.mark.django_db
def test_it_deletes_the_callers_own_key_only(alice_client, alice, bob):
    mine = ExchangeCredentialFactory(user=alice)
    bobs = ExchangeCredentialFactory(user=bob)
    response = alice_client.delete(detail_url(bobs))
    assert response.status_code == 404
    assert ExchangeCredential.objects.filter(pk=bobs.pk).exists()

    assert alice_client.delete(detail_url(mine)).status_code == 204
    assert not ExchangeCredential.objects.filter(pk=mine.pk).exists()
    assert AuditLog.objects.get(action="credential.delete").record_id == mine.pk
    assert alice_client.get(detail_url(mine)).status_code == 404


@pytest.mark.django_db
def test_it_refuses_anonymous_callers_with_401(client, alice):
    credential = ExchangeCredentialFactory(user=alice)
    assert client.get(LIST).status_code == 401
    assert client.post(LIST, new_key(), content_type="application/json").status_code == 401
    assert client.get(detail_url(credential)).status_code == 401
    assert client.delete(detail_url(credential)).status_code == 401
    assert ExchangeCredential.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 4])
def test_it_lists_keys_in_a_fixed_number_of_queries(client, alice, rows, django_assert_num_queries):
    api_key = user_api_key_create(user=alice)
    for exchange, is_testnet in [("BINANCE", True), ("BINANCE", False), ("BYBIT", True), ("BYBIT", False)][:rows]:
        ExchangeCredentialFactory(user=alice, exchange=exchange, is_testnet=is_testnet)
    with django_assert_num_queries(3):  # the key's user, the count, the page
        response = client.get(LIST, HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    assert response.json()["count"] == rows
