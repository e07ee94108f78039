"""The automatic validation of an uploaded bot version (the checklist is docs/validation.md).

Runs in a worker of the `backtests` queue (bots.tasks.validate_bot_version). Uploaded code only ever runs in the
sandbox (bots.sandbox), from a private copy of the stored files.
"""

import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bots.models import Bot, BotVersion
from bots.sandbox import SandboxedBot, SandboxError
from bots.uploads import upload_materialize
from common.tasks import enqueue_on_commit
from core.candle_files import candle_file_path
from core.sdk import Candles, ConfigError, validate_config, validate_schema

logger = logging.getLogger(__name__)

CANDLES_DIR = Path(settings.BASE_DIR) / "data" / "candles"
# (market, timeframe) on Binance: the shipped history every upload is backtested on.
BACKTEST_MARKETS = (("BTC/USDT", "1h"), ("ETH/USDT", "1h"))
BACKTEST_CANDLES = 1500
BACKTEST_TIMEOUT_S = 60.0
# Rows without a signal the lookahead check recomputes (at random, besides every BUY/SELL row): a bot that peeks only
# to stay out of losing trades lies on HOLD rows, and with 300 of ~1500 rows checked, 15 such lies are all missed
# with a chance of 0.8^15 ≈ 3.5 %. Each row costs one decision of the bot over at most 1500 candles.
LOOKAHEAD_SAMPLE_ROWS = 300
LLM_REFUSAL = "LLM bots cannot be validated: the platform does not offer a model service yet."
# A validation takes at most a few minutes (load 30 s, lookahead and two backtests 60 s each, plus start-ups): one
# RUNNING for longer than this lost its worker (killed, out of memory, redeployed) and is started again.
STUCK_AFTER = timedelta(minutes=15)
# After this many interrupted attempts the version is FAILED: something in it kills workers.
MAX_ATTEMPTS = 3

V = BotVersion.ValidationStatus


def _check(name: str, passed: bool, message: str = "", trace: str = "") -> dict:
    return {"name": name, "passed": passed, "message": message, "traceback": trace}


def _error_check(name: str, error: Exception) -> dict:
    """A failed check from an exception: the bot's own traceback for SandboxBotError, else the message only
    (sandbox messages are safe to show; they never name host paths)."""
    if isinstance(error, ConfigError):
        return _check(name, False, f"the default config is refused by the bot: {error}")
    trace = getattr(error, "traceback", "") or getattr(error, "stderr_tail", "")
    return _check(name, False, f"{type(error).__name__}: {error}", trace)


def validation_candles(market: str, timeframe: str) -> Candles:
    """The last BACKTEST_CANDLES candles of a validation market's shipped file."""
    candles = Candles.from_csv(candle_file_path(CANDLES_DIR, "BINANCE", market, timeframe))
    return candles[-BACKTEST_CANDLES:]


def _lookahead_message(report: dict) -> str:
    where = f"row {report.get('first_index')}, {report.get('column')}"
    values = f"{report.get('full_value')!r} with the whole history, {report.get('truncated_value')!r} without"
    return f"the signals use future candles: {report.get('message') or ''} ({where}: {values} the later candles)"


def _schema_check(version: BotVersion) -> dict:
    try:
        validate_schema(version.config_schema)
        validate_config(version.config_schema, version.default_config)
    except ConfigError as error:
        return _check("config", False, f"the config schema or the defaults are invalid: {error}")
    return _check("config", True, "the config schema is valid and the default config validates against it")


def _sandbox_checks(version: BotVersion, folder: Path) -> tuple[list[dict], list[dict]]:
    """The checks that run the code: load, schema match, lookahead (vectorized bots), backtests. Stops at the
    first failure, since the later checks need what it checked."""
    checks: list[dict] = []
    backtests: list[dict] = []
    code_dir, model = upload_materialize(
        code_path=version.code_path, model_path=version.model_path, folder=folder, expected_sha256=version.code_sha256
    )
    config = version.default_config or {}
    with SandboxedBot(code_dir, model_path=model) as bot:
        # The fresh process the first streamed check needs (docs/sandbox.md, "Honest numbers") starts while the warm
        # one loads: two cold starts side by side instead of one after the other.
        bot.prepare_fresh()
        try:
            info = bot.load()
        except SandboxError as error:
            checks.append(_error_check("load", error))
            return checks, backtests
        sandboxed = "in the sandbox" if bot.sandboxed else "WITHOUT a sandbox (development)"
        checks.append(_check("load", True, f"{info.bot_class} ({info.name}) loads {sandboxed}"))

        if (info.config_schema or {}) != (version.config_schema or {}):
            checks.append(
                _check(
                    "schema_matches_code",
                    False,
                    "the uploaded config schema differs from the config_schema the bot class declares",
                )
            )
            return checks, backtests
        checks.append(_check("schema_matches_code", True, "the uploaded config schema is the bot class's"))

        markets = [(market, timeframe, validation_candles(market, timeframe)) for market, timeframe in BACKTEST_MARKETS]
        if info.vectorized:
            try:
                report = bot.lookahead(
                    markets[0][2], config=config, sample_points=LOOKAHEAD_SAMPLE_ROWS, timeout_s=BACKTEST_TIMEOUT_S
                )
            except (SandboxError, ConfigError) as error:
                checks.append(_error_check("lookahead", error))
                return checks, backtests
            if not report["clean"]:
                checks.append(_check("lookahead", False, _lookahead_message(report)))
                return checks, backtests
            checks.append(_check("lookahead", True, f"the signals use no future candles ({report.get('message')})"))
        else:
            checks.append(
                _check("lookahead", True, "a per-candle bot decides in a process that never holds a later candle")
            )

        # The sandbox answers decisions only: these statistics are simulated and computed here, on the host, and
        # the decisions of a VectorBot are verified by a process that never saw the later candles.
        for market, timeframe, candles in markets:
            name = f"backtest {market} {timeframe}"
            bot.prepare_fresh()  # unless the one prepared above is still unused
            try:
                result = bot.backtest(
                    candles, config=config, timeframe_ms=candles.timeframe_ms, timeout_s=BACKTEST_TIMEOUT_S
                )
            except (SandboxError, ConfigError) as error:
                checks.append(_error_check(name, error))
                return checks, backtests
            except Exception as error:  # InsufficientCandles and the like: the bot's warm-up is too long
                checks.append(_check(name, False, f"{type(error).__name__}: {error}"))
                return checks, backtests
            backtests.append(
                {
                    "market": market,
                    "timeframe": timeframe,
                    "candles": len(candles),
                    "trades": len(result["trades"]),
                    "stats": result["stats"],
                }
            )
            checks.append(_check(name, True, f"{len(candles)} candles, {len(result['trades'])} trades"))
    return checks, backtests


def _attempts(version: BotVersion) -> int:
    """How many times validation of `version` was started (kept in its report while it is not finished)."""
    report = version.validation_report if isinstance(version.validation_report, dict) else {}
    attempts = report.get("attempts", 0)
    return attempts if isinstance(attempts, int) and attempts >= 0 else 0


def _claim(version: BotVersion) -> bool:
    """PENDING → RUNNING, recording the attempt and its start in the report. Compare-and-set on the status: of two
    workers given the same version (a duplicate delivery, the sweep's re-queue), only one runs the checks."""
    progress = {"attempts": _attempts(version) + 1, "started_at": timezone.now().isoformat()}
    claimed = BotVersion.objects.filter(pk=version.pk, validation_status=V.PENDING).update(
        validation_status=V.RUNNING, validation_report=progress
    )
    return claimed == 1


def bot_version_validate(*, version_id: int) -> dict:
    """Run the checklist on one version, store the report on it and set PASSED or FAILED. Returns the report:
    `{"passed", "checks": [{"name", "passed", "message", "traceback"}], "backtests": [...], "validated_at"}`.

    Only a PENDING version is validated, claimed atomically (→ RUNNING). A version already PASSED or FAILED, or
    RUNNING in another worker (a redelivered task), is left alone and its stored report returned; a RUNNING version
    whose worker died is put back to PENDING by bot_versions_requeue_stuck. Raises BotVersion.DoesNotExist for an
    unknown id.
    """
    version = BotVersion.objects.select_related("bot").get(pk=version_id)
    if version.validation_status != V.PENDING or not _claim(version):
        version.refresh_from_db(fields=["validation_report"])
        return version.validation_report or {}

    checks = [_schema_check(version)]
    backtests: list[dict] = []
    if version.bot.bot_type == Bot.Type.LLM:
        checks.append(_check("bot_type", False, LLM_REFUSAL))
    elif not version.code_path:
        checks.append(_check("load", False, "this version has no uploaded code"))
    elif checks[0]["passed"]:
        try:
            with tempfile.TemporaryDirectory(prefix="bot-validation-") as folder:
                more, backtests = _sandbox_checks(version, Path(folder))
            checks += more
        except Exception as error:  # noqa: BLE001 - an unreadable upload or a broken sandbox fails the version
            logger.exception("validation of bot version %s failed", version.pk)
            checks.append(_check("sandbox", False, f"the platform could not run the checks: {type(error).__name__}"))

    passed = all(check["passed"] for check in checks)
    report = {"passed": passed, "checks": checks, "backtests": backtests, "validated_at": timezone.now().isoformat()}
    # Only the claim's own RUNNING row is finished: a sweep that gave up on it meanwhile (FAILED) is not overwritten.
    BotVersion.objects.filter(pk=version.pk, validation_status=V.RUNNING).update(
        validation_status=V.PASSED if passed else V.FAILED, validation_report=report
    )
    return report


# --- Versions whose validation never finished -----------------------------------------------------------------------


def _since(version: BotVersion, key: str) -> datetime:
    """When the current attempt started (`key` in the report), else when the version was uploaded."""
    report = version.validation_report if isinstance(version.validation_report, dict) else {}
    try:
        return datetime.fromisoformat(report[key])
    except (KeyError, TypeError, ValueError):
        return version.created_at


def _interrupted_report(attempts: int) -> dict:
    message = (
        f"Validation was interrupted {attempts} times: the worker running it stopped before it finished (killed, "
        "out of memory or restarted). The version is failed; upload it again once the bot loads and backtests "
        "within the sandbox limits."
    )
    return {
        "passed": False,
        "checks": [_check("sandbox", False, message)],
        "backtests": [],
        "attempts": attempts,
        "validated_at": timezone.now().isoformat(),
    }


def bot_versions_requeue_stuck(
    *, now: datetime | None = None, stuck_after: timedelta = STUCK_AFTER, max_attempts: int = MAX_ATTEMPTS
) -> dict[str, list[int]]:
    """Recover versions whose validation was lost (the periodic sweep, bots.tasks.requeue_stuck_validations).

    - RUNNING for longer than `stuck_after`: its worker died. After `max_attempts` attempts it becomes FAILED with
      a report saying so; otherwise it goes back to PENDING and is enqueued again (after the commit).
    - PENDING, enqueued (or uploaded) longer than `stuck_after` ago: its task was lost (a broker that was down at
      the upload); enqueued again. A duplicate task is harmless: validation claims the version first.

    Every change is a compare-and-set on the status, so a worker finishing at the same moment wins or loses
    cleanly. Returns the version ids: `{"requeued": [...], "failed": [...], "reenqueued": [...]}`.
    """
    now = now or timezone.now()
    bound = now - stuck_after
    outcome: dict[str, list[int]] = {"requeued": [], "failed": [], "reenqueued": []}
    # Few rows are ever RUNNING or PENDING at once; the start times live in the JSON report, so filter here.
    candidates = BotVersion.objects.filter(validation_status__in=[V.RUNNING, V.PENDING], builtin_slug="")
    with transaction.atomic():
        for version in candidates.only("pk", "validation_status", "validation_report", "created_at"):
            attempts = _attempts(version)
            if version.validation_status == V.RUNNING:
                if _since(version, "started_at") > bound:
                    continue
                if attempts >= max_attempts:
                    changed = BotVersion.objects.filter(pk=version.pk, validation_status=V.RUNNING).update(
                        validation_status=V.FAILED, validation_report=_interrupted_report(attempts)
                    )
                    if changed:
                        outcome["failed"].append(version.pk)
                    continue
                target, key = "requeued", "requeued_at"
                changed = BotVersion.objects.filter(pk=version.pk, validation_status=V.RUNNING).update(
                    validation_status=V.PENDING, validation_report={"attempts": attempts, key: now.isoformat()}
                )
            else:
                if _since(version, "requeued_at") > bound:
                    continue
                target = "reenqueued"
                changed = BotVersion.objects.filter(pk=version.pk, validation_status=V.PENDING).update(
                    validation_report={"attempts": attempts, "requeued_at": now.isoformat()}
                )
            if changed:
                outcome[target].append(version.pk)
                # After the commit: the worker must read the PENDING row, not the RUNNING one.
                enqueue_on_commit("bots.validate_bot_version", version.pk)
    if outcome["failed"] or outcome["requeued"]:
        logger.warning("stuck bot validations: %s", outcome)
    return outcome
