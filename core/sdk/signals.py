"""Vectorized bot output (``Signals``) and the crossing helpers the built-in bots use.

A ``Signals`` row ``i`` is the decision for candle ``i`` and may only depend on candles ``0..i``
(the no-lookahead rule, checked by ``core.sdk.lookahead.check_lookahead``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .decision import Action

BUY = np.int8(1)
SELL = np.int8(-1)
HOLD = np.int8(0)

_ACTION_BY_CODE = {1: Action.BUY, -1: Action.SELL, 0: Action.HOLD}


@dataclass(frozen=True)
class Signals:
    """Per-candle output of ``populate``.

    ``action``: int8 array, +1 BUY, -1 SELL, 0 HOLD; ``indicators``: name -> float64 array. One row per candle.
    """

    action: np.ndarray
    indicators: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        action = np.asarray(self.action)
        if action.ndim != 1:
            raise ValueError("signals: 'action' must be a 1-D array")
        if action.dtype == np.bool_ or not np.isin(action, (-1, 0, 1)).all():
            raise ValueError("signals: 'action' values must be +1 (BUY), -1 (SELL) or 0 (HOLD)")
        action = action.astype(np.int8, copy=False)
        indicators = {}
        for name, values in self.indicators.items():
            values = np.asarray(values, dtype=np.float64)
            if values.shape != action.shape:
                raise ValueError(f"signals: indicator '{name}' has shape {values.shape}, expected {action.shape}")
            indicators[str(name)] = values
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "indicators", indicators)

    def __len__(self) -> int:
        return len(self.action)

    def action_at(self, index: int) -> Action:
        return _ACTION_BY_CODE[int(self.action[index])]

    def indicators_at(self, index: int) -> dict[str, float]:
        """The indicator values of row ``index`` as Python floats (NaN stays NaN; ``Decision`` turns it into None)."""
        return {name: float(values[index]) for name, values in self.indicators.items()}


def crossed_above(series: np.ndarray, other: np.ndarray | float) -> np.ndarray:
    """Boolean array: ``series[i-1] <= other[i-1] and series[i] > other[i]``. Row 0 and NaN rows are False."""
    series = np.asarray(series, dtype=np.float64)
    other = np.broadcast_to(np.asarray(other, dtype=np.float64), series.shape)
    crossed = np.zeros(series.shape, dtype=bool)
    # Comparisons with NaN are False, so the warm-up rows of an indicator never signal.
    crossed[1:] = (series[:-1] <= other[:-1]) & (series[1:] > other[1:])
    return crossed


def crossed_below(series: np.ndarray, other: np.ndarray | float) -> np.ndarray:
    """Boolean array: ``series[i-1] >= other[i-1] and series[i] < other[i]``. Row 0 and NaN rows are False."""
    series = np.asarray(series, dtype=np.float64)
    other = np.broadcast_to(np.asarray(other, dtype=np.float64), series.shape)
    crossed = np.zeros(series.shape, dtype=bool)
    crossed[1:] = (series[:-1] >= other[:-1]) & (series[1:] < other[1:])
    return crossed


def actions_from(buy: np.ndarray, sell: np.ndarray) -> np.ndarray:
    """int8 action array from two boolean arrays; a row that is both BUY and SELL becomes HOLD (ambiguous)."""
    buy = np.asarray(buy, dtype=bool)
    sell = np.asarray(sell, dtype=bool)
    return (buy.astype(np.int8) - sell.astype(np.int8)).astype(np.int8)
