"""/api/v1/marketplace/principals/{principal}/...: keys and subscriptions of end users, scoped to the registration.

acme's registration serves alice's principal; globex's registration (another partner) and acme's view of bob's
principal must see nothing of it.
"""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog, ExchangeCredential, User
from partners.tests.conftest import ALICE_P, API_KEY, API_SECRET, BOB_P, bot_key, subscription_body
from subscriptions.models import Subscription
from subscriptions.tests.factories import ClosedTradeFactory, TradeFactory

pytestmark = pytest.mark.django_db
PASSPHRASE = "passphrase-never-shown-0001"


def _key_url(principal=ALICE_P, exchange="BINANCE", network="testnet"):
    return reverse("api:marketplace-credential", args=[principal, exchange, network])


def _put_key(client, key, principal=ALICE_P, **fields):
    body = {"api_key": API_KEY, "api_secret": API_SECRET}
    body.update(fields)
    exchange, network = body.pop("exchange", "BINANCE"), body.pop("network", "testnet")
    return client.put(_key_url(principal, exchange, network), body, content_type="application/json", **bot_key(key))


def _subscribe(client, key, principal=ALICE_P, **fields):
    url = reverse("api:marketplace-subscription-list", args=[principal])
    return client.post(url, subscription_body(**fields), content_type="application/json", **bot_key(key))


def _sub_url(name, subscription_id, principal=ALICE_P):
    return reverse(f"api:marketplace-subscription-{name}", args=[principal, subscription_id])


@pytest.fixture
def alice_sub(client, acme_reg):
    """acme subscribes alice's principal (with her testnet key)."""
    assert _put_key(client, acme_reg[1]).status_code == 200
    response = _subscribe(client, acme_reg[1])
    assert response.status_code == 201, response.content
    return Subscription.objects.get(pk=response.json()["id"])


# --- Keys ------------------------------------------------------------------------------------------------------


def test_it_stores_a_key_and_shows_it_masked_only(client, acme_reg):
    key = acme_reg[1]
    response = _put_key(client, key, exchange="COINBASE", network="mainnet", passphrase=PASSPHRASE)
    assert response.status_code == 200
    assert response.json()["masked_key"] == "••••" + API_KEY[-4:] and response.json()["network"] == "mainnet"
    listed = client.get(reverse("api:marketplace-credential-list", args=[ALICE_P]), **bot_key(key))
    assert listed.status_code == 200
    assert [(row["exchange"], row["network"], row["validation_status"]) for row in listed.json()["results"]] == [
        ("COINBASE", "mainnet", "pending")
    ]
    for body in (response.content.decode(), listed.content.decode()):
        assert API_KEY not in body and API_SECRET not in body and PASSPHRASE not in body
    credential = ExchangeCredential.objects.get()
    assert credential.principal_id == ALICE_P and credential.user.user_principal_id == ALICE_P


def test_it_replaces_and_deletes_a_key(client, acme_reg):
    key = acme_reg[1]
    _put_key(client, key)
    response = _put_key(client, key, api_key="anotherTestnetKey-0000-LAST")
    assert response.status_code == 200 and response.json()["api_key_hint"] == "LAST"
    assert ExchangeCredential.objects.get().api_key_hint == "LAST"
    assert client.delete(_key_url(), **bot_key(key)).status_code == 204
    assert not ExchangeCredential.objects.exists()
    assert client.delete(_key_url(), **bot_key(key)).status_code == 404


@pytest.mark.parametrize(
    "principal, exchange, network, body, field",
    [
        ("rrkah-fqaaa-aaaaa-aaaar-cai", "BINANCE", "testnet", {}, "principal"),
        ("2vxsx-fae", "BINANCE", "testnet", {}, "principal"),
        (ALICE_P, "NYSE", "testnet", {}, "exchange"),
        (ALICE_P, "BINANCE", "paper", {}, "network"),
        (ALICE_P, "BINANCE", "testnet", {"api_secret": ""}, "api_secret"),
        (ALICE_P, "BINANCE", "testnet", {"api_key": "short"}, None),
        (ALICE_P, "COINBASE", "mainnet", {}, None),  # a Coinbase key needs its passphrase
    ],
)
def test_it_refuses_a_bad_key_and_stores_nothing(client, acme_reg, principal, exchange, network, body, field):
    response = _put_key(client, acme_reg[1], principal, exchange=exchange, network=network, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and (field is None or field in error["fields"])
    assert API_SECRET not in response.content.decode()
    assert not ExchangeCredential.objects.exists() and not User.objects.filter(user_principal_id=principal).exists()


def test_it_refuses_a_key_another_partner_holds_with_a_conflict(client, acme_reg, globex_reg):
    _put_key(client, acme_reg[1])
    response = _put_key(client, globex_reg[1], api_key="globexKeyForAlice-0001")
    assert response.status_code == 409
    assert (
        response.json()["error"]["code"] == "conflict" and "Another marketplace" in response.json()["error"]["message"]
    )
    assert ExchangeCredential.objects.get().marketplace_registration == acme_reg[0]


def test_it_hides_a_principals_keys_from_another_partner(client, acme_reg, globex_reg):
    _put_key(client, acme_reg[1])
    listed = client.get(reverse("api:marketplace-credential-list", args=[ALICE_P]), **bot_key(globex_reg[1]))
    assert listed.json()["count"] == 0
    assert client.delete(_key_url(), **bot_key(globex_reg[1])).status_code == 404
    assert ExchangeCredential.objects.count() == 1
    # ... and one principal's keys through another principal's URL.
    listed = client.get(reverse("api:marketplace-credential-list", args=[BOB_P]), **bot_key(acme_reg[1]))
    assert listed.json()["count"] == 0


# --- Subscriptions ---------------------------------------------------------------------------------------------


def test_it_subscribes_a_principal_and_lists_it(client, acme_reg, alice_sub):
    assert alice_sub.user_principal_id == ALICE_P and alice_sub.marketplace_registration == acme_reg[0]
    assert alice_sub.user.user_principal_id == ALICE_P and alice_sub.bot == acme_reg[0].bot
    assert alice_sub.network_type == "testnet" and not alice_sub.is_paper
    listed = client.get(reverse("api:marketplace-subscription-list", args=[ALICE_P]), **bot_key(acme_reg[1]))
    row = listed.json()["results"][0]
    assert row["id"] == alice_sub.pk and row["principal"] == ALICE_P and row["bot"] == "sma-crossover"
    assert row["strategy_config"] == {"fast": 5, "slow": 20} and row["status"] == "ACTIVE"
    detail = client.get(_sub_url("detail", alice_sub.pk), **bot_key(acme_reg[1]))
    assert detail.json() == row


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"trade_mode": "Futures"}, "trade_mode"),
        ({"trade_mode": "Margin"}, "trade_mode"),
        ({"network_type": "paper"}, "network_type"),
        ({"network_type": "mainnet"}, "network_type"),  # no mainnet key
        ({"expires_at": "2020-01-01T00:00:00Z", "started_at": "2019-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "not a date"}, "expires_at"),
        ({"trading_pair": "DOGE/USDT"}, "trading_pair"),
        ({"timeframe": "7m"}, "timeframe"),
        ({"timeframes": ["1h", "4h"]}, "timeframes"),
        ({"trade_evaluation_period": 0}, "trade_evaluation_period"),
        ({"strategy_config": {"fast": 40, "slow": 30}}, "strategy_config.fast"),
        ({"risk_config": {"stop_loss_percent": 150}}, "risk_config.stop_loss_percent"),
        ({"strategy_config": "fast"}, "strategy_config"),
    ],
)
def test_it_refuses_a_bad_subscription_and_stores_nothing(client, acme_reg, fields, field):
    _put_key(client, acme_reg[1])
    response = _subscribe(client, acme_reg[1], **fields)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Subscription.objects.exists()
    assert not AuditLog.objects.filter(action="subscription.create").exists()


def test_it_refuses_a_subscription_without_the_principals_key(client, acme_reg):
    response = _subscribe(client, acme_reg[1])
    assert response.status_code == 400
    assert "API key" in response.json()["error"]["fields"]["network_type"][0]
    assert not Subscription.objects.exists() and not User.objects.filter(user_principal_id=ALICE_P).exists()


def test_it_changes_the_window_and_configs(client, acme_reg, alice_sub):
    new_end = (timezone.now() + timedelta(days=60)).replace(microsecond=0)
    body = {
        "expires_at": new_end.isoformat(),
        "trade_evaluation_period": 30,
        "strategy_config": {"fast": 8, "slow": 21},
    }
    response = client.patch(
        _sub_url("detail", alice_sub.pk), body, content_type="application/json", **bot_key(acme_reg[1])
    )
    assert response.status_code == 200, response.content
    alice_sub.refresh_from_db()
    assert alice_sub.expires_at == new_end and alice_sub.trade_evaluation_period == 30
    assert alice_sub.strategy_config == {"fast": 8, "slow": 21} and alice_sub.instance_name == "Alice's SMA"
    assert AuditLog.objects.get(action="subscription.update_config").user == acme_reg[0].partner


@pytest.mark.parametrize(
    "body, field",
    [
        ({"trading_pair": "ETH/USDT"}, "trading_pair"),
        ({"network_type": "mainnet"}, "network_type"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"strategy_config": {"fast": 50}}, "strategy_config.fast"),
    ],
)
def test_it_refuses_a_bad_change_and_keeps_the_settings(client, acme_reg, alice_sub, body, field):
    before = Subscription.objects.filter(pk=alice_sub.pk).values().get()
    response = client.patch(
        _sub_url("detail", alice_sub.pk), body, content_type="application/json", **bot_key(acme_reg[1])
    )
    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert Subscription.objects.filter(pk=alice_sub.pk).values().get() == before


def test_it_pauses_resumes_and_cancels(client, acme_reg, alice_sub):
    key = acme_reg[1]
    assert client.post(_sub_url("pause", alice_sub.pk), **bot_key(key)).json()["status"] == "PAUSED"
    alice_sub.refresh_from_db()
    assert alice_sub.status == "PAUSED"
    assert client.post(_sub_url("resume", alice_sub.pk), **bot_key(key)).json()["status"] == "ACTIVE"
    assert client.post(_sub_url("cancel", alice_sub.pk), **bot_key(key)).json()["status"] == "CANCELLED"
    refused = client.post(_sub_url("resume", alice_sub.pk), **bot_key(key))
    assert refused.status_code == 400 and "cannot be resumed" in refused.json()["error"]["message"]
    alice_sub.refresh_from_db()
    assert alice_sub.status == "CANCELLED"


def test_it_reads_trades_and_performance_newest_first(client, acme_reg, alice_sub):
    now = timezone.now()
    old = ClosedTradeFactory(subscription=alice_sub, entry_time=now - timedelta(days=2))
    new = TradeFactory(subscription=alice_sub, entry_time=now - timedelta(hours=1))
    trades = client.get(_sub_url("trades", alice_sub.pk), **bot_key(acme_reg[1])).json()
    assert [row["id"] for row in trades["results"]] == [new.pk, old.pk]
    assert trades["results"][1]["pnl"] == str(old.pnl)
    from subscriptions.models import PerformanceLog

    for hours in (3, 1, 2):
        PerformanceLog.objects.create(
            subscription=alice_sub,
            action="HOLD",
            timestamp=now - timedelta(hours=hours),
            price=1,
            quantity=0,
            balance=1,
        )
    performance = client.get(_sub_url("performance", alice_sub.pk), **bot_key(acme_reg[1])).json()
    stamps = [row["timestamp"] for row in performance["results"]]
    assert performance["count"] == 3 and stamps == sorted(stamps, reverse=True)


# --- Isolation -------------------------------------------------------------------------------------------------


def test_it_never_shows_or_touches_another_registrations_subscriptions(client, acme_reg, globex_reg, alice_sub):
    key = globex_reg[1]
    listed = client.get(reverse("api:marketplace-subscription-list", args=[ALICE_P]), **bot_key(key))
    assert listed.status_code == 200 and listed.json()["count"] == 0
    for name in ("detail", "trades", "performance"):
        assert client.get(_sub_url(name, alice_sub.pk), **bot_key(key)).status_code == 404
    for name in ("pause", "resume", "cancel"):
        assert client.post(_sub_url(name, alice_sub.pk), **bot_key(key)).status_code == 404
    patch = client.patch(
        _sub_url("detail", alice_sub.pk), {"instance_name": "mine"}, content_type="application/json", **bot_key(key)
    )
    assert patch.status_code == 404
    alice_sub.refresh_from_db()
    assert alice_sub.status == "ACTIVE" and alice_sub.instance_name == "Alice's SMA"


def test_it_never_shows_a_principals_subscription_through_another_principals_url(client, acme_reg, alice_sub):
    key = acme_reg[1]
    assert client.get(reverse("api:marketplace-subscription-list", args=[BOB_P]), **bot_key(key)).json()["count"] == 0
    for name in ("detail", "trades", "performance"):
        assert client.get(_sub_url(name, alice_sub.pk, BOB_P), **bot_key(key)).status_code == 404
    assert client.post(_sub_url("cancel", alice_sub.pk, BOB_P), **bot_key(key)).status_code == 404
    alice_sub.refresh_from_db()
    assert alice_sub.status == "ACTIVE"


def test_it_never_shows_a_traders_own_subscription(client, acme_reg, alice):
    from subscriptions.tests.factories import SubscriptionFactory

    own = SubscriptionFactory(user=alice, bot=acme_reg[0].bot)
    assert client.get(_sub_url("detail", own.pk), **bot_key(acme_reg[1])).status_code == 404
    assert client.get(_sub_url("detail", 2**70), **bot_key(acme_reg[1])).status_code == 404


def test_it_keeps_secrets_out_of_every_response(client, acme_reg, alice_sub):
    key = acme_reg[1]
    urls = [
        reverse("api:marketplace-credential-list", args=[ALICE_P]),
        reverse("api:marketplace-subscription-list", args=[ALICE_P]),
        _sub_url("detail", alice_sub.pk),
        _sub_url("trades", alice_sub.pk),
        _sub_url("performance", alice_sub.pk),
    ]
    bodies = [client.get(url, **bot_key(key)).content.decode() for url in urls]
    bodies.append(_put_key(client, key).content.decode())
    registration_hash = type(acme_reg[0]).objects.get().api_key
    for body in bodies:
        for secret in (API_KEY, API_SECRET, key, registration_hash, "api_key_encrypted", "gAAAAA"):
            assert secret not in body


def test_it_rejects_a_malformed_principal_in_every_url(client, acme_reg):
    bad = "rrkah-fqaaa-aaaaa-aaaaq-caj"
    response = client.get(reverse("api:marketplace-subscription-list", args=[bad]), **bot_key(acme_reg[1]))
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"principal": [response.json()["error"]["message"]]}
    assert client.get(reverse("api:marketplace-credential-list", args=[bad]), **bot_key(acme_reg[1])).status_code == 400


def test_it_lists_subscriptions_in_a_bounded_number_of_queries(
    client, acme_reg, alice_sub, django_assert_max_num_queries
):
    for count in (3, 30):
        Subscription.objects.exclude(pk=alice_sub.pk).delete()
        for n in range(count - 1):
            Subscription.objects.create(
                user=alice_sub.user,
                user_principal_id=ALICE_P,
                marketplace_registration=acme_reg[0],
                bot=alice_sub.bot,
                instance_name=f"copy {n}",
                execution_config={},
                risk_config={},
            )
        # registration (with bot and partner), the partner's permissions (2), count, page
        with django_assert_max_num_queries(5):
            response = client.get(
                reverse("api:marketplace-subscription-list", args=[ALICE_P]) + "?page_size=100",
                **bot_key(acme_reg[1]),
            )
        assert response.json()["count"] == count


def test_it_answers_bad_json_in_the_error_shape(client, acme_reg):
    response = client.post(
        reverse("api:marketplace-subscription-list", args=[ALICE_P]),
        "{not json",
        content_type="application/json",
        **bot_key(acme_reg[1]),
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"
    assert json.loads(response.content)["error"]["fields"] == {}


def test_it_answers_options_without_a_server_error(client, acme_reg, alice_sub):
    urls = [
        _key_url(),
        reverse("api:marketplace-credential-list", args=[ALICE_P]),
        reverse("api:marketplace-subscription-list", args=[ALICE_P]),
        *(_sub_url(name, alice_sub.pk) for name in ("detail", "pause", "resume", "cancel", "trades", "performance")),
    ]
    for url in urls:
        assert client.options(url, **bot_key(acme_reg[1])).status_code == 405
