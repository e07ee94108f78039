"""Helpers for testing bots on hand-built price series (used by the SDK's own tests; handy for bot authors)."""
from __future__ import annotations

from collections.abc import Sequence

from .candles import Candles

HOUR_MS = 3_600_000
START_MS = 1_600_000_000_000  # 2020-09-13T12:26:40Z; any fixed instant will do


def candles_from_closes(
    closes: Sequence[float],
    *,
    opens: Sequence[float] | None = None,
    highs: Sequence[float] | None = None,
    lows: Sequence[float] | None = None,
    start_ms: int = START_MS,
    timeframe_ms: int = HOUR_MS,
) -> Candles:
    """Candles with the given closes. Opens default to the previous close (the first to its own close);
    highs/lows default to the max/min of open and close, so every candle is consistent; volume is 1."""
    closes = [float(close) for close in closes]
    if opens is None:
        opens = [closes[0], *closes[:-1]] if closes else []
    opens = [float(value) for value in opens]
    highs = [max(o, c) for o, c in zip(opens, closes, strict=True)] if highs is None else [float(v) for v in highs]
    lows = [min(o, c) for o, c in zip(opens, closes, strict=True)] if lows is None else [float(v) for v in lows]
    times = [start_ms + index * timeframe_ms for index in range(len(closes))]
    return Candles(times, opens, highs, lows, closes, [1.0] * len(closes))
