"""The engine trusts nothing an uploaded bot's sandbox answers: each forged answer is its own subscriptions' error.

Every hostile bot here is uploaded code run through the real engine path (run_batch over paper subscriptions, the
sandbox pool, the child's protocol), in the same batch as an honest uploaded bot and a built-in bot, which both go
on deciding. The hostile bots forge what the host reads: whole protocol lines written on the child's answer pipe
(found from inside, as any bot can), or decisions whose fields were changed behind the SDK's checks.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
from subscriptions.models import PerformanceLog, Subscription
from subscriptions.tests.factories import SubscriptionFactory
from trading.engine import records
from trading.models import Order
from trading.tests.conftest import START, run_tick

pytestmark = pytest.mark.usefixtures("needs_sandbox")

ROOT = Path(__file__).resolve().parents[2]
SMA_SOURCE = (ROOT / "core/builtin/sma_crossover.py").read_text()

# Writes one forged line on the child's answer pipe, for the decide request in progress, and dies before the child
# can answer: the host reads exactly the forged line. Found without any knowledge of the child's code: the request
# is the dict being served, the pipe the one writable pipe that is not stderr.
FORGER = '''
import gc
import os
import stat

from bots.sdk import Bot, Decision


def forge(line):
    request = next(o for o in gc.get_objects() if isinstance(o, dict) and o.get("op") == "decide" and "seq" in o)
    line = line.replace(b"SEQ", str(request["seq"]).encode())
    stderr = os.fstat(2).st_ino
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        if fd > 2 and stat.S_ISFIFO(info.st_mode) and info.st_ino != stderr:
            try:
                os.write(fd, line + b"\\n")
            except OSError:
                continue
    os._exit(0)


class Forger(Bot):
    slug = "forger"
    startup_candles = 1

    def decide(self, candles):
        forge(FORGED)
        return Decision.hold()
'''

DEEP = 100_000
FORGED_LINES = {
    "deep-json": b'{"seq":SEQ,"ok":true,"result":{"results":' + b"[" * DEEP + b"]" * DEEP + b"}}",
    "huge-number": b'{"seq":SEQ,"ok":true,"result":{"results":[]},"cpu_s":1e999999}',
    "nan": b'{"seq":SEQ,"ok":true,"result":{"results":[NaN]},"cpu_s":0.1}',
    "fake-error-kind": b'{"seq":SEQ,"ok":false,"error":{"kind":"admin","message":"grant me"},"cpu_s":0.1}',
    # Well-formed errors of kinds decide never answers with: ConfigError and InsufficientCandles used to escape.
    "fake-config-error": b'{"seq":SEQ,"ok":false,"error":{"kind":"config","message":"forged"},"cpu_s":0.1}',
    "fake-insufficient": b'{"seq":SEQ,"ok":false,"error":{"kind":"insufficient_candles","message":"x"},"cpu_s":0.1}',
    "extra-keys": b'{"seq":SEQ,"ok":true,"result":{"results":[]},"cpu_s":0.1,"trust_me":true}',
    "list-not-dict": b'[SEQ,true,{"results":[]}]',
    "results-not-dicts": b'{"seq":SEQ,"ok":true,"result":{"results":[["BUY"]]},"cpu_s":0.1}',
}

# Decisions changed after the SDK checked them: what the child serialises is what the bot set.
TAMPERER = '''
from decimal import Decimal

from bots.sdk import Action, Bot, Decision, Size, SizeType


class Tamperer(Bot):
    slug = "tamperer"
    startup_candles = 1
    config_schema = {"type": "object", "properties": {"evil": {"type": "boolean", "default": True}}}

    def decide(self, candles):
        decision = Decision(Action.BUY, Size(SizeType.USDT_AMOUNT, Decimal("100")), "honest", {"x": 1.0})
        if self.config["evil"]:
            TAMPER(decision)
        return decision
'''
TAMPERINGS = {
    "absurd-size": 'object.__setattr__(decision.size, "value", Decimal("1e999999"))',
    "quantity-size-overflow": 'object.__setattr__(decision, "size", Size(SizeType.QUANTITY, Decimal("1"))); '
                              'object.__setattr__(decision.size, "value", Decimal("9" * 60))',
    "15mb-reason": 'object.__setattr__(decision, "reason", "x" * 15_000_000)',
    "600k-indicators": 'object.__setattr__(decision, "indicators", {f"i{n}": 1.0 for n in range(600_000)})',
    "fake-action": 'object.__setattr__(decision, "to_json", lambda: {"action": "LIQUIDATE", "size": None})',
    "hidden-field": 'object.__setattr__(decision, "to_json", lambda: {"action": "BUY", "leverage": 125})',
}


@pytest.fixture
def storage_dirs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"


def uploaded_bot(source: str, slug: str, *, config_schema: dict | None = None, default_config: dict | None = None):
    bot = ApprovedBotFactory(slug=slug)
    version = BotVersionFactory(
        bot=bot,
        version="1.0.0",
        builtin_slug="",
        validation_status="PASSED",
        config_schema=config_schema or {"type": "object", "properties": {}},
        default_config=default_config or {},
    )
    version.code_path = default_storage.save(f"bots/{bot.pk}/1.0.0/code.py", ContentFile(source.encode()))
    version.save()
    return bot


def paper_subscription(user, bot, **fields):
    return SubscriptionFactory(
        user=user, bot=bot, is_paper=True, execution_config={}, risk_config={},
        started_at=START - timedelta(hours=1), **fields,
    )


@pytest.fixture
def honest(alice, storage_dirs, sma_bot):
    """An honest uploaded bot and a built-in one, subscribed next to the hostile ones."""
    uploaded = uploaded_bot(
        SMA_SOURCE, "honest-sma",
        config_schema={"type": "object", "properties": {"fast": {"type": "integer", "default": 10},
                                                        "slow": {"type": "integer", "default": 30}}},
        default_config={"fast": 10, "slow": 30},
    )
    return [
        paper_subscription(alice, uploaded, strategy_config={"fast": 5, "slow": 20}),
        paper_subscription(alice, sma_bot, strategy_config={"fast": 5, "slow": 20}),
    ]


def assert_still_decide(subscriptions):
    for subscription in subscriptions:
        subscription.refresh_from_db()
        assert subscription.last_error == "", subscription.last_error
        assert subscription.completed_candle_at is not None
        assert PerformanceLog.objects.filter(subscription=subscription).exists()


def test_each_forged_protocol_line_is_only_its_own_subscriptions_error(alice, honest):
    victims = {}
    for name, line in FORGED_LINES.items():
        bot = uploaded_bot(FORGER.replace("FORGED", repr(line)), f"forger-{name}")
        victims[name] = paper_subscription(alice, bot)

    reports = run_tick(START)

    assert len(reports) == len(victims) + len(honest)
    assert_still_decide(honest)
    for name, subscription in victims.items():
        subscription.refresh_from_db()
        assert subscription.last_error.startswith("The bot"), (name, subscription.last_error)
        assert len(subscription.last_error) <= 2000
        assert subscription.completed_candle_at is None
        assert subscription.status == Subscription.Status.ACTIVE
        assert not Order.objects.filter(subscription=subscription).exists()
    assert "nested 100002 levels deep" in victims["deep-json"].last_error
    assert "unknown kind 'admin'" in victims["fake-error-kind"].last_error
    assert "kind 'config', which decide never fails with" in victims["fake-config-error"].last_error


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_tampered_decision_is_refused_for_its_subscription_while_its_sibling_decides(alice, honest, tampering):
    bot = uploaded_bot(TAMPERER.replace("TAMPER(decision)", TAMPERINGS[tampering]), f"tamperer-{tampering}",
                       config_schema={"type": "object", "properties": {"evil": {"type": "boolean", "default": True}}},
                       default_config={"evil": True})
    evil = paper_subscription(alice, bot, strategy_config={"evil": True})
    sibling = paper_subscription(alice, bot, strategy_config={"evil": False})

    run_tick(START)

    evil.refresh_from_db()
    assert "the bot returned an invalid decision" in evil.last_error, evil.last_error
    assert evil.completed_candle_at is None
    assert not Order.objects.filter(subscription=evil).exists()
    assert not PerformanceLog.objects.filter(subscription=evil).exists()
    assert_still_decide([sibling, *honest])
    [order] = Order.objects.filter(subscription=sibling)
    assert order.decision["size"] == {"type": "USDT_AMOUNT", "value": "100"}


def test_a_decision_log_is_bounded_whatever_its_caller_hands_it():
    bounded = records.signal_data_bounded({
        "mode": "paper",
        "reason": "x" * 15_000_000,
        "indicators": {f"i{n}": 1.0 for n in range(600_000)},
        "notes": ["n" * 10_000] * 1_000,
        "decided": "HOLD",
    })

    assert len(bounded["reason"]) == 500
    assert len(bounded["indicators"]) == 50
    assert len(bounded["notes"]) == 10 and all(len(note) == 500 for note in bounded["notes"])
    assert bounded["truncated"] is True
    assert bounded["mode"] == "paper" and bounded["decided"] == "HOLD"
