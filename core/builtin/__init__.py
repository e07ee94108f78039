"""The built-in bots and their registry. ``bot_versions.builtin_slug`` names one of ``BUILTIN_BOTS``."""
from __future__ import annotations

from core.sdk import Bot

from .bollinger_breakout import BollingerBreakout
from .macd_trend import MacdTrend
from .rsi_reversion import RsiReversion
from .sma_crossover import SmaCrossover

BUILTIN_BOTS: dict[str, type[Bot]] = {
    bot.slug: bot for bot in (SmaCrossover, RsiReversion, MacdTrend, BollingerBreakout)
}


class UnknownBuiltinBot(LookupError):
    """No built-in bot has this slug."""


def get_builtin(slug: str) -> type[Bot]:
    """The built-in bot class registered under ``slug``; raises ``UnknownBuiltinBot``."""
    try:
        return BUILTIN_BOTS[slug]
    except KeyError:
        raise UnknownBuiltinBot(f"no built-in bot '{slug}'; known: {', '.join(sorted(BUILTIN_BOTS))}") from None


__all__ = [
    "BUILTIN_BOTS",
    "BollingerBreakout",
    "MacdTrend",
    "RsiReversion",
    "SmaCrossover",
    "UnknownBuiltinBot",
    "get_builtin",
]
