"""The automatic validation of an uploaded bot version (the checklist is docs/validation.md).

Runs in a worker of the `backtests` queue (bots.tasks.validate_bot_version). Uploaded code only ever runs in the
sandbox (bots.sandbox), from a private copy of the stored files.
"""

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from bots.models import Bot, BotVersion
from bots.sandbox import SandboxedBot, SandboxError
from bots.sdk import Candles, ConfigError, validate_config, validate_schema
from bots.uploads import upload_materialize

logger = logging.getLogger(__name__)

CANDLES_DIR = Path(settings.BASE_DIR) / "data" / "candles" / "binance"
# (market, timeframe, file): the shipped history every upload is backtested on.
BACKTEST_MARKETS = (
    ("BTC/USDT", "1h", "BTC_USDT-1h.csv"),
    ("ETH/USDT", "1h", "ETH_USDT-1h.csv"),
)
BACKTEST_CANDLES = 1500
BACKTEST_TIMEOUT_S = 60.0
LLM_REFUSAL = "LLM bots cannot be validated: the platform does not offer a model service yet."

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


def _load_candles(file_name: str) -> Candles:
    candles = Candles.from_csv(CANDLES_DIR / file_name)
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
    code_dir, model = upload_materialize(code_path=version.code_path, model_path=version.model_path, folder=folder)
    config = version.default_config or {}
    with SandboxedBot(code_dir, model_path=model, require_sandbox=settings.BOT_SANDBOX_REQUIRED) as bot:
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

        markets = [(market, timeframe, _load_candles(file_name)) for market, timeframe, file_name in BACKTEST_MARKETS]
        if info.vectorized:
            try:
                report = bot.lookahead(markets[0][2], config=config, timeout_s=BACKTEST_TIMEOUT_S)
            except (SandboxError, ConfigError) as error:
                checks.append(_error_check("lookahead", error))
                return checks, backtests
            if not report["clean"]:
                checks.append(_check("lookahead", False, _lookahead_message(report)))
                return checks, backtests
            checks.append(_check("lookahead", True, "the signals use no future candles"))
        else:
            checks.append(_check("lookahead", True, "a per-candle bot only ever sees closed candles"))

        for market, timeframe, candles in markets:
            name = f"backtest {market} {timeframe}"
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


def bot_version_validate(*, version_id: int) -> dict:
    """Run the checklist on one version, store the report on it and set PASSED or FAILED. Returns the report:
    `{"passed", "checks": [{"name", "passed", "message", "traceback"}], "backtests": [...], "validated_at"}`.

    A version already PASSED or FAILED is left alone (a redelivered task); its stored report is returned.
    Raises BotVersion.DoesNotExist for an unknown id.
    """
    version = BotVersion.objects.select_related("bot").get(pk=version_id)
    if version.validation_status in (V.PASSED, V.FAILED):
        return version.validation_report or {}
    BotVersion.objects.filter(pk=version.pk).update(validation_status=V.RUNNING)

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
    BotVersion.objects.filter(pk=version.pk).update(
        validation_status=V.PASSED if passed else V.FAILED, validation_report=report
    )
    return report
