"""``rsi-reversion``: buy when RSI leaves the oversold zone, sell when it leaves the overbought zone."""
from __future__ import annotations

from typing import Any

import talib

from core.sdk import Action, Candles, Signals, VectorBot, actions_from, config_error, crossed_above, crossed_below

from .sma_crossover import SCHEMA_URI


class RsiReversion(VectorBot):
    """BUY when RSI(period) crosses up through ``oversold``: ``rsi[i-1] <= oversold < rsi[i]``;
    SELL when it crosses down through ``overbought``: ``rsi[i-1] >= overbought > rsi[i]``.

    ``oversold < overbought`` is checked in ``check_config``.
    """

    slug = "rsi-reversion"
    name = "RSI mean reversion"
    description = (
        "Buys when RSI climbs back above the oversold level, sells when it falls back below the overbought level."
    )
    config_schema = {
        "$schema": SCHEMA_URI,
        "type": "object",
        "properties": {
            "period": {
                "type": "integer", "minimum": 2, "maximum": 500, "default": 14,
                "title": "RSI period", "description": "Candles in the RSI (Wilder smoothing).",
            },
            "oversold": {
                "type": "number", "minimum": 0, "maximum": 100, "default": 30,
                "title": "Oversold level", "description": "BUY when RSI crosses up through this level.",
            },
            "overbought": {
                "type": "number", "minimum": 0, "maximum": 100, "default": 70,
                "title": "Overbought level", "description": "SELL when RSI crosses down through this level.",
            },
        },
        "additionalProperties": False,
    }
    # RSI's Wilder smoothing remembers its seed for a long time: after 10 periods the seed's weight is
    # below 0.1 %, so a live run with this much history agrees with a backtest over a longer one.
    startup_candles = 140

    def __init__(self, config: dict[str, Any], state: dict[str, Any] | None = None) -> None:
        super().__init__(config, state)
        self.period = int(self.config["period"])
        self.oversold = float(self.config["oversold"])
        self.overbought = float(self.config["overbought"])
        self.startup_candles = 10 * self.period

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        if float(config["oversold"]) >= float(config["overbought"]):
            raise config_error("oversold", f"must be less than overbought ({config['overbought']})")

    def populate(self, candles: Candles) -> Signals:
        rsi = talib.RSI(candles.close, timeperiod=self.period)
        action = actions_from(crossed_above(rsi, self.oversold), crossed_below(rsi, self.overbought))
        return Signals(action, {"rsi": rsi})

    def reason(self, action: Action, indicators: dict[str, float]) -> str:
        if action is Action.BUY:
            return f"RSI({self.period}) crossed up through {self.oversold:g}"
        return f"RSI({self.period}) crossed down through {self.overbought:g}"
