"""A marketplace filled with hostile text, stored through the real services, for the XSS tests.

Every text a user writes (or a bot's code produces) gets its own payload, numbered so a test can say which field
leaked: `x"></script><script>window.__xss=N</script><img src=x onerror=window.__xss=N><svg onload=window.__xss=N>`.
It breaks out of an attribute (`">`), out of a <script> data block (`</script>`), and runs through three ways
(a script element, an event handler, an SVG load). Rendered as it should be, escaped, it shows as text; a browser
that ran any of it has `window.__xss` set to N.

The bots run uploaded code, validated for real in the sandbox (a development sandbox without bubblewrap here):
the approved bot's code declares the hostile config schema and passes; the rejected bot's code raises with a
hostile message at import, so its validation report carries it (message and traceback).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.html import escape

from accounts.models import ExchangeCredential, User
from accounts.services import credential_create, user_profile_update
from accounts.tests.factories import DeveloperFactory, StaffFactory, UserFactory
from bots.backtest_runs.services import backtest_run_create, backtest_run_execute
from bots.models import BacktestRun, Bot, BotReview, BotVersion
from bots.services import bot_approve, bot_create, bot_reject, bot_version_upload
from bots.validation import bot_version_validate
from catalog.services import review_create_or_update
from partners.models import BotMarketplaceRegistration
from partners.principals import encode
from partners.services import registration_create
from subscriptions.models import PerformanceLog, Subscription
from subscriptions.services import subscription_create
from trading.engine.health import credential_failed, run_failed
from trading.engine.records import decision_log

# Every user-written text the pages show, each with its own payload number.
FIELDS = (
    "bot_name",
    "bot_description",
    "developer_name",
    "developer_bio",
    "schema_title",
    "schema_description",
    "enum_label",
    "config_default",
    "changelog",
    "bot_exception",
    "rejection_reason",
    "instance_name",
    "run_error",
    "exchange_error",
    "review",
    "decision_reason",
    "indicator_name",
    "decision_note",
    "marketplace_name",
    "marketplace_description",
    "rejected_bot_name",
)
NUMBER = {field: number for number, field in enumerate(FIELDS, start=1)}

# What must never reach a page unescaped: the payload's three ways to run (the number says whose text it is).
RUNNABLE = re.compile(r"(?:<script>window\.__xss=|<img src=x onerror=window\.__xss=|<svg onload=window\.__xss=)(\d+)")


# Indicator names are at most 64 characters (core.sdk.decision): their payload is the shortest way to run.
SHORT_FIELDS = {"indicator_name"}


def payload(field: str) -> str:
    n = NUMBER[field]
    if field in SHORT_FIELDS:
        return f'"><img src=x onerror=window.__xss={n}>'
    return (
        f'x"></script><script>window.__xss={n}</script>'
        f"<img src=x onerror=window.__xss={n}><svg onload=window.__xss={n}>"
    )


def shown_escaped(html: str, field: str) -> bool:
    """True when the field's payload appears on the page as text: HTML-escaped, or escaped by json_script."""
    marker = f"<img src=x onerror=window.__xss={NUMBER[field]}>"
    json_script = marker.replace("<", "\\u003C").replace(">", "\\u003E")
    return escape(marker) in html or json_script in html


def runnable_payloads(html: str) -> list[str]:
    """The fields whose payload `html` holds unescaped, ready to run (an empty list for a safe page)."""
    return sorted({FIELDS[int(number) - 1] for number in RUNNABLE.findall(html)})


def _schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "period": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50,
                "default": 5,
                "title": payload("schema_title"),
                "description": payload("schema_description"),
            },
            "style": {
                "type": "string",
                "enum": ["calm", payload("enum_label")],
                "default": "calm",
                "title": "Style",
                "description": "How the bot trades.",
            },
            "note": {"type": "string", "maxLength": 500, "default": payload("config_default"), "title": "Note"},
        },
        "additionalProperties": False,
    }


def _bot_source(schema: dict) -> bytes:
    """A bot declaring `schema` that never trades, names its one indicator with a payload, and raises with a payload
    when its style is not "calm" (its validation runs the defaults, so it passes)."""
    return f"""
from bots.sdk import Signals, VectorBot, actions_from


class Hostile(VectorBot):
    slug = "hostile"
    name = "Hostile"
    description = "Never trades."
    config_schema = {schema!r}
    startup_candles = 1

    def populate(self, candles):
        if self.config["style"] != "calm":
            raise RuntimeError({payload("bot_exception")!r})
        never = candles.close < 0
        return Signals(actions_from(never, never), {{{payload("indicator_name")!r}: candles.close}})
""".encode()


def _raising_source() -> bytes:
    return f"raise RuntimeError({payload('bot_exception')!r})\n".encode()


def _principal(name: str) -> str:
    return encode(hashlib.sha224(name.encode()).digest() + b"\x02")


@dataclass
class HostileWorld:
    staff: User
    dev: User
    alice: User
    bot: Bot  # approved, with the hostile schema
    rejected_bot: Bot  # rejected, its newest version failed validation with a hostile traceback
    failed_version: BotVersion
    subscription: Subscription  # alice's paper subscription, stopped by a hostile run error
    testnet_subscription: Subscription  # stopped when the exchange refused her key (hostile exchange message)
    credential: ExchangeCredential
    review: BotReview
    decision: PerformanceLog
    backtest: BacktestRun  # failed: the bot raised with a hostile message
    registration: BotMarketplaceRegistration


def _validated(version: BotVersion) -> BotVersion:
    # Under a transactional test the eager task validated it at the commit already; otherwise validate it now.
    version.refresh_from_db()
    if version.validation_status == BotVersion.ValidationStatus.PENDING:
        bot_version_validate(version_id=version.pk)
        version.refresh_from_db()
    return version


def hostile_world() -> HostileWorld:
    """Store every hostile text through the services that write it (see the module docstring)."""
    staff = StaffFactory(email="staff@example.com")
    dev = DeveloperFactory(email="dev@example.com")
    user_profile_update(user=dev, developer_name=payload("developer_name"), developer_bio=payload("developer_bio"))
    alice = UserFactory(email="alice@example.com")

    schema = _schema()
    bot = bot_create(
        developer=dev,
        name=payload("bot_name"),
        description=payload("bot_description"),
        category=None,
        bot_type=Bot.Type.TECHNICAL,
        price_per_month=Decimal("0"),
        trial_days=0,
        code_file=SimpleUploadedFile("strategy.py", _bot_source(schema)),
        config_schema=schema,
        default_config={},
    )
    version = _validated(BotVersion.objects.get(bot=bot))
    assert version.validation_status == BotVersion.ValidationStatus.PASSED, version.validation_report
    bot_approve(bot=bot, actor=staff)
    bot.refresh_from_db()

    rejected_bot = bot_create(
        developer=dev,
        name=payload("rejected_bot_name"),
        description="Fails on import.",
        category=None,
        bot_type=Bot.Type.TECHNICAL,
        price_per_month=Decimal("0"),
        trial_days=0,
        code_file=SimpleUploadedFile("strategy.py", _bot_source(schema)),
        config_schema=schema,
        default_config={},
    )
    _validated(BotVersion.objects.get(bot=rejected_bot))
    failed_version = bot_version_upload(
        bot=rejected_bot,
        developer=dev,
        version="1.0.1",
        code_file=SimpleUploadedFile("strategy.py", _raising_source()),
        config_schema=schema,
        default_config={},
        changelog=payload("changelog"),
    )
    failed_version = _validated(failed_version)
    assert failed_version.validation_status == BotVersion.ValidationStatus.FAILED
    bot_reject(bot=rejected_bot, actor=staff, reason=payload("rejection_reason"))
    rejected_bot.refresh_from_db()

    subscription = subscription_create(
        user=alice,
        bot=bot,
        mode="paper",
        exchange_type="BINANCE",
        trading_pair="BTC/USDT",
        timeframe="1h",
        instance_name=payload("instance_name"),
        strategy_config={"style": payload("enum_label")},
    )
    review, _ = review_create_or_update(bot=bot, user=alice, rating=1, text=payload("review"))
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    decision = decision_log(
        subscription=subscription,
        action="HOLD",
        timestamp=now - timedelta(hours=1),
        price=Decimal("30000"),
        quantity=Decimal("0"),
        balance=Decimal("10000"),
        signal_data={
            "reason": payload("decision_reason"),
            "indicators": {payload("indicator_name"): 1.5},
            "notes": [payload("decision_note")],
        },
    )
    run_failed(subscription_id=subscription.pk, message=payload("run_error"), stop=True)
    subscription.refresh_from_db()

    credential = credential_create(
        user=alice, exchange="BINANCE", api_key="k" * 32, api_secret="s" * 48, is_testnet=True
    )
    testnet_subscription = subscription_create(
        user=alice,
        bot=bot,
        mode="testnet",
        exchange_type="BINANCE",
        trading_pair="BTC/USDT",
        timeframe="1h",
        instance_name="Testnet run",
    )
    credential_failed(subscription_id=testnet_subscription.pk, message=payload("exchange_error"))
    credential.refresh_from_db()
    testnet_subscription.refresh_from_db()

    # The hostile style makes the bot raise: the worker stores its message as the run's error.
    backtest = backtest_run_create(
        user=alice,
        bot=bot,
        exchange="BINANCE",
        symbol="BTC/USDT",
        timeframe="1h",
        candle_count=200,
        strategy_config={"style": payload("enum_label")},
    )
    backtest = backtest_run_execute(run_id=backtest.pk)
    assert backtest.status == BacktestRun.Status.FAILED, backtest.error

    partner = UserFactory(email="acme@example.com", user_principal_id=_principal("acme"))
    partner.user_permissions.add(Permission.objects.get(codename="add_botmarketplaceregistration"))
    registration, _ = registration_create(
        partner=partner,
        bot=bot,
        marketplace_name=payload("marketplace_name"),
        price_on_marketplace=Decimal("5"),
        marketplace_description=payload("marketplace_description"),
    )
    return HostileWorld(
        staff=staff,
        dev=dev,
        alice=alice,
        bot=bot,
        rejected_bot=rejected_bot,
        failed_version=failed_version,
        subscription=subscription,
        testnet_subscription=testnet_subscription,
        credential=credential,
        review=review,
        decision=decision,
        backtest=backtest,
        registration=registration,
    )
