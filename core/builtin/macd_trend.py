"""``macd-trend``: follow the crossings of the MACD line and its signal line."""
from __future__ import annotations

from typing import Any

import talib

from core.sdk import Action, Candles, Signals, VectorBot, actions_from, config_error, crossed_above, crossed_below

from .sma_crossover import SCHEMA_URI


class MacdTrend(VectorBot):
    """MACD line = EMA(fast) - EMA(slow) of closes; signal line = EMA(signal) of the MACD line (TA-Lib ``MACD``).

    BUY when the MACD line crosses above the signal line (``macd[i-1] <= signal[i-1]`` and ``macd[i] > signal[i]``),
    SELL when it crosses below. ``fast < slow`` is checked in ``check_config``.
    """

    slug = "macd-trend"
    name = "MACD trend"
    description = "Buys when the MACD line crosses above its signal line, sells when it crosses below."
    config_schema = {
        "$schema": SCHEMA_URI,
        "type": "object",
        "properties": {
            "fast": {
                "type": "integer", "minimum": 2, "maximum": 500, "default": 12,
                "title": "Fast EMA period", "description": "Must be less than the slow period.",
            },
            "slow": {
                "type": "integer", "minimum": 3, "maximum": 1000, "default": 26,
                "title": "Slow EMA period",
            },
            "signal": {
                "type": "integer", "minimum": 1, "maximum": 500, "default": 9,
                "title": "Signal EMA period", "description": "EMA period of the signal line.",
            },
        },
        "additionalProperties": False,
    }
    # EMAs depend on their seed: three slow periods (plus the signal line's own) let it fade out, so live
    # runs with this much history agree with backtests over longer histories.
    startup_candles = 3 * 26 + 9

    def __init__(self, config: dict[str, Any], state: dict[str, Any] | None = None) -> None:
        super().__init__(config, state)
        self.fast = int(self.config["fast"])
        self.slow = int(self.config["slow"])
        self.signal = int(self.config["signal"])
        self.startup_candles = 3 * self.slow + self.signal

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        if int(config["fast"]) >= int(config["slow"]):
            raise config_error("fast", f"must be less than slow ({config['slow']})")

    def populate(self, candles: Candles) -> Signals:
        macd, signal, histogram = talib.MACD(
            candles.close, fastperiod=self.fast, slowperiod=self.slow, signalperiod=self.signal
        )
        action = actions_from(crossed_above(macd, signal), crossed_below(macd, signal))
        return Signals(action, {"macd": macd, "macd_signal": signal, "macd_hist": histogram})

    def reason(self, action: Action, indicators: dict[str, float]) -> str:
        direction = "above" if action is Action.BUY else "below"
        return f"MACD({self.fast},{self.slow}) crossed {direction} its signal line ({self.signal})"
