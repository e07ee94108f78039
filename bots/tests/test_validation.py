"""The automatic validation of uploaded versions, run for real in the sandbox through the eager Celery task."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bots.models import Bot, BotVersion
from bots.services import bot_create
from bots.validation import LLM_REFUSAL, bot_version_validate
from core.builtin.sma_crossover import SmaCrossover

SMA_SOURCE = (Path(__file__).resolve().parents[2] / "core" / "builtin" / "sma_crossover.py").read_bytes()

PEEKING_SOURCE = b"""
import numpy as np
from bots.sdk import Signals, VectorBot, actions_from

class Peeker(VectorBot):
    slug = "peeker"
    name = "Peeker"
    description = "Buys before the price rises, because it reads the next candle."
    config_schema = {"type": "object", "properties": {"n": {"type": "integer", "default": 1}}}
    startup_candles = 1

    def populate(self, candles):
        close = candles.close
        upcoming = np.roll(close, -1)
        return Signals(actions_from(upcoming > close, upcoming < close), {"upcoming": upcoming})
"""
PEEKING_SCHEMA = {"type": "object", "properties": {"n": {"type": "integer", "default": 1}}}


@pytest.fixture(autouse=True)
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


def upload(dev, django_capture_on_commit_callbacks, *, source, schema, bot_type=Bot.Type.TECHNICAL, defaults=None):
    with django_capture_on_commit_callbacks(execute=True):
        bot = bot_create(
            developer=dev,
            name="Uploaded",
            description="A test upload.",
            category=None,
            bot_type=bot_type,
            price_per_month=Decimal("0"),
            trial_days=0,
            code_file=SimpleUploadedFile("strategy.py", source),
            config_schema=schema,
            default_config=defaults or {},
        )
    return BotVersion.objects.get(bot=bot)


def test_it_passes_a_good_bot_with_backtest_stats(dev, django_capture_on_commit_callbacks):
    version = upload(dev, django_capture_on_commit_callbacks, source=SMA_SOURCE, schema=SmaCrossover.config_schema)
    assert version.validation_status == BotVersion.ValidationStatus.PASSED, version.validation_report
    report = version.validation_report
    assert report["passed"] is True
    assert [check["name"] for check in report["checks"]] == [
        "config",
        "load",
        "schema_matches_code",
        "lookahead",
        "backtest BTC/USDT 1h",
        "backtest ETH/USDT 1h",
    ]
    assert [(b["market"], b["candles"]) for b in report["backtests"]] == [("BTC/USDT", 1500), ("ETH/USDT", 1500)]
    assert all("roi" in str(b["stats"]) for b in report["backtests"])
    version.bot.refresh_from_db()
    assert version.bot.status == Bot.Status.PENDING  # staff still approve it


def test_it_fails_a_bot_that_raises_on_import_with_its_traceback(dev, django_capture_on_commit_callbacks):
    source = b"raise RuntimeError('broken on purpose')\n"
    version = upload(dev, django_capture_on_commit_callbacks, source=source, schema=PEEKING_SCHEMA)
    assert version.validation_status == BotVersion.ValidationStatus.FAILED
    load = next(check for check in version.validation_report["checks"] if check["name"] == "load")
    assert load["passed"] is False
    assert "broken on purpose" in load["traceback"] and "Traceback" in load["traceback"]


def test_it_fails_a_peeking_bot_on_lookahead(dev, django_capture_on_commit_callbacks):
    version = upload(dev, django_capture_on_commit_callbacks, source=PEEKING_SOURCE, schema=PEEKING_SCHEMA)
    assert version.validation_status == BotVersion.ValidationStatus.FAILED
    lookahead = version.validation_report["checks"][-1]
    assert lookahead["name"] == "lookahead" and lookahead["passed"] is False
    assert "future candles" in lookahead["message"]
    assert version.validation_report["backtests"] == []


def test_it_refuses_an_llm_bot_with_a_clear_message(dev, django_capture_on_commit_callbacks):
    version = upload(
        dev,
        django_capture_on_commit_callbacks,
        source=SMA_SOURCE,
        schema=SmaCrossover.config_schema,
        bot_type=Bot.Type.LLM,
    )
    assert version.validation_status == BotVersion.ValidationStatus.FAILED
    assert LLM_REFUSAL in [check["message"] for check in version.validation_report["checks"]]
    assert "model service" in LLM_REFUSAL


def test_it_leaves_a_finished_version_alone(dev, django_capture_on_commit_callbacks):
    source = b"raise RuntimeError('broken on purpose')\n"
    version = upload(dev, django_capture_on_commit_callbacks, source=source, schema=PEEKING_SCHEMA)
    report = version.validation_report
    assert bot_version_validate(version_id=version.pk) == report
    version.refresh_from_db()
    assert version.validation_status == BotVersion.ValidationStatus.FAILED
