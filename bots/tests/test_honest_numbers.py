"""Honest numbers through the real paths: upload → validation, and a trader's backtest run of an uploaded bot.

Whatever an uploaded bot answers, the statistics stored on its version and on a run are simulated and computed by
the platform from its decisions; a bot that reaches for later candles earns only what it would without them, or
fails as look-ahead. (The attacks themselves, one by one: bots/sandbox/tests/test_honest_numbers.py.)
"""
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from bots.backtest_runs.services import backtest_run_create, backtest_run_execute
from bots.models import BacktestRun, Bot, BotVersion
from bots.services import bot_create
from bots.validation import BACKTEST_CANDLES, validation_candles
from core.backtest import run_backtest

pytestmark = pytest.mark.usefixtures("needs_sandbox")

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer", "default": 1}}, "additionalProperties": False}

HEADER = '''
import gc

import numpy as np

from bots.sdk import Action, Bot, Candles, Decision, Signals, VectorBot

NAME = {"slug": "x", "name": "X", "description": "A test upload."}
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer", "default": 1}}, "additionalProperties": False}
'''

# Reads the whole series through the arrays' .base (the bypass that passed validation with +9,670 %); without it,
# follows the last move.
BASE_READER = HEADER + '''

class BaseReader(Bot):
    slug = "base-reader"
    config_schema = SCHEMA
    startup_candles = 1

    def decide(self, candles):
        times, closes = candles.time.base, candles.close.base
        now = candles.close[-1]
        if times is not None and closes is not None:
            at = int(np.searchsorted(np.asarray(times), candles.time[-1])) + 1
            if at < len(closes):
                return Decision(Action.BUY if closes[at] > now else Action.SELL, reason="peeked")
        return Decision(Action.BUY if now > candles.close[-2] else Action.SELL)
'''

# Replaces the child's answers with a forged backtest result (+887 %, 100 % wins, no drawdown, no trades).
FORGER = HEADER + '''
from bots.sandbox import child

FORGED = {"stats": {"roi": 8.87, "win_rate": 1.0, "max_drawdown": "0"}, "trades": [], "equity_curve": []}
original_step = child.Child.op_step
child.Child.op_step = lambda self, request: {**original_step(self, request), **FORGED}
child.Child.op_populate = lambda self, request: FORGED


class Forger(Bot):
    slug = "forger"
    config_schema = SCHEMA
    startup_candles = 1

    def decide(self, candles):
        return Decision.hold(reason="ROI +887 %")
'''

# Honest on the validation's candle count, peeking (row i reads close[i + 1]) on any other.
HONEST_WHEN_VALIDATED = HEADER + f'''

class Chameleon(VectorBot):
    slug = "chameleon"
    config_schema = SCHEMA
    startup_candles = 1

    def populate(self, candles):
        close = candles.close
        if len(close) <= {BACKTEST_CANDLES} or len(close) % 100 != 0:
            previous = np.insert(close[:-1], 0, np.nan)
            return Signals((close > previous).astype(np.int8) - (close < previous).astype(np.int8))
        upcoming = np.append(close[1:], np.nan)
        return Signals((upcoming > close).astype(np.int8) - (upcoming < close).astype(np.int8))
'''


@pytest.fixture(autouse=True)
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


def upload(dev, django_capture_on_commit_callbacks, source: str) -> BotVersion:
    with django_capture_on_commit_callbacks(execute=True):
        bot = bot_create(
            developer=dev,
            name="Uploaded",
            description="A test upload.",
            category=None,
            bot_type=Bot.Type.TECHNICAL,
            price_per_month=Decimal("0"),
            trial_days=0,
            code_file=SimpleUploadedFile("strategy.py", source.encode()),
            config_schema=SCHEMA,
            default_config={},
        )
    return BotVersion.objects.select_related("bot").get(bot=bot)


def load(source: str, name: str) -> type:
    namespace: dict = {}
    exec(compile(source, "upload.py", "exec"), namespace)  # noqa: S102 - our own test bots
    return namespace[name]


def test_it_stores_only_what_a_base_reader_earns_without_foresight(dev, django_capture_on_commit_callbacks):
    version = upload(dev, django_capture_on_commit_callbacks, BASE_READER)

    assert version.validation_status == BotVersion.ValidationStatus.PASSED, version.validation_report
    [btc, _eth] = version.validation_report["backtests"]
    candles = validation_candles("BTC/USDT", "1h")
    reader = load(BASE_READER, "BaseReader")
    # In one process the same code reads the future through .base and "earns" a fortune.
    assert run_backtest(reader, candles).stats.roi > 10
    # What the platform stored is what it earns on the past alone: the same bot with no .base to read.
    blind = load(BASE_READER.replace("candles.close.base", "None"), "BaseReader")
    assert btc["stats"] == run_backtest(blind, candles, timeframe_ms=candles.timeframe_ms).to_json()["stats"]
    assert btc["stats"]["roi"] < 1


def test_it_never_stores_a_forged_result(dev, django_capture_on_commit_callbacks):
    version = upload(dev, django_capture_on_commit_callbacks, FORGER)

    # Its decisions come with a forged result riding along: the host's strict reader refuses such a decision
    # (unknown keys), so the version fails validation and no number of the bot's own is stored anywhere.
    assert version.validation_status == BotVersion.ValidationStatus.FAILED, version.validation_report
    assert version.validation_report["backtests"] == []
    assert "8.87" not in json.dumps(version.validation_report)


def test_a_bot_honest_only_while_validated_fails_a_traders_run(
    dev, alice, django_capture_on_commit_callbacks, monkeypatch
):
    version = upload(dev, django_capture_on_commit_callbacks, HONEST_WHEN_VALIDATED)
    assert version.validation_status == BotVersion.ValidationStatus.PASSED, version.validation_report
    BotVersion.objects.filter(pk=version.pk).update(approved_at=timezone.now())  # staff approved it
    monkeypatch.setattr("bots.tasks.run_backtest.delay", lambda run_id: None)
    run = backtest_run_create(
        user=alice, bot=version.bot, exchange="BINANCE", symbol="BTC/USDT", timeframe="1h", candle_count=2000
    )

    backtest_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == BacktestRun.Status.FAILED
    assert "failed verification" in run.error and "later candles" in run.error
    assert run.result is None


def test_a_peeking_vector_bot_fails_validation_on_lookahead(dev, django_capture_on_commit_callbacks):
    source = HEADER + '''

class Peeker(VectorBot):
    slug = "peeker"
    config_schema = SCHEMA
    startup_candles = 1

    def populate(self, candles):
        times, closes = candles.time.base, candles.close.base
        close = candles.close
        if times is not None and closes is not None:
            at = int(np.searchsorted(np.asarray(times), candles.time[0]))
            close = np.asarray(closes)[at:]
        upcoming = np.append(close[1:], np.nan)[: len(candles)]
        now = candles.close
        return Signals((upcoming > now).astype(np.int8) - (upcoming < now).astype(np.int8))
'''
    version = upload(dev, django_capture_on_commit_callbacks, source)

    assert version.validation_status == BotVersion.ValidationStatus.FAILED
    lookahead = next(check for check in version.validation_report["checks"] if check["name"] == "lookahead")
    assert lookahead["passed"] is False
    assert "future candles" in lookahead["message"]
    assert version.validation_report["backtests"] == []
