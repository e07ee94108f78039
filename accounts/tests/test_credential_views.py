"""The exchange credentials page: add, list masked, delete; secrets never shown; others' keys are 404."""

import pytest
from django.urls import reverse

from accounts.models import AuditLog, ExchangeCredential
from accounts.tests.factories import ExchangeCredentialFactory

URL = reverse("accounts:credentials")
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duWXYZ"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PASSPHRASE = "correct-passphrase-for-coinbase"


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def _post(client, **fields):
    data = {"exchange": "BINANCE", "network": "testnet", "api_key": KEY, "api_secret": SECRET, "passphrase": ""}
    data.update(fields)
    return client.post(URL, data, follow=True)


@pytest.mark.django_db
def test_it_adds_a_key_and_never_shows_its_secret_again(alice_client, alice):
    response = _post(alice_client)
    page = response.content.decode()
    assert "Saved your Binance testnet key …WXYZ" in page
    assert "••••WXYZ" in page and "Pending" in page
    assert SECRET not in page and KEY not in page
    credential = ExchangeCredential.objects.get(user=alice)
    assert credential.is_testnet and credential.api_key_hint == "WXYZ"
    assert SECRET not in credential.api_secret_encrypted
    assert AuditLog.objects.filter(action="credential.create", record_id=credential.pk).exists()
    assert "withdraw" in page


@pytest.mark.django_db
def test_it_refuses_bad_keys_without_echoing_them(alice_client):
    response = _post(alice_client, api_key="short", api_secret=SECRET)
    page = response.content.decode()
    assert "too short" in page
    # Not even the bad key is put back into the form.
    assert SECRET not in page and 'value="short"' not in page and 'name="api_key"' in page
    response = _post(alice_client, exchange="COINBASE")
    assert "Coinbase keys need their passphrase too." in response.content.decode()
    assert SECRET not in response.content.decode()
    response = _post(alice_client, exchange="NASDAQ")
    assert "Select a valid choice" in response.content.decode()
    assert not ExchangeCredential.objects.exists()


@pytest.mark.django_db
def test_it_takes_a_passphrase_where_the_exchange_needs_one(alice_client, alice):
    _post(alice_client, exchange="COINBASE", network="mainnet", passphrase=PASSPHRASE)
    credential = ExchangeCredential.objects.get(user=alice)
    assert credential.exchange == "COINBASE" and not credential.is_testnet and credential.api_passphrase_encrypted
    assert PASSPHRASE not in alice_client.get(URL).content.decode()


@pytest.mark.django_db
def test_it_refuses_a_second_key_for_the_same_exchange_and_network(alice_client, alice):
    _post(alice_client)
    response = _post(alice_client)
    assert "already have a Binance testnet key" in response.content.decode()
    assert ExchangeCredential.objects.filter(user=alice).count() == 1


@pytest.mark.django_db
def test_it_shows_only_my_keys_with_their_status(alice_client, alice, bob):
    ExchangeCredentialFactory(user=alice, validation_status="invalid", validation_error="Key expired.",
                              api_key="alice-key-0000-AAAA")
    ExchangeCredentialFactory(user=bob, api_key="bob-key-000000-BBBB")
    page = alice_client.get(URL).content.decode()
    assert "••••AAAA" in page and "Key expired." in page and "Invalid" in page
    assert "BBBB" not in page


@pytest.mark.django_db
def test_it_deletes_my_key_and_404s_on_someone_elses(client, alice, bob):
    mine = ExchangeCredentialFactory(user=alice)
    theirs = ExchangeCredentialFactory(user=bob)
    client.force_login(alice)
    assert client.post(reverse("accounts:credential_delete", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("accounts:credential_delete", args=[mine.pk])).status_code == 405
    assert ExchangeCredential.objects.count() == 2
    response = client.post(reverse("accounts:credential_delete", args=[mine.pk]), follow=True)
    assert "Deleted your Binance testnet key" in response.content.decode()
    assert list(ExchangeCredential.objects.all()) == [theirs]
    assert AuditLog.objects.filter(action="credential.delete", record_id=mine.pk).exists()


@pytest.mark.django_db
def test_it_keeps_anonymous_visitors_out(client, alice):
    credential = ExchangeCredentialFactory(user=alice)
    response = client.post(reverse("accounts:credential_delete", args=[credential.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert ExchangeCredential.objects.filter(pk=credential.pk).exists()
    _post(client)
    assert ExchangeCredential.objects.count() == 1


@pytest.mark.django_db
def test_it_lists_keys_with_a_bounded_query_count(alice_client, alice, django_assert_max_num_queries):
    ExchangeCredentialFactory(user=alice, exchange="BINANCE")
    with django_assert_max_num_queries(4) as few:
        alice_client.get(URL)
    for exchange in ("KRAKEN", "BYBIT", "HUOBI"):
        ExchangeCredentialFactory(user=alice, exchange=exchange)
        ExchangeCredentialFactory(user=alice, exchange=exchange, is_testnet=False)
    with django_assert_max_num_queries(4) as many:
        alice_client.get(URL)
    assert len(many.captured_queries) == len(few.captured_queries)
