"""The backtest shown on a bot's page: the platform runs the bot itself, on shipped candles, with its default config.

Nothing a developer uploads is shown as a result. The JSON (`BacktestResult.to_json()`, the equity curve thinned
for the chart) is cached per bot version: a version's code and default config never change, so the result cannot
go stale; the cache only saves the run (about 10 ms for a built-in bot, far more for an uploaded one).
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from bots.models import Bot
from bots.runtime import BotUnavailable, bot_class
from bots.selectors import bot_version_for_run
from core.backtest import InsufficientCandles, run_backtest
from core.candle_files import candle_file_path
from core.charts import downsample
from core.sdk import Candles, ConfigError

CANDLES = candle_file_path(Path(), "BINANCE", "BTC/USDT", "1h")  # relative to data/candles
MARKET_LABEL = "Binance BTC/USDT, 1h candles"
CACHE_SECONDS = 7 * 24 * 60 * 60


@dataclass(frozen=True)
class BacktestSummary:
    """`result` is `BacktestResult.to_json()` (equity curve thinned), or None with `unavailable` saying why."""

    market: str
    config: dict | None
    result: dict | None
    unavailable: str = ""


def _candles_path() -> Path:
    return Path(settings.BASE_DIR) / "data" / "candles" / CANDLES


def bot_backtest(bot: Bot) -> BacktestSummary:
    """The backtest of the version subscribers run now (see bots.selectors.bot_version_for_run)."""
    version = bot_version_for_run(bot_id=bot.pk, pinned_version_id=None)
    if version is None:
        return BacktestSummary(MARKET_LABEL, None, None, "No version of this bot has passed validation yet.")
    try:
        cls = bot_class(version)
    except BotUnavailable:
        return BacktestSummary(
            MARKET_LABEL, None, None, "Uploaded bots are backtested here once the sandbox runtime is enabled."
        )
    default_config = version.default_config if version.default_config is not None else bot.default_config
    fingerprint = hashlib.sha256(
        json.dumps([version.builtin_slug, default_config, str(CANDLES)], sort_keys=True).encode()
    ).hexdigest()[:16]
    key = f"bot-backtest:v1:{version.pk}:{fingerprint}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        config = cls.validate_config(default_config)
        result = run_backtest(cls, Candles.from_csv(_candles_path()), config=config).to_json()
    except (ConfigError, InsufficientCandles) as error:
        summary = BacktestSummary(MARKET_LABEL, None, None, f"The default config cannot be backtested: {error}")
    else:
        result["equity_curve"] = downsample(result["equity_curve"])
        summary = BacktestSummary(MARKET_LABEL, config, result)
    cache.set(key, summary, timeout=CACHE_SECONDS)
    return summary
