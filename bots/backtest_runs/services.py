"""Writes of backtest runs: create (validate, store, enqueue), execute (in a worker), fail the stale ones.

A run goes QUEUED → RUNNING → DONE or FAILED (ALLOWED_TRANSITIONS), every move a compare-and-set on the status, so
a redelivered task or the stale sweep can never run or finish a run twice. Uploaded code runs only in the sandbox
(bots.sandbox), from a private copy of the stored files; built-in bots are ours and run in the worker itself.
"""

import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from bots.backtest_runs.exceptions import BacktestRunInvalid, BacktestRunLimit
from bots.backtest_runs.markets import backtest_market_for, backtest_market_get, market_candles
from bots.models import BacktestRun, Bot
from bots.runtime import BotUnavailable, bot_class, validate_bot_config
from bots.sandbox import SandboxedBot, SandboxError, SandboxLimits, SandboxLookahead
from bots.selectors import bot_version_for_run
from bots.uploads import upload_materialize
from common.tasks import enqueue_on_commit
from core.backtest import InsufficientCandles, run_backtest
from core.charts import downsample
from core.config_schemas import validate_trading_configs
from core.sdk import ConfigError

logger = logging.getLogger(__name__)

R = BacktestRun.Status
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    R.QUEUED: {R.RUNNING, R.FAILED},
    R.RUNNING: {R.DONE, R.FAILED},
    R.DONE: set(),
    R.FAILED: set(),
}

# Runs waiting or running per user at once: one user must not fill the backtests queue for everyone.
MAX_ACTIVE_RUNS_PER_USER = 2
MIN_CANDLES = 50
STARTING_BALANCE_MIN, STARTING_BALANCE_MAX = Decimal("10"), Decimal("1000000000")
RATE_MAX = Decimal("0.05")  # fee and slippage: at most 5 % per side
# One uploaded bot's run in the sandbox: wall clock and CPU (20 000 candles of a VectorBot take well under 10 s).
SANDBOX_TIMEOUT_S = 300.0
# Progress is written at most this often: a built-in bot walks 3000 candles in ~20 ms, and a hundred UPDATEs would
# cost more than the backtest.
PROGRESS_INTERVAL_S = 0.5
CHART_POINTS = 500
# A run RUNNING this long lost its worker (its sandbox call is bounded by SANDBOX_TIMEOUT_S); one QUEUED this long
# lost its task.
RUNNING_STALE_AFTER = timedelta(minutes=30)
QUEUED_STALE_AFTER = timedelta(hours=6)


def _rate(value, field: str, errors: dict) -> Decimal:
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[field] = ["Enter a number."]
        return Decimal(0)
    if not rate.is_finite() or not Decimal(0) <= rate <= RATE_MAX:
        errors[field] = [f"Must be between 0 and {RATE_MAX * 100:g} %."]
    return rate


def _config_errors(section: str, error: ConfigError, errors: dict) -> None:
    """A ConfigError's fields as `section.<field>`; validate_trading_configs already names its sections."""
    for item in error.errors:
        name = item["field"] or ""
        if not name.startswith(("strategy_config", "execution_config", "risk_config")):
            name = f"{section}.{name}" if name else section
        errors.setdefault(name, []).append(item["message"])


@transaction.atomic
def backtest_run_create(
    *,
    user: User,
    bot: Bot,
    exchange: str,
    symbol: str,
    timeframe: str,
    candle_count: int,
    strategy_config: dict | None = None,
    execution_config: dict | None = None,
    risk_config: dict | None = None,
    starting_balance: Decimal = Decimal("10000"),
    fee_rate: Decimal = Decimal("0.001"),
    slippage_rate: Decimal = Decimal("0"),
) -> BacktestRun:
    """Store a QUEUED run of the bot's current version (the one subscribers run) and enqueue it after the commit.

    The market is one of the shipped candle files (bots.backtest_runs.markets); the run uses its last `candle_count`
    candles. The configs are validated as a subscription's are (the bot's own rules, then the execution and risk
    schemas) and stored with their defaults filled. Rates are fractions (0.001 = 0.1 %); a `slippage_percent` in
    the execution config replaces `slippage_rate`, as in the engine.

    Raises BacktestRunInvalid (per field; nothing stored) and BacktestRunLimit when the user has
    MAX_ACTIVE_RUNS_PER_USER runs waiting or running.
    """
    errors: dict[str, list[str]] = {}
    version = bot_version_for_run(bot_id=bot.pk, pinned_version_id=None)
    if version is None:
        raise BacktestRunInvalid({"bot": ["No version of this bot has passed validation yet."]})
    market = backtest_market_for(exchange=exchange, symbol=symbol, timeframe=timeframe)
    if market is None:
        errors["market"] = ["Choose one of the markets listed."]
    elif not isinstance(candle_count, int) or not MIN_CANDLES <= candle_count <= market.candle_count:
        errors["candle_count"] = [f"Choose between {MIN_CANDLES} and {market.candle_count} candles for this market."]
    try:
        strategy_config = validate_bot_config(version, strategy_config or {})
    except ConfigError as error:
        _config_errors("strategy_config", error, errors)
    try:
        execution_config, risk_config, execution, _ = validate_trading_configs(execution_config, risk_config)
    except ConfigError as error:
        _config_errors("execution_config", error, errors)
    else:
        # The execution settings' slippage, when set, is the one the engine applies: store the effective rate.
        if execution.slippage_rate is not None:
            slippage_rate = execution.slippage_rate
    try:
        starting_balance = Decimal(str(starting_balance))
        if not STARTING_BALANCE_MIN <= starting_balance <= STARTING_BALANCE_MAX:
            raise ValueError
    except (InvalidOperation, ValueError):
        errors["starting_balance"] = [f"Must be between {STARTING_BALANCE_MIN} and {STARTING_BALANCE_MAX:,}."]
    fee_rate = _rate(fee_rate, "fee_rate", errors)
    slippage_rate = _rate(slippage_rate, "slippage_rate", errors)
    if errors:
        raise BacktestRunInvalid(errors)

    # Lock the user's row: two submissions at once must not both see room under the limit.
    User.objects.select_for_update().only("pk").get(pk=user.pk)
    active = BacktestRun.objects.filter(user=user, status__in=[R.QUEUED, R.RUNNING]).count()
    if active >= MAX_ACTIVE_RUNS_PER_USER:
        raise BacktestRunLimit(MAX_ACTIVE_RUNS_PER_USER)
    run = BacktestRun.objects.create(
        user=user,
        bot=bot,
        bot_version=version,
        exchange=market.exchange,
        symbol=market.symbol,
        timeframe=market.timeframe,
        candle_count=candle_count,
        strategy_config=strategy_config,
        execution_config=execution_config,
        risk_config=risk_config,
        starting_balance=starting_balance,
        fee_rate=fee_rate,
        slippage_rate=slippage_rate,
        status=R.QUEUED,
    )
    run_id = run.pk
    # After the commit: a worker must never look for a run that is not committed yet.
    enqueue_on_commit("bots.run_backtest", run_id)
    return run


def _move(run_id: int, source: str, target: str, **changes) -> bool:
    """Compare-and-set `source` → `target` (checked against ALLOWED_TRANSITIONS). True when this call moved it."""
    if target not in ALLOWED_TRANSITIONS[source]:
        raise ValueError(f"a backtest run cannot go from {source} to {target}")
    return BacktestRun.objects.filter(pk=run_id, status=source).update(status=target, **changes) == 1


class _ProgressWriter:
    """The engine's progress callback: writes candles done / total to the run, at most every PROGRESS_INTERVAL_S
    (and always the first and the last call)."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.written_at: float | None = None

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.written_at is not None and done < total and now - self.written_at < PROGRESS_INTERVAL_S:
            return
        self.written_at = now
        BacktestRun.objects.filter(pk=self.run_id, status=R.RUNNING).update(candles_done=done, candles_total=total)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _run(run: BacktestRun, progress: _ProgressWriter) -> dict:
    """The backtest itself: `BacktestResult.to_json()`, simulated and computed in this process either way (an uploaded
    bot's sandbox answers only decisions). Raises ConfigError, InsufficientCandles, SandboxError (SandboxLookahead:
    the decisions changed when recomputed without the later candles)."""
    market = backtest_market_get(f"{run.exchange}:{run.symbol}:{run.timeframe}")
    if market is None:
        raise FileNotFoundError(f"no shipped candles for {run.exchange} {run.symbol} {run.timeframe}")
    candles = market_candles(market, run.candle_count)
    BacktestRun.objects.filter(pk=run.pk).update(
        first_candle_at=_utc(int(candles.time[0])), last_candle_at=_utc(int(candles.time[-1]))
    )
    arguments = {
        "config": run.strategy_config,
        "starting_balance": run.starting_balance,
        "fee_rate": run.fee_rate,
        "slippage_rate": run.slippage_rate,
        "execution_config": run.execution_config,
        "risk_config": run.risk_config,
        "timeframe_ms": candles.timeframe_ms,
        "progress": progress,
    }
    version = run.bot_version
    if version.builtin_slug:
        return run_backtest(bot_class(version), candles, **arguments).to_json()
    if not version.code_path:
        raise BotUnavailable("this version has no uploaded code")
    limits = SandboxLimits(wall_timeout_s=SANDBOX_TIMEOUT_S, cpu_seconds=SANDBOX_TIMEOUT_S)
    with tempfile.TemporaryDirectory(prefix="bot-backtest-") as folder:
        code_dir, model = upload_materialize(
            code_path=version.code_path,
            model_path=version.model_path,
            folder=Path(folder),
            expected_sha256=version.code_sha256,
        )
        with SandboxedBot(code_dir, model_path=model, limits=limits) as bot:
            bot.prepare_fresh()  # the process that verifies (or is streamed) the decisions starts beside the warm one
            return bot.backtest(candles, timeout_s=SANDBOX_TIMEOUT_S, **arguments)


def backtest_run_execute(*, run_id: int) -> BacktestRun:
    """Run a QUEUED run (the worker's part): claim it (→ RUNNING), backtest with progress written as it goes, then
    store the result (→ DONE: stats, trades, the equity curve thinned to CHART_POINTS) or the reason (→ FAILED).

    A run that is not QUEUED (a redelivered task, a run already finished) is returned untouched. The bot's own
    failures are stored as the run's error, never raised. Raises BacktestRun.DoesNotExist for an unknown id.
    """
    if not _move(run_id, R.QUEUED, R.RUNNING, started_at=timezone.now()):
        return BacktestRun.objects.get(pk=run_id)
    run = BacktestRun.objects.select_related("bot_version").get(pk=run_id)
    error = ""
    try:
        result = _run(run, _ProgressWriter(run.pk))
    except ConfigError as exc:
        error = f"The settings were refused: {exc}"
    except InsufficientCandles as exc:
        error = f"Not enough candles for this bot's warm-up: {exc}. Choose more candles."
    except SandboxLookahead as exc:
        error = f"The bot's decisions failed verification: {exc}"
    except SandboxError as exc:
        error = f"The bot failed in its sandbox: {exc}"
    except Exception:  # noqa: BLE001 - anything else is the platform's fault, stored for the user, logged for us
        logger.exception("backtest run %s failed", run_id)
        error = "The platform could not run this backtest. Try again later."
    if error:
        _move(run_id, R.RUNNING, R.FAILED, error=error[:2000], finished_at=timezone.now())
    else:
        result["equity_curve"] = downsample(result["equity_curve"], CHART_POINTS)
        # The engine's last progress call (done == total) was written: the bar is full already.
        _move(run_id, R.RUNNING, R.DONE, result=result, finished_at=timezone.now())
    return BacktestRun.objects.get(pk=run_id)


def backtest_runs_fail_stale(*, now: datetime | None = None) -> int:
    """FAILED for runs whose worker or task was lost: RUNNING longer than RUNNING_STALE_AFTER, QUEUED longer than
    QUEUED_STALE_AFTER (the periodic sweep, bots.tasks.backtest_runs_fail_stale). Returns how many."""
    now = now or timezone.now()
    message = "The worker running this backtest stopped before it finished. Start it again."
    running = BacktestRun.objects.filter(status=R.RUNNING, started_at__lt=now - RUNNING_STALE_AFTER).update(
        status=R.FAILED, error=message, finished_at=now
    )
    queued = BacktestRun.objects.filter(status=R.QUEUED, created_at__lt=now - QUEUED_STALE_AFTER).update(
        status=R.FAILED, error="No worker picked this backtest up. Start it again.", finished_at=now
    )
    return running + queued
