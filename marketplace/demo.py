"""Demo data for `make run`: categories, two developers, the built-in bots approved, a pending bot, a trader.

Idempotent: running it again changes nothing that exists. The logins below are for a local demo only.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from bots.models import Bot, BotCategory, BotVersion
from core.builtin import BUILTIN_BOTS
from subscriptions.models import Subscription


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


DEMO_LOGINS = [
    DemoLogin("staff (admin)", "admin@demo.local", "demo-admin-pass-1"),
    DemoLogin("trader", "trader@demo.local", "demo-trader-pass-1"),
    DemoLogin("developer", "quant@demo.local", "demo-developer-pass-1"),
    DemoLogin("developer", "labs@demo.local", "demo-developer-pass-2"),
]

CATEGORIES = [
    ("Trend following", "trend-following", "Ride sustained moves: moving-average and MACD crossings."),
    ("Mean reversion", "mean-reversion", "Buy weakness, sell strength: oscillators such as RSI."),
    ("Volatility", "volatility", "Trade expansions out of quiet ranges: Bollinger bands."),
    ("Machine learning", "machine-learning", "Models trained on past candles."),
]

# slug -> (category slug, developer email, monthly price, trial days)
BUILTIN_LISTING = {
    "sma-crossover": ("trend-following", "quant@demo.local", Decimal("0.00"), 0),
    "macd-trend": ("trend-following", "quant@demo.local", Decimal("19.00"), 7),
    "rsi-reversion": ("mean-reversion", "labs@demo.local", Decimal("0.00"), 0),
    "bollinger-breakout": ("volatility", "labs@demo.local", Decimal("29.00"), 14),
}


def _user(login: DemoLogin, role: str, **fields) -> User:
    user = User.objects.filter(email=login.email).first()
    if user is None:
        user = User.objects.create_user(email=login.email, password=login.password, role=role, **fields)
    return user


@transaction.atomic
def demo_load() -> dict[str, int]:
    """Create what is missing; returns how many rows of each kind exist afterwards."""
    admin_login, trader_login, quant_login, labs_login = DEMO_LOGINS
    staff = _user(admin_login, User.Role.ADMIN, is_superuser=True)
    _user(trader_login, User.Role.USER)
    developers = {
        quant_login.email: _user(
            quant_login,
            User.Role.DEVELOPER,
            developer_name="Quant Street",
            developer_bio="Systematic trend strategies, tested on a decade of candles.",
        ),
        labs_login.email: _user(
            labs_login,
            User.Role.DEVELOPER,
            developer_name="Reversion Labs",
            developer_bio="Oscillators and volatility, nothing discretionary.",
        ),
    }
    categories = {}
    for name, slug, description in CATEGORIES:
        categories[slug], _ = BotCategory.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )

    for slug, (category, developer_email, price, trial_days) in BUILTIN_LISTING.items():
        bot_class = BUILTIN_BOTS[slug]
        defaults = bot_class.validate_config(None)
        bot, created = Bot.objects.get_or_create(
            slug=slug,
            defaults={
                "developer": developers[developer_email],
                "name": bot_class.name,
                "description": bot_class.description,
                "category": categories[category],
                "config_schema": bot_class.config_schema,
                "default_config": defaults,
                "price_per_month": price,
                "is_free": price == 0,
                "trial_days": trial_days,
                "status": Bot.Status.APPROVED,
                "approved_by": staff,
                "approved_at": timezone.now(),
            },
        )
        if created:
            BotVersion.objects.create(
                bot=bot,
                version=bot.version,
                builtin_slug=slug,
                config_schema=bot.config_schema,
                default_config=defaults,
                validation_status=BotVersion.ValidationStatus.PASSED,
                approved_at=timezone.now(),
                approved_by=staff,
            )

    Bot.objects.get_or_create(
        slug="volume-spike-scalper",
        defaults={
            "developer": developers[labs_login.email],
            "name": "Volume spike scalper",
            "description": "Waiting for review: enters on volume spikes, exits on the next candle.",
            "category": categories["volatility"],
            "config_schema": {"type": "object", "properties": {"multiple": {"type": "number", "default": 3}}},
            "default_config": {"multiple": 3},
        },
    )
    return {"users": User.objects.count(), "categories": BotCategory.objects.count(), "bots": Bot.objects.count()}


# The demo trader's paper subscriptions: (instance name, bot slug, exchange, pair, timeframe, strategy config).
DEMO_SUBSCRIPTIONS = [
    ("BTC trend, hourly", "sma-crossover", "BINANCE", "BTC/USDT", "1h", {"fast": 10, "slow": 30}),
    ("ETH mean reversion", "rsi-reversion", "BINANCE", "ETH/USDT", "1h", {}),
    ("BTC MACD, hourly", "macd-trend", "BINANCE", "BTC/USDT", "1h", {}),
    ("BTC scalper, every minute", "sma-crossover", "KRAKEN", "BTC/USDT", "1m", {"fast": 5, "slow": 20}),
]
BACKFILL = timedelta(days=5)


def demo_subscriptions_load(*, now=None) -> int:
    """Give the demo trader paper subscriptions that trade on the shipped candles (replayed over wall time), with
    a few days of history run through the real scheduler and engine. Returns how many were created."""
    from core.timeframes import duration
    from trading.engine.batch import run_batch
    from trading.scheduler import claim_due

    now = now or timezone.now()
    trader = User.objects.get(email=DEMO_LOGINS[1].email)
    created = []
    for name, slug, exchange, pair, timeframe, strategy in DEMO_SUBSCRIPTIONS:
        subscription, was_created = Subscription.objects.get_or_create(
            user=trader,
            instance_name=name,
            defaults={
                "bot": Bot.objects.get(slug=slug),
                "is_paper": True,
                "exchange_type": exchange,
                "trading_pair": pair,
                "timeframe": timeframe,
                "strategy_config": strategy,
                "execution_config": {},
                "risk_config": {"stop_loss_percent": 4, "take_profit_percent": 8},
                "started_at": now - BACKFILL,
            },
        )
        if was_created:
            created.append(subscription)
    if not created:
        return 0
    # Backfill: one scheduler tick per hour of history (the minute subscription catches up on its last hours).
    hours = int(BACKFILL / duration("1h"))
    for hour in range(hours, -1, -1):
        moment = now - timedelta(hours=hour)
        for batch in claim_due(moment):
            ids = [pk for pk in batch.subscription_ids if pk in {s.pk for s in created}]
            if ids:
                run_batch(subscription_ids=ids, run_at=batch.run_at, now=moment)
    return len(created)
