"""Replay of candle files, so the whole engine runs with no network (demo, tests, development).

Layout: the candle catalogue's (core.candle_files), `<folder>/<exchange, lower case>/<BASE>_<QUOTE>-<timeframe>.csv`
with the header
`timestamp_ms,open,high,low,close,volume` (the format of data/candles/). With `loop=True` the file repeats forever:
wall-clock time is mapped onto the file modulo its length, so a demo started today trades on 2021's candles with
today's timestamps. Without it, only times inside the file have candles.
"""

import csv
from functools import lru_cache
from pathlib import Path

from core import timeframes
from core.candle_files import candle_file_path
from trading.exceptions import MarketDataUnavailable
from trading.market_data.base import MarketDataSource, Row


@lru_cache(maxsize=64)
def _load(path: Path) -> tuple[dict[int, Row], int, int]:
    """The file's rows by open time, its first open time and its span (rows × timeframe is not assumed)."""
    rows: dict[int, Row] = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)  # header
        for record in reader:
            if record:
                rows[int(record[0])] = [int(record[0]), *(float(value) for value in record[1:6])]
    if not rows:
        raise MarketDataUnavailable(f"{path.name} has no candles.")
    first, last = min(rows), max(rows)
    return rows, first, last


class ReplaySource(MarketDataSource):
    name = "replay"

    def __init__(self, folder: Path | str, *, loop: bool = False) -> None:
        self.folder = Path(folder)
        self.loop = loop

    def path_for(self, exchange: str, symbol: str, timeframe: str) -> Path:
        return candle_file_path(self.folder, exchange, symbol, timeframe)

    def fetch_rows(self, exchange: str, symbol: str, timeframe: str, *, since_ms: int, until_ms: int) -> list[Row]:
        path = self.path_for(exchange, symbol, timeframe)
        if not path.exists():
            raise MarketDataUnavailable(f"No replay candles for {exchange} {symbol} {timeframe} ({path.name}).")
        rows, first, last = _load(path)
        step_ms = timeframes.seconds(timeframe) * 1000
        span_ms = last - first + step_ms
        wanted = range(since_ms - since_ms % step_ms, until_ms + 1, step_ms)
        result = []
        for open_ms in wanted:
            source_ms = first + (open_ms - first) % span_ms if self.loop else open_ms
            row = rows.get(source_ms)
            if row is not None:  # a gap in the file stays a gap
                result.append([open_ms, *row[1:]])
        return result
