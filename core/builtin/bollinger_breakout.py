"""``bollinger-breakout``: buy a close above the upper Bollinger band, exit on a close below the middle band."""
from __future__ import annotations

from typing import Any

import talib

from core.sdk import Action, Candles, Signals, VectorBot, actions_from, crossed_above, crossed_below

from .sma_crossover import SCHEMA_URI

MA_TYPE_SMA = talib.MA_Type.SMA  # the classic Bollinger middle band (0 at run time)


class BollingerBreakout(VectorBot):
    """Bands from TA-Lib ``BBANDS(close, period, stddev, stddev, SMA)``: middle = SMA(period), upper/lower =
    middle ± stddev × population standard deviation of the last ``period`` closes.

    BUY when the close crosses above the upper band (``close[i-1] <= upper[i-1]`` and ``close[i] > upper[i]``);
    SELL when the close crosses below the middle band (``close[i-1] >= middle[i-1]`` and ``close[i] < middle[i]``).
    """

    slug = "bollinger-breakout"
    name = "Bollinger breakout"
    description = (
        "Buys when the close breaks above the upper Bollinger band, sells when it falls below the middle band."
    )
    config_schema = {
        "$schema": SCHEMA_URI,
        "type": "object",
        "properties": {
            "period": {
                "type": "integer", "minimum": 2, "maximum": 500, "default": 20,
                "title": "Period", "description": "Candles in the moving average and the standard deviation.",
            },
            "stddev": {
                "type": "number", "exclusiveMinimum": 0, "maximum": 10, "default": 2.0,
                "title": "Band width", "description": "Standard deviations between the middle and the outer bands.",
            },
        },
        "additionalProperties": False,
    }
    # The bands are first defined at index period - 1; a crossing also needs the previous candle's.
    startup_candles = 20

    def __init__(self, config: dict[str, Any], state: dict[str, Any] | None = None) -> None:
        super().__init__(config, state)
        self.period = int(self.config["period"])
        self.stddev = float(self.config["stddev"])
        self.startup_candles = self.period

    def populate(self, candles: Candles) -> Signals:
        close = candles.close
        upper, middle, lower = talib.BBANDS(
            close, timeperiod=self.period, nbdevup=self.stddev, nbdevdn=self.stddev, matype=MA_TYPE_SMA
        )
        action = actions_from(crossed_above(close, upper), crossed_below(close, middle))
        return Signals(action, {"bb_upper": upper, "bb_middle": middle, "bb_lower": lower, "close": close})

    def reason(self, action: Action, indicators: dict[str, float]) -> str:
        if action is Action.BUY:
            return f"close crossed above the upper band ({self.period}, {self.stddev:g}σ)"
        return f"close crossed below the middle band (SMA {self.period})"
