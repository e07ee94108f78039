"""Uploaded bots run through the sandboxed runtime in the engine, never in the worker process."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
from subscriptions.models import PerformanceLog
from subscriptions.tests.factories import SubscriptionFactory
from trading.tests.conftest import START, run_tick

ROOT = Path(__file__).resolve().parents[2]
SMA_SOURCE = (ROOT / "core/builtin/sma_crossover.py").read_text()
BROKEN_SOURCE = """
from bots.sdk import Bot


class Broken(Bot):
    slug = "broken"
    startup_candles = 5

    def decide(self, candles):
        raise RuntimeError("division by zero, somewhere deep")
"""


@pytest.fixture
def storage_dirs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"


def _uploaded_bot(source: str, slug: str, *, with_periods: bool = True):
    bot = ApprovedBotFactory(slug=slug)
    version = BotVersionFactory(
        bot=bot,
        version="1.0.0",
        builtin_slug="",
        validation_status="PASSED",
        config_schema={
            "type": "object",
            "properties": {"fast": {"type": "integer", "default": 10}, "slow": {"type": "integer", "default": 30}},
        },
        default_config={"fast": 10, "slow": 30},
    )
    if not with_periods:
        version.config_schema, version.default_config = {"type": "object", "properties": {}}, {}
    version.code_path = default_storage.save(f"bots/{bot.pk}/1.0.0/code.py", ContentFile(source.encode()))
    version.save()
    return bot


def test_it_runs_an_uploaded_bot_in_the_sandbox(alice, storage_dirs):
    bot = _uploaded_bot(SMA_SOURCE, "uploaded-sma")
    subscription = SubscriptionFactory(
        user=alice,
        bot=bot,
        is_paper=True,
        strategy_config={"fast": 5, "slow": 20},
        execution_config={},
        risk_config={},
        started_at=START - timedelta(hours=1),
    )
    for hour in range(30):
        run_tick(START + timedelta(hours=hour))
    subscription.refresh_from_db()
    assert subscription.last_error == ""
    logs = PerformanceLog.objects.filter(subscription=subscription)
    assert logs.values("timestamp").distinct().count() == 30
    assert "sma_fast" in logs.first().signal_data["indicators"]


def test_it_reports_an_uploaded_bots_crash_on_its_subscription_only(alice, storage_dirs, sma_bot):
    broken = _uploaded_bot(BROKEN_SOURCE, "broken", with_periods=False)
    victim = SubscriptionFactory(
        user=alice,
        bot=broken,
        is_paper=True,
        execution_config={},
        risk_config={},
        started_at=START - timedelta(hours=1),
    )
    healthy = SubscriptionFactory(
        user=alice,
        bot=sma_bot,
        is_paper=True,
        strategy_config={"fast": 5, "slow": 20},
        execution_config={},
        risk_config={},
        started_at=START - timedelta(hours=1),
    )
    run_tick(START)
    victim.refresh_from_db()
    healthy.refresh_from_db()
    assert "division by zero, somewhere deep" in victim.last_error
    assert healthy.last_error == "" and healthy.completed_candle_at is not None
