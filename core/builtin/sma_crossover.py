"""``sma-crossover``: trade the crossings of a fast and a slow simple moving average of closes."""
from __future__ import annotations

from typing import Any

import talib

from core.sdk import Action, Candles, Signals, VectorBot, actions_from, config_error, crossed_above, crossed_below

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


class SmaCrossover(VectorBot):
    """BUY on the closed candle where SMA(fast) crosses above SMA(slow): ``fast[i-1] <= slow[i-1]`` and
    ``fast[i] > slow[i]``; SELL where it crosses below: ``fast[i-1] >= slow[i-1]`` and ``fast[i] < slow[i]``.

    ``fast < slow`` is checked in ``check_config`` (JSON Schema cannot compare two properties simply).
    """

    slug = "sma-crossover"
    name = "SMA crossover"
    description = "Buys when the fast simple moving average crosses above the slow one, sells when it crosses below."
    config_schema = {
        "$schema": SCHEMA_URI,
        "type": "object",
        "properties": {
            "fast": {
                "type": "integer", "minimum": 2, "maximum": 500, "default": 10,
                "title": "Fast period", "description": "Candles in the fast SMA; must be less than the slow period.",
            },
            "slow": {
                "type": "integer", "minimum": 3, "maximum": 1000, "default": 30,
                "title": "Slow period", "description": "Candles in the slow SMA.",
            },
        },
        "additionalProperties": False,
    }
    # SMA(slow) is first defined at index slow - 1 and a crossing compares it with the previous candle.
    startup_candles = 30

    def __init__(self, config: dict[str, Any], state: dict[str, Any] | None = None) -> None:
        super().__init__(config, state)
        self.fast = int(self.config["fast"])
        self.slow = int(self.config["slow"])
        self.startup_candles = self.slow

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        if int(config["fast"]) >= int(config["slow"]):
            raise config_error("fast", f"must be less than slow ({config['slow']})")

    def populate(self, candles: Candles) -> Signals:
        fast = talib.SMA(candles.close, timeperiod=self.fast)
        slow = talib.SMA(candles.close, timeperiod=self.slow)
        action = actions_from(crossed_above(fast, slow), crossed_below(fast, slow))
        return Signals(action, {"sma_fast": fast, "sma_slow": slow})

    def reason(self, action: Action, indicators: dict[str, float]) -> str:
        direction = "above" if action is Action.BUY else "below"
        return f"SMA({self.fast}) crossed {direction} SMA({self.slow})"
