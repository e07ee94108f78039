"""subscription_create and subscription_update_config: everything validated, nothing stored on bad input."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache

from accounts.models import AuditLog, ExchangeCredential
from accounts.tests.factories import ExchangeCredentialFactory
from bots.models import Bot
from core import timeframes
from marketplace.tests.pages import builtin_bot
from subscriptions.exceptions import SubscriptionInvalid
from subscriptions.markets import market_pairs, market_timeframes
from subscriptions.models import Subscription
from subscriptions.services import subscription_cancel, subscription_create, subscription_update_config
from subscriptions.tests.factories import SubscriptionFactory
from testsupport.fake_exchange import FakeBinance
from testsupport.fake_exchange.markets import MarketSpec, default_markets

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _create(user, bot, **fields):
    values = {"mode": "paper", "exchange_type": "BINANCE", "trading_pair": "BTC/USDT", "timeframe": "1h", "now": NOW}
    values.update(fields)
    return subscription_create(user=user, bot=bot, **values)


def _refused(user, bot, **fields) -> dict:
    with pytest.raises(SubscriptionInvalid) as caught:
        _create(user, bot, **fields)
    assert not Subscription.objects.exists()
    assert not AuditLog.objects.filter(action="subscription.create").exists()
    return caught.value.errors


def test_it_lists_markets_from_the_replay_files(settings):
    assert {"BTC/USDT", "ETH/USDT"} <= set(market_pairs("BINANCE"))
    assert market_pairs("COINBASE") == ["BTC/USD"]
    assert market_pairs("BYBIT") == []
    assert market_timeframes("BINANCE", "BTC/USDT") == ["1h", "1d"]
    assert market_timeframes("BINANCE", "ETH/USDT") == ["1h"]


def test_it_adds_the_exchanges_markets_when_market_data_comes_from_ccxt(settings):
    """Against the fake Binance (a real HTTP stand-in): its spot markets join the replayed ones."""
    entries = json.loads(Path("data/exchange-info/binance/exchangeInfo-spot-2018-02.json").read_text())["symbols"]
    ltc = MarketSpec.from_exchange_info(next(e for e in entries if e["symbol"] == "LTCBTC"))
    cache.clear()
    with FakeBinance.start(markets=[*default_markets(), ltc]) as fake:
        settings.EXCHANGE_API_BASE_URLS = {"BINANCE": fake.base_url}
        settings.MARKET_DATA_SOURCE = "ccxt"
        assert {"BTC/USDT", "ETH/USDT", "LTC/BTC"} <= set(market_pairs("BINANCE"))
        assert market_timeframes("BINANCE", "LTC/BTC") == list(timeframes.SUPPORTED_TIMEFRAMES)
        settings.EXCHANGE_API_BASE_URLS = {"BINANCE": "http://127.0.0.1:9"}  # nothing listens there
        cache.clear()
        assert market_pairs("BINANCE") == ["BTC/USDT", "ETH/USDT"]  # the replayed pairs stay offered
    cache.clear()


@pytest.mark.django_db
def test_it_subscribes_in_paper_mode_with_defaults_filled(alice):
    bot = builtin_bot()
    subscription = _create(alice, bot, strategy_config={"fast": 7}, risk_config={"stop_loss_percent": 5})
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.is_paper and subscription.is_testnet
    assert subscription.instance_name == bot.name
    assert subscription.strategy_config == {"fast": 7, "slow": 30}
    assert subscription.execution_config["order_type"] == "market"
    assert subscription.risk_config["stop_loss_percent"] == 5 and subscription.risk_config["max_open_trades"] == 1
    assert subscription.next_run_at is None and subscription.bot_version is None
    assert subscription.started_at == NOW and subscription.expires_at is None and not subscription.is_trial
    audit = AuditLog.objects.get(action="subscription.create")
    assert audit.user == alice and audit.record_id == subscription.pk and audit.new_values["mode"] == "paper"


@pytest.mark.django_db
def test_it_gives_a_paid_bot_thirty_days_or_its_trial_once(alice):
    bot = builtin_bot(price_per_month=Decimal("29.00"), is_free=False, trial_days=7)
    paid = _create(alice, bot)
    assert paid.expires_at == NOW + timedelta(days=30) and not paid.is_trial
    trial = _create(alice, bot, trial=True)
    assert trial.is_trial and trial.trial_expires_at == NOW + timedelta(days=7) == trial.expires_at
    with pytest.raises(SubscriptionInvalid) as caught:
        _create(alice, bot, trial=True)
    assert caught.value.errors == {"trial": ["You already had this bot's free trial."]}
    free = _create(alice, builtin_bot("rsi-reversion", trial_days=7), trial=True)
    assert free.expires_at is None and not free.is_trial


@pytest.mark.django_db
def test_it_refuses_bad_configs_field_by_field(alice):
    bot = builtin_bot()
    errors = _refused(
        alice,
        bot,
        strategy_config={"fast": 40, "slow": 30},
        execution_config={"buy_order_value": -5},
        risk_config={"stop_loss_percent": 150, "max_open_trades": 0},
    )
    assert errors["strategy_config.fast"] == ["must be less than slow (30)"]
    assert set(errors) == {
        "strategy_config.fast",
        "execution_config.buy_order_value",
        "risk_config.stop_loss_percent",
        "risk_config.max_open_trades",
    }
    errors = _refused(alice, bot, execution_config={"order_type": "stop"})
    assert errors == {"execution_config.order_type": ["'stop' is not one of ['market', 'limit']"]}
    errors = _refused(alice, bot, execution_config={"order_type": "limit", "limit_offset_percent": 75})
    assert errors == {
        "execution_config.limit_offset_percent": ["75 is greater than or equal to the maximum of 50"]
    }
    errors = _refused(alice, bot, strategy_config={"fast": "ten", "bogus": 1})
    assert set(errors) == {"strategy_config.fast", "strategy_config.bogus"}


@pytest.mark.django_db
def test_it_refuses_unknown_markets_timeframes_and_modes(alice):
    bot = builtin_bot()
    assert "trading_pair" in _refused(alice, bot, trading_pair="DOGE/USDT")
    assert "exchange_type" in _refused(alice, bot, exchange_type="NYSE")
    assert "on Coinbase" in _refused(alice, bot, exchange_type="COINBASE", trading_pair="BTC/USDT")["trading_pair"][0]
    assert "choose 1h" in _refused(alice, bot, trading_pair="ETH/USDT", timeframe="1d")["timeframe"][0]
    assert "timeframe" in _refused(alice, bot, timeframe="7m")
    assert "mode" in _refused(alice, bot, mode="yolo")
    assert "instance_name" in _refused(alice, bot, instance_name="x" * 256)


@pytest.mark.django_db
def test_it_refuses_bots_that_are_not_open(alice):
    retired = builtin_bot(status=Bot.Status.ARCHIVED)
    assert _refused(alice, retired) == {"bot": ["This bot is not open for subscriptions."]}
    from bots.tests.factories import ApprovedBotFactory

    assert _refused(alice, ApprovedBotFactory()) == {"bot": ["This bot has no version ready to run yet."]}


@pytest.mark.django_db
def test_it_needs_a_key_for_testnet_and_a_validated_one_and_a_confirmation_for_mainnet(alice, bob):
    bot = builtin_bot()
    assert "Add your Binance testnet API key" in _refused(alice, bot, mode="testnet")["mode"][0]
    ExchangeCredentialFactory(user=bob, is_testnet=True)  # someone else's key does not count
    assert "mode" in _refused(alice, bot, mode="testnet")
    key = ExchangeCredentialFactory(user=alice, is_testnet=True, validation_status="invalid")
    assert "refused by the exchange" in _refused(alice, bot, mode="testnet")["mode"][0]
    ExchangeCredential.objects.filter(pk=key.pk).update(validation_status="pending")
    testnet = _create(alice, bot, mode="testnet")
    assert (testnet.is_paper, testnet.network_type, testnet.is_testnet) == (False, "testnet", True)

    mainnet_key = ExchangeCredentialFactory(user=alice, is_testnet=False)
    Subscription.objects.all().delete()
    AuditLog.objects.all().delete()
    errors = _refused(alice, bot, mode="mainnet", mainnet_confirmed=True)
    assert "passed validation" in errors["mode"][0]
    ExchangeCredential.objects.filter(pk=mainnet_key.pk).update(validation_status="valid")
    assert set(_refused(alice, bot, mode="mainnet")) == {"mainnet_confirmed"}
    mainnet = _create(alice, bot, mode="mainnet", mainnet_confirmed=True)
    assert (mainnet.is_paper, mainnet.network_type, mainnet.is_testnet) == (False, "mainnet", False)


@pytest.mark.django_db
def test_it_updates_the_configs_after_validating_them(alice):
    subscription = _create(alice, builtin_bot())
    updated = subscription_update_config(
        subscription=subscription,
        actor=alice,
        instance_name="Slow SMA",
        strategy_config={"fast": 20, "slow": 60},
        execution_config={"slippage_percent": 0.1},
        risk_config={"take_profit_percent": 8},
    )
    assert updated.instance_name == "Slow SMA" and updated.strategy_config == {"fast": 20, "slow": 60}
    subscription.refresh_from_db()
    assert subscription.execution_config["slippage_percent"] == 0.1
    assert subscription.risk_config["take_profit_percent"] == 8
    audit = AuditLog.objects.get(action="subscription.update_config")
    assert audit.old_values["strategy_config"] == {"fast": 10, "slow": 30}


@pytest.mark.django_db
def test_it_refuses_a_bad_update_and_keeps_the_stored_settings(alice):
    subscription = _create(alice, builtin_bot(), strategy_config={"fast": 5})
    with pytest.raises(SubscriptionInvalid) as caught:
        subscription_update_config(
            subscription=subscription,
            actor=alice,
            strategy_config={"fast": 50},
            execution_config={"order_type": "stop"},
            risk_config={},
        )
    assert set(caught.value.errors) == {"strategy_config.fast", "execution_config.order_type"}
    subscription.refresh_from_db()
    assert subscription.strategy_config == {"fast": 5, "slow": 30}
    subscription_cancel(subscription=subscription, actor=alice)
    with pytest.raises(SubscriptionInvalid, match="cancelled"):
        subscription_update_config(
            subscription=subscription, actor=alice, strategy_config={}, execution_config={}, risk_config={}
        )
    assert not AuditLog.objects.filter(action="subscription.update_config").exists()


@pytest.mark.django_db
def test_it_validates_a_bot_without_a_runnable_version_by_its_schema(alice):
    subscription = SubscriptionFactory(user=alice)  # the factory bot has a schema and no version
    with pytest.raises(SubscriptionInvalid) as caught:
        subscription_update_config(
            subscription=subscription,
            actor=alice,
            strategy_config={"fast": "x"},
            execution_config={},
            risk_config={},
        )
    assert set(caught.value.errors) == {"strategy_config.fast"}


# --- The settings a partner marketplace's subscription adds (window, period, timeframes, trade mode) --------------


@pytest.mark.django_db
def test_it_subscribes_for_a_window_with_an_evaluation_period_and_extra_timeframes(alice):
    start = NOW + timedelta(hours=6)
    subscription = _create(
        alice,
        builtin_bot(price_per_month=Decimal("29.00"), is_free=False),
        started_at=start,
        expires_at=start + timedelta(days=2),
        trade_evaluation_period=15,
        timeframes=["1h", "1d"],
    )
    subscription.refresh_from_db()
    # The window replaces the paid period.
    assert (subscription.started_at, subscription.expires_at) == (start, start + timedelta(days=2))
    assert subscription.trade_evaluation_period == 15 and subscription.timeframes == ["1h", "1d"]
    assert subscription.trade_mode == "Spot" and subscription.user_principal_id is None
    audit = AuditLog.objects.get(action="subscription.create")
    assert audit.new_values["started_at"] == start.isoformat()


@pytest.mark.django_db
def test_it_refuses_a_bad_window_period_timeframes_or_trade_mode(alice):
    bot = builtin_bot()
    past = {"started_at": NOW - timedelta(days=1), "expires_at": NOW - timedelta(minutes=1)}
    assert _refused(alice, bot, **past) == {"expires_at": ["The end of the window is already past."]}
    later = NOW + timedelta(days=2)
    assert "after its start" in _refused(alice, bot, started_at=later, expires_at=later)["expires_at"][0]
    for period in (0, -5, 7 * 24 * 60 + 1, True, "15"):
        assert "trade_evaluation_period" in _refused(alice, bot, trade_evaluation_period=period)
    assert "No market data for 1d" in _refused(alice, bot, trading_pair="ETH/USDT", timeframes=["1d"])["timeframes"][0]
    assert _refused(alice, bot, timeframes=["1h", "1h"]) == {"timeframes": ["List each timeframe once."]}
    assert "timeframes" in _refused(alice, bot, timeframes="1h")
    assert _refused(alice, bot, trade_mode="Futures") == {
        "trade_mode": ["Futures trading is not supported yet; only Spot is."]
    }
    assert "trade_mode" in _refused(alice, bot, trade_mode="Options")
    paid = builtin_bot("rsi-reversion", price_per_month=Decimal("9.00"), is_free=False, trial_days=7)
    assert "trial" in _refused(alice, paid, trial=True, expires_at=NOW + timedelta(days=3))


@pytest.mark.django_db
def test_it_subscribes_a_principal_with_its_partners_key_only(alice, bob):
    from accounts.tests.factories import UserFactory
    from partners.tests.factories import BotMarketplaceRegistrationFactory

    bot = builtin_bot()
    alice.user_principal_id = "rrkah-fqaaa-aaaaa-aaaaq-cai"
    alice.save()
    registration = BotMarketplaceRegistrationFactory(bot=bot, partner=bob)
    other = BotMarketplaceRegistrationFactory(bot=bot, partner=UserFactory())
    principal = {"user_principal_id": alice.user_principal_id, "marketplace_registration": registration}
    ExchangeCredentialFactory(user=alice, principal_id=alice.user_principal_id, marketplace_registration=other)
    errors = _refused(alice, bot, mode="testnet", expires_at=NOW + timedelta(days=1), **principal)
    assert errors == {"mode": ["Add the principal's Binance testnet API key through the partner API first."]}
    ExchangeCredential.objects.update(marketplace_registration=registration)
    subscription = _create(alice, bot, mode="testnet", expires_at=NOW + timedelta(days=1), actor=bob, **principal)
    assert subscription.marketplace_registration == registration
    assert AuditLog.objects.get(action="subscription.create").user == bob
    with pytest.raises(ValueError):
        _create(alice, bot, mode="testnet", user_principal_id=alice.user_principal_id)


@pytest.mark.django_db
def test_it_changes_the_window_and_period_and_reschedules(alice):
    subscription = _create(alice, builtin_bot(), expires_at=NOW + timedelta(days=1))
    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=NOW + timedelta(minutes=40))
    subscription.refresh_from_db()
    updated = subscription_update_config(
        subscription=subscription,
        actor=alice,
        strategy_config=subscription.strategy_config,
        execution_config=subscription.execution_config,
        risk_config=subscription.risk_config,
        expires_at=NOW + timedelta(days=5),
        trade_evaluation_period=60,
        now=NOW,
    )
    subscription.refresh_from_db()
    assert subscription.expires_at == NOW + timedelta(days=5) and subscription.trade_evaluation_period == 60
    assert subscription.next_run_at is None and updated.next_run_at is None
    audit = AuditLog.objects.get(action="subscription.update_config")
    assert audit.new_values == {"expires_at": (NOW + timedelta(days=5)).isoformat(), "trade_evaluation_period": 60}
    # Only the window's end moved: the next run time stands.
    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=NOW + timedelta(minutes=40))
    subscription_update_config(
        subscription=subscription,
        actor=alice,
        strategy_config=subscription.strategy_config,
        execution_config=subscription.execution_config,
        risk_config=subscription.risk_config,
        expires_at=NOW + timedelta(days=6),
        now=NOW,
    )
    subscription.refresh_from_db()
    assert subscription.next_run_at == NOW + timedelta(minutes=40)


@pytest.mark.django_db
def test_it_refuses_a_bad_window_change_and_keeps_the_old_one(alice):
    subscription = _create(alice, builtin_bot(), expires_at=NOW + timedelta(days=1))
    configs = {"strategy_config": {}, "execution_config": {}, "risk_config": {}}
    for change, field in (
        ({"expires_at": NOW - timedelta(hours=1)}, "expires_at"),
        ({"started_at": NOW + timedelta(days=2)}, "expires_at"),
        ({"trade_evaluation_period": 0}, "trade_evaluation_period"),
    ):
        with pytest.raises(SubscriptionInvalid) as caught:
            subscription_update_config(subscription=subscription, actor=alice, now=NOW, **configs, **change)
        assert field in caught.value.errors
    subscription.refresh_from_db()
    assert subscription.expires_at == NOW + timedelta(days=1) and subscription.trade_evaluation_period is None
    assert not AuditLog.objects.filter(action="subscription.update_config").exists()
