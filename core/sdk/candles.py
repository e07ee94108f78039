"""Closed OHLCV candles as read-only numpy arrays: what every bot reads.

Contract:
- ``time`` is int64 epoch milliseconds (UTC) of each candle's *open*; strictly increasing.
- ``open``/``high``/``low``/``close``/``volume`` are float64, finite, all of the same length.
- Only *closed* candles are ever put in a ``Candles``: a bot may use every row it is given.
- Instances are immutable: the arrays are flagged read-only, so a bot cannot change the data the
  platform (or a backtest) shares with the next bot call.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np

if TYPE_CHECKING:  # annotations only: the sandbox's import of the SDK stays as it was
    from numpy.typing import ArrayLike

CSV_HEADER = ("timestamp_ms", "open", "high", "low", "close", "volume")
_PRICE_FIELDS = ("open", "high", "low", "close", "volume")


class Candle(NamedTuple):
    """One candle, returned by ``candles[i]``. Prices are floats, exactly as stored in ``Candles``."""

    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Candles:
    """An immutable run of closed candles: ``len()``, ``candles[:n]`` (a ``Candles``), ``candles[i]`` (a ``Candle``)."""

    __slots__ = ("time", "open", "high", "low", "close", "volume")

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __init__(
        self, time: ArrayLike, open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike
    ) -> None:
        """Build from six equal-length 1-D array-likes. Raises ``ValueError`` on bad shape, order or values."""
        arrays = {
            "time": np.asarray(time, dtype=np.int64),
            "open": np.asarray(open, dtype=np.float64),
            "high": np.asarray(high, dtype=np.float64),
            "low": np.asarray(low, dtype=np.float64),
            "close": np.asarray(close, dtype=np.float64),
            "volume": np.asarray(volume, dtype=np.float64),
        }
        length = len(arrays["time"])
        for name, array in arrays.items():
            if array.ndim != 1 or len(array) != length:
                raise ValueError(f"candles: '{name}' must be 1-D with {length} values, got shape {array.shape}")
            if name != "time" and not np.isfinite(array).all():
                raise ValueError(f"candles: '{name}' contains NaN or infinite values")
        if length > 1 and not (np.diff(arrays["time"]) > 0).all():
            raise ValueError("candles: 'time' must be strictly increasing (sorted, no duplicate candles)")
        for name, array in arrays.items():
            # TA-Lib needs C-contiguous float64 buffers; read-only makes sharing safe.
            array = np.ascontiguousarray(array)
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Candles are immutable")

    # -- constructors --------------------------------------------------------------------------

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> Candles:
        """Build from rows ``(timestamp_ms, open, high, low, close, volume)`` or mappings with those keys.

        Values may be ints, floats, ``Decimal`` or numeric strings (as in a CSV or a ccxt OHLCV list).
        """
        columns: list[list[float]] = [[] for _ in CSV_HEADER]
        for row in rows:
            values = [row[key] for key in CSV_HEADER] if isinstance(row, Mapping) else list(row)
            if len(values) < 6:
                raise ValueError(f"candles: a row needs 6 values {CSV_HEADER}, got {values!r}")
            columns[0].append(int(values[0]))
            for column, value in zip(columns[1:], values[1:6], strict=True):
                column.append(float(value))
        return cls(*columns)

    @classmethod
    def from_csv(cls, path: str | PathLike[str]) -> Candles:
        """Read a CSV whose header names ``timestamp_ms,open,high,low,close,volume`` (any column order)."""
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            missing = set(CSV_HEADER) - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{path}: CSV header lacks {sorted(missing)}; expected {','.join(CSV_HEADER)}")
            return cls.from_rows(reader)

    # -- container protocol --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.time)

    @overload
    def __getitem__(self, key: int) -> Candle: ...

    @overload
    def __getitem__(self, key: slice) -> Candles: ...

    def __getitem__(self, key: int | slice) -> Candle | Candles:
        """``candles[i]`` is a ``Candle``; ``candles[a:b]`` is a ``Candles`` sharing memory (no copy for step 1)."""
        if isinstance(key, slice):
            if key.step not in (None, 1):
                return Candles(*(getattr(self, name)[key] for name in self.__slots__))
            # A contiguous slice of validated, read-only arrays is valid as it is: skip the checks, since
            # per-candle backtests slice once per candle and re-validating would make them quadratic.
            part = object.__new__(Candles)
            for name in self.__slots__:
                object.__setattr__(part, name, getattr(self, name)[key])
            return part
        index = int(key)
        return Candle(
            int(self.time[index]),
            float(self.open[index]),
            float(self.high[index]),
            float(self.low[index]),
            float(self.close[index]),
            float(self.volume[index]),
        )

    def head(self, length: int) -> Candles:
        """The first ``length`` candles as fresh copies: unlike ``candles[:length]`` (a view whose ``base`` is the
        whole series), nothing in the result leads to a later candle."""
        part = object.__new__(Candles)
        for name in self.__slots__:
            column = np.array(getattr(self, name)[: max(int(length), 0)], copy=True)
            column.setflags(write=False)
            object.__setattr__(part, name, column)
        return part

    def __iter__(self) -> Iterator[Candle]:
        for index in range(len(self)):
            yield self[index]

    def __repr__(self) -> str:
        if not len(self):
            return "Candles(0 candles)"
        return f"Candles({len(self)} candles, time {int(self.time[0])}..{int(self.time[-1])} ms)"

    # -- helpers -------------------------------------------------------------------------------

    @property
    def timeframe_ms(self) -> int | None:
        """The usual spacing of candles in ms (the median gap, so a few missing candles do not change it).

        ``None`` when there are fewer than two candles.
        """
        if len(self) < 2:
            return None
        return int(np.median(np.diff(self.time)))

    def to_rows(self) -> list[tuple[float, ...]]:
        """Rows ``(timestamp_ms, open, high, low, close, volume)`` with Python numbers."""
        return [tuple(candle) for candle in self]
