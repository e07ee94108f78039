"""Helpers shared by the page tests (accounts, bots, subscriptions) and the browser tests."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from bots.models import Bot, BotVersion
from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
from core.builtin import BUILTIN_BOTS
from subscriptions.tests.factories import SubscriptionFactory

# Inside the shipped candles (data/candles/binance/BTC_USDT-1h.csv: 2021-02 .. 2021-06-10).
REPLAY_START = datetime(2021, 5, 1, 0, 0, 30, tzinfo=UTC)


def builtin_bot(slug: str = "sma-crossover", **fields) -> Bot:
    """An approved catalog bot running the built-in `slug`, with a passed version, as the demo data makes them."""
    cls = BUILTIN_BOTS[slug]
    defaults = cls.validate_config(None)
    values = {
        "slug": slug,
        "name": cls.name,
        "description": cls.description,
        "config_schema": cls.config_schema,
        "default_config": defaults,
    }
    values.update(fields)
    bot = ApprovedBotFactory(**values)
    BotVersionFactory(
        bot=bot,
        version="1.0.0",
        builtin_slug=slug,
        config_schema=cls.config_schema,
        default_config=defaults,
        validation_status=BotVersion.ValidationStatus.PASSED,
        approved_at=timezone.now(),
    )
    return bot


def paper_subscription(owner, bot, **fields):
    values = {
        "user": owner,
        "bot": bot,
        "is_paper": True,
        "exchange_type": "BINANCE",
        "trading_pair": "BTC/USDT",
        "timeframe": "1h",
        "strategy_config": {"fast": 5, "slow": 20},
        "execution_config": {},
        "risk_config": {},
        "started_at": REPLAY_START - timedelta(hours=1),
    }
    values.update(fields)
    return SubscriptionFactory(**values)


def subscribe_post(bot, **overrides) -> dict:
    """A valid POST body for the subscribe form of `bot` (paper, Binance BTC/USDT 1h, default settings)."""
    data = {
        "instance_name": "My SMA",
        "mode": "paper",
        "exchange_type": "BINANCE",
        "trading_pair": "BTC/USDT",
        "timeframe": "1h",
        "strategy__fast": "10",
        "strategy__slow": "30",
        "execution__buy_order_type": "PERCENTAGE",
        "execution__buy_order_value": "100",
        "execution__sell_order_type": "ALL",
        "execution__sell_order_value": "",
        "execution__order_type": "market",
        "execution__slippage_percent": "0",
        "risk__stop_loss_percent": "5",
        "risk__take_profit_percent": "",
        "risk__max_position_size": "",
        "risk__max_open_trades": "1",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
