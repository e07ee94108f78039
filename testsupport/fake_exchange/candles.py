"""Replayed candles: one sorted series per (symbol, interval), read from the project's CSV files.

CSV contract (``data/README.md``): header ``timestamp_ms,open,high,low,close,volume``; ``timestamp_ms`` is the
candle's open time in Unix epoch milliseconds, UTC; prices in the quote asset, volume in the base asset.
Values stay :class:`~decimal.Decimal` (parsed from the CSV text, never through float).

Time model, shared with the matching engine (``state.py``): at server clock ``T`` a candle with open time ``o``
and duration ``d`` is *closed* when ``o + d <= T`` and *in progress* when ``o <= T < o + d``. Only candles with
``o <= T`` are ever visible.
"""

from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

#: Binance's kline intervals with a fixed length, in milliseconds ("1M" has none and is not supported).
INTERVAL_MS: dict[str, int] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
}


@dataclass(frozen=True)
class Candle:
    open_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    duration_ms: int

    @property
    def close_time(self) -> int:
        """Binance's ``closeTime``: the last millisecond inside the candle."""
        return self.open_time + self.duration_ms - 1

    def is_closed_at(self, now_ms: int) -> bool:
        return self.open_time + self.duration_ms <= now_ms

    def covers(self, now_ms: int) -> bool:
        return self.open_time <= now_ms < self.open_time + self.duration_ms


class CandleSeries:
    """Candles of one symbol and interval, sorted by open time, with the time queries the server needs."""

    def __init__(self, interval: str, candles: list[Candle]) -> None:
        if interval not in INTERVAL_MS:
            raise ValueError(f"unsupported interval {interval!r}; use one of {sorted(INTERVAL_MS)}")
        self.interval = interval
        self.duration_ms = INTERVAL_MS[interval]
        self.candles = sorted(candles, key=lambda c: c.open_time)
        self._open_times = [c.open_time for c in self.candles]

    @classmethod
    def from_csv(cls, path: str | Path, interval: str) -> CandleSeries:
        duration = INTERVAL_MS[interval]
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        candles = [
            Candle(
                open_time=int(row["timestamp_ms"]),
                open=Decimal(row["open"]),
                high=Decimal(row["high"]),
                low=Decimal(row["low"]),
                close=Decimal(row["close"]),
                volume=Decimal(row["volume"]),
                duration_ms=duration,
            )
            for row in rows
        ]
        return cls(interval, candles)

    def __len__(self) -> int:
        return len(self.candles)

    def visible(self, now_ms: int) -> list[Candle]:
        """Every candle whose open time is <= ``now_ms`` (the last one may still be in progress)."""
        return self.candles[: bisect.bisect_right(self._open_times, now_ms)]

    def at(self, now_ms: int) -> Candle | None:
        """The candle in progress at ``now_ms``, or None (before/after the data, or inside a gap)."""
        index = bisect.bisect_right(self._open_times, now_ms) - 1
        if index >= 0 and self.candles[index].covers(now_ms):
            return self.candles[index]
        return None

    def closed_between(self, start_open_ms: int, now_ms: int) -> list[Candle]:
        """Candles with ``open_time >= start_open_ms`` that are closed at ``now_ms``, oldest first."""
        first = bisect.bisect_left(self._open_times, start_open_ms)
        last = bisect.bisect_right(self._open_times, now_ms - self.duration_ms)
        return self.candles[first:last]
