# ruff: noqa: F811
"""One tenant never stops another: a subscription or a key that cannot work (a testnet the exchange does not have, a
row stored around the services, a bug) fails alone, recorded on itself, while every other run and check goes on.

Rows that bypass validation are made with the factories, as data from before a rule existed would be.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Exchange, ExchangeCredential
from accounts.networks import has_testnet, network_problem
from accounts.tests.factories import ExchangeCredentialFactory
from marketplace.tests.pages import builtin_bot, subscribe_post
from partners.tests.conftest import (  # the partner personas are this module's fixtures too (hence F811 above)
    ALICE_P,
    API_KEY,
    API_SECRET,
    acme,  # noqa: F401
    acme_reg,  # noqa: F401
    bot_key,
    sma,  # noqa: F401
    subscription_body,
)
from subscriptions.models import PerformanceLog, Subscription
from subscriptions.tests.factories import SubscriptionFactory
from trading import maintenance
from trading.engine.batch import run_batch
from trading.exceptions import ExchangeNotSupported
from trading.exchanges.ccxt_factory import make_exchange
from trading.models import Order
from trading.tests.conftest import STRATEGY, make_testnet_subscription, run_tick
from trading.tests.factories import OrderFactory

# Coinbase's shipped candles (BTC/USD 1h) end in October 2019.
COINBASE_START = datetime(2019, 10, 1, 0, 0, 30, tzinfo=UTC)
NO_TESTNET = [Exchange.COINBASE, Exchange.KRAKEN, Exchange.HUOBI]


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # The API throttles count in the cache, which outlives a test.
    cache.clear()


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def _coinbase_subscription(owner, bot, **fields):
    values = {
        "user": owner,
        "bot": bot,
        "exchange_type": "COINBASE",
        "trading_pair": "BTC/USD",
        "timeframe": "1h",
        "strategy_config": STRATEGY,
        "execution_config": {},
        "risk_config": {},
        "started_at": COINBASE_START - timedelta(hours=1),
    }
    return SubscriptionFactory(**(values | fields))


# --- Which networks exist: read from ccxt ---------------------------------------------------------------------


def test_it_reads_which_exchanges_have_a_testnet_from_ccxt():
    assert [code for code in Exchange.values if has_testnet(code)] == ["BINANCE", "BYBIT"]
    assert not has_testnet("NYSE")
    for code in Exchange.values:
        assert network_problem(code, testnet=False) == ""
        # The engine's factory agrees with the question, and never fails inside ccxt (ccxt 4.5 raises a TypeError on
        # set_sandbox_mode for an exchange whose sandbox URL is None).
        if has_testnet(code):
            assert make_exchange(code, testnet=True).isSandboxModeEnabled
        else:
            with pytest.raises(ExchangeNotSupported, match="has no testnet"):
                make_exchange(code, testnet=True)


# --- Refused where they are asked for ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("exchange", NO_TESTNET)
def test_it_refuses_a_testnet_key_where_the_exchange_has_none_on_the_credentials_page(alice_client, exchange):
    body = {"exchange": exchange, "network": "testnet", "api_key": API_KEY, "api_secret": API_SECRET}
    response = alice_client.post(reverse("accounts:credentials"), body | {"passphrase": "pass-phrase-0001"})
    page = response.content.decode()
    assert response.status_code == 200 and f"{Exchange(exchange).label} has no testnet" in page
    assert "Binance, Bybit" in page and API_SECRET not in page
    assert not ExchangeCredential.objects.exists()
    # Its mainnet is fine.
    alice_client.post(reverse("accounts:credentials"), body | {"network": "mainnet", "passphrase": "pass-phrase-0001"})
    assert ExchangeCredential.objects.get().is_testnet is False


@pytest.mark.django_db
def test_it_refuses_a_testnet_key_where_the_exchange_has_none_in_the_api(alice_client):
    body = {"exchange": "KRAKEN", "api_key": API_KEY, "api_secret": API_SECRET, "is_testnet": True}
    response = alice_client.post(reverse("api:credential-list"), body, content_type="application/json")
    assert response.status_code == 400
    assert "Kraken has no testnet" in response.json()["error"]["message"]
    assert not ExchangeCredential.objects.exists()
    response = alice_client.post(
        reverse("api:credential-list"), body | {"is_testnet": False}, content_type="application/json"
    )
    assert response.status_code == 201


@pytest.mark.django_db
def test_it_refuses_a_principals_testnet_key_where_the_exchange_has_none(client, acme_reg):
    url = reverse("api:marketplace-credential", args=[ALICE_P, "KRAKEN", "testnet"])
    body = {"api_key": API_KEY, "api_secret": API_SECRET}
    response = client.put(url, body, content_type="application/json", **bot_key(acme_reg[1]))
    assert response.status_code == 400
    error = response.json()["error"]
    assert "Kraken has no testnet" in error["fields"]["network"][0]
    # Nothing stored, not even the principal's user.
    assert not ExchangeCredential.objects.exists()
    assert not Subscription.objects.exists()
    from accounts.models import User

    assert not User.objects.filter(user_principal_id=ALICE_P).exists()


@pytest.mark.django_db
def test_it_refuses_a_testnet_subscription_where_the_exchange_has_none_on_the_subscribe_page(alice_client, alice):
    bot = builtin_bot()
    # Even with a key (stored before the rule), the network itself is refused, and says why.
    ExchangeCredentialFactory(user=alice, exchange="COINBASE", is_testnet=True, validation_status="valid")
    page = alice_client.get(reverse("subscriptions:subscribe", args=[bot.slug])).content.decode()
    assert "Binance, Bybit only" in page
    response = alice_client.post(
        reverse("subscriptions:subscribe", args=[bot.slug]),
        subscribe_post(bot, mode="testnet", exchange_type="COINBASE", trading_pair="BTC/USD"),
    )
    assert response.status_code == 400 and "Coinbase has no testnet" in response.content.decode()
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_testnet_subscription_where_the_exchange_has_none_in_the_api(alice_client, alice):
    builtin_bot()
    ExchangeCredentialFactory(user=alice, exchange="COINBASE", is_testnet=True, validation_status="valid")
    body = {
        "bot": "sma-crossover",
        "mode": "testnet",
        "exchange_type": "COINBASE",
        "trading_pair": "BTC/USD",
        "timeframe": "1h",
    }
    response = alice_client.post(reverse("api:subscription-list"), body, content_type="application/json")
    assert response.status_code == 400
    assert "Coinbase has no testnet" in response.json()["error"]["fields"]["mode"][0]
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_principals_testnet_subscription_where_the_exchange_has_none(client, acme_reg):
    url = reverse("api:marketplace-subscription-list", args=[ALICE_P])
    body = subscription_body(exchange_type="COINBASE", trading_pair="BTC/USD", network_type="testnet")
    response = client.post(url, body, content_type="application/json", **bot_key(acme_reg[1]))
    assert response.status_code == 400
    assert "Coinbase has no testnet" in response.json()["error"]["fields"]["network_type"][0]
    assert not Subscription.objects.exists()


# --- Every run fails alone ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_stops_only_the_testnet_subscription_the_exchange_cannot_serve(alice, bob, sma_bot):
    # bob's row predates the rule (and his key too); alice trades the same bot on the same market, on paper.
    ExchangeCredentialFactory(user=bob, exchange="COINBASE", is_testnet=True, validation_status="valid")
    broken = _coinbase_subscription(bob, sma_bot, is_paper=False, network_type="testnet")
    healthy = _coinbase_subscription(alice, sma_bot, is_paper=True)
    reports = run_tick(COINBASE_START)
    assert {r.subscription_id: r.outcome for r in reports}[healthy.pk] == "HOLD"
    broken.refresh_from_db()
    healthy.refresh_from_db()
    assert broken.status == "ERROR" and "Coinbase has no testnet" in broken.status_reason
    assert "Coinbase has no testnet" in broken.last_error
    assert healthy.status == "ACTIVE" and healthy.completed_candle_at is not None and healthy.last_error == ""
    assert PerformanceLog.objects.filter(subscription=healthy).count() == 1
    assert not PerformanceLog.objects.filter(subscription=broken).exists()
    # The next candle: alice runs again, bob's stays stopped.
    run_tick(COINBASE_START + timedelta(hours=1))
    assert PerformanceLog.objects.filter(subscription=healthy).count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_records_an_unexpected_error_on_its_subscription_and_runs_the_others(alice, bob, sma_bot, caplog):
    # A config stored around the services (not an object): the bot's config cannot even be built from it.
    broken = _coinbase_subscription(bob, sma_bot, is_paper=True, strategy_config=["not", "a", "mapping"])
    healthy = _coinbase_subscription(alice, sma_bot, is_paper=True)
    reports = {r.subscription_id: r for r in run_tick(COINBASE_START)}
    assert reports[broken.pk].outcome == "error" and reports[healthy.pk].outcome == "HOLD"
    broken.refresh_from_db()
    assert broken.status == "ACTIVE" and broken.consecutive_failures == 1
    assert "internal error (ValueError)" in broken.last_error and "mapping" not in broken.last_error
    assert "failed unexpectedly" in caplog.text
    assert PerformanceLog.objects.filter(subscription=healthy).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_records_a_failure_inside_one_run_and_runs_the_next_subscription(alice, bob, sma_bot, monkeypatch):
    from trading.engine import batch

    first = _coinbase_subscription(bob, sma_bot, is_paper=True)
    second = _coinbase_subscription(alice, sma_bot, is_paper=True)
    real_paper_run = batch.paper_run

    def paper_run(*, subscription, **kwargs):
        if subscription.pk == first.pk:
            raise KeyError("a bug in one run")
        return real_paper_run(subscription=subscription, **kwargs)

    monkeypatch.setattr(batch, "paper_run", paper_run)
    reports = {r.subscription_id: r.outcome for r in run_tick(COINBASE_START)}
    assert reports == {first.pk: "error", second.pk: "HOLD"}
    first.refresh_from_db()
    assert "internal error (KeyError)" in first.last_error and first.completed_candle_at is None
    # Its run was not completed: the scheduler claims it again once the lease runs out, and then it runs.
    monkeypatch.setattr(batch, "paper_run", real_paper_run)
    Subscription.objects.filter(pk=first.pk).update(claimed_at=datetime(2000, 1, 1, tzinfo=UTC))
    reports = {r.subscription_id: r.outcome for r in run_tick(COINBASE_START + timedelta(minutes=1))}
    assert reports == {first.pk: "HOLD"}
    first.refresh_from_db()
    assert first.last_error == "" and first.completed_candle_at is not None


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_other_groups_when_a_whole_group_fails(alice, bob, sma_bot, monkeypatch):
    from trading.engine import batch

    coinbase = _coinbase_subscription(bob, sma_bot, is_paper=True)
    binance = SubscriptionFactory(
        user=alice, bot=sma_bot, is_paper=True, strategy_config=STRATEGY, execution_config={}, risk_config={}
    )
    real_closed_candles = batch.closed_candles

    def closed_candles(exchange, *args, **kwargs):
        if exchange == "COINBASE":
            raise RuntimeError("the candle store broke")
        return real_closed_candles(exchange, *args, **kwargs)

    monkeypatch.setattr(batch, "closed_candles", closed_candles)
    run_at = datetime(2021, 5, 1, tzinfo=UTC)
    reports = {
        r.subscription_id: r.outcome
        for r in run_batch(
            subscription_ids=[coinbase.pk, binance.pk], run_at=run_at, now=run_at + timedelta(seconds=30)
        )
    }
    assert reports == {coinbase.pk: "error", binance.pk: "HOLD"}
    coinbase.refresh_from_db()
    assert "internal error (RuntimeError)" in coinbase.last_error


@pytest.mark.django_db(transaction=True)
def test_it_settles_the_other_orders_when_one_cannot_be_reconciled(alice, bob, sma_bot, fake_binance, alice_key):
    from trading.engine.live import reconcile_orders

    ExchangeCredentialFactory(user=bob, exchange="COINBASE", is_testnet=True, validation_status="valid")
    stuck = OrderFactory(
        subscription=_coinbase_subscription(bob, sma_bot, is_paper=False, network_type="testnet"),
        status=Order.Status.SENT,
    )
    mine = OrderFactory(subscription=make_testnet_subscription(alice, sma_bot), status=Order.Status.SENT)
    Order.objects.update(updated_at=datetime(2021, 1, 1, tzinfo=UTC))
    reconcile_orders(older_than_s=0)
    mine.refresh_from_db()
    stuck.refresh_from_db()
    # alice's order was looked up (the exchange never saw it) although bob's came first and cannot be.
    assert mine.lookup_attempts == 1 and stuck.lookup_attempts == 0


def _alice_binance_key(alice, fake_binance):
    from accounts.services import credential_create
    from trading.tests.conftest import API_KEY as FAKE_KEY
    from trading.tests.conftest import API_SECRET as FAKE_SECRET

    fake_binance.add_account(FAKE_KEY, FAKE_SECRET, {"USDT": "10000"})
    return credential_create(user=alice, exchange="BINANCE", api_key=FAKE_KEY, api_secret=FAKE_SECRET)


# --- Every sweep item fails alone -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_stored_testnet_key_without_a_testnet_and_checks_the_keys_after_it(
    alice, bob, sma_bot, fake_binance, mailoutbox
):
    # bob's key and subscription were stored before the rule: the key comes first in the sweep.
    bobs = ExchangeCredentialFactory(user=bob, exchange="KRAKEN", is_testnet=True)
    alice_key = _alice_binance_key(alice, fake_binance)
    bobs_subscription = SubscriptionFactory(user=bob, bot=sma_bot, exchange_type="KRAKEN", network_type="testnet")
    assert maintenance.credentials_validate(now=datetime.now(UTC)) == 2
    bobs.refresh_from_db()
    alice_key.refresh_from_db()
    assert bobs.validation_status == "invalid" and "Kraken has no testnet" in bobs.validation_error
    assert alice_key.validation_status == "valid"
    bobs_subscription.refresh_from_db()
    assert bobs_subscription.status == "ERROR" and "Kraken has no testnet" in bobs_subscription.status_reason


@pytest.mark.django_db(transaction=True)
def test_it_records_an_unexpected_error_on_its_key_and_checks_the_keys_after_it(
    alice, bob, fake_binance, monkeypatch, caplog
):
    from trading.exchanges.base import ExchangeAdapter

    bobs = ExchangeCredentialFactory(user=bob, exchange="BINANCE", is_testnet=True)
    alice_key = _alice_binance_key(alice, fake_binance)
    real_free_balances = ExchangeAdapter.free_balances

    def free_balances(self):
        if self.key_id == str(bobs.pk):
            raise ZeroDivisionError("a bug in one check")
        return real_free_balances(self)

    monkeypatch.setattr(ExchangeAdapter, "free_balances", free_balances)
    assert maintenance.credentials_validate(now=datetime.now(UTC)) == 1
    bobs.refresh_from_db()
    alice_key.refresh_from_db()
    assert alice_key.validation_status == "valid"
    assert bobs.validation_status == "pending" and bobs.last_validated is None
    assert "internal error (ZeroDivisionError)" in bobs.validation_error
    assert "validating credential" in caplog.text
    # The next sweep checks it again, and the verdict replaces the message.
    monkeypatch.setattr(ExchangeAdapter, "free_balances", real_free_balances)
    maintenance.credentials_validate(now=datetime.now(UTC))
    bobs.refresh_from_db()
    assert bobs.validation_status == "invalid" and "internal error" not in bobs.validation_error


@pytest.mark.django_db(transaction=True)
def test_it_expires_the_other_subscriptions_when_one_expiry_fails(alice, bob, sma_bot, monkeypatch):
    from subscriptions import maintenance as sweeps

    past = datetime(2021, 1, 1, tzinfo=UTC)
    first = SubscriptionFactory(user=bob, bot=sma_bot, expires_at=past)
    second = SubscriptionFactory(user=alice, bot=sma_bot, expires_at=past)
    real_transition = sweeps.subscription_transition

    def transition(*, subscription, **kwargs):
        if subscription.pk == first.pk:
            raise RuntimeError("a bug in one expiry")
        return real_transition(subscription=subscription, **kwargs)

    monkeypatch.setattr(sweeps, "subscription_transition", transition)
    assert sweeps.subscriptions_expire(now=datetime.now(UTC)) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("ACTIVE", "EXPIRED")
