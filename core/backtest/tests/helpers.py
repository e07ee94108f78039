"""Scripted bots and hand-built candles for the engine tests."""
from pathlib import Path

import numpy as np

from bots.sdk import Bot, Decision, Signals, VectorBot
from bots.sdk.testing import candles_from_closes

DATA = Path(__file__).resolve().parents[3] / "data" / "candles"


def scripted(actions: dict[int, int], startup: int = 0) -> type[VectorBot]:
    """A VectorBot that signals ``actions`` ({candle index: +1 BUY / -1 SELL}) and nothing else."""

    class Scripted(VectorBot):
        slug = "scripted"
        startup_candles = startup

        def populate(self, candles):
            action = np.zeros(len(candles), dtype=np.int8)
            for index, code in actions.items():
                if index < len(candles):
                    action[index] = code
            return Signals(action, {"close": candles.close})

    return Scripted


def scripted_per_candle(decisions: dict[int, Decision], startup: int = 0) -> type[Bot]:
    """A per-candle Bot returning ``decisions[i]`` on candle i (HOLD otherwise)."""

    class ScriptedPerCandle(Bot):
        slug = "scripted-per-candle"
        startup_candles = startup

        def decide(self, candles):
            return decisions.get(len(candles) - 1, Decision.hold())

    return ScriptedPerCandle


def six_candles(opens=None, highs=None, lows=None, closes=None):
    """The engine tests' base series: open 100, 100, 100, 110, 125, 130; close 100, 100, 110, 120, 130, 130."""
    return candles_from_closes(
        closes or [100, 100, 110, 120, 130, 130],
        opens=opens or [100, 100, 100, 110, 125, 130],
        highs=highs,
        lows=lows,
    )
