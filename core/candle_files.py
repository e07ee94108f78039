"""The catalogue of candle files: which (exchange, pair, timeframe) has a file in a data directory, and its name.

Layout: `<data dir>/<exchange, lower case>/<BASE>_<QUOTE>-<timeframe>.csv` (data/README.md has the CSV format and
the shipped files). Every reader (backtest markets, market-data replay, the subscribe form's markets, the bot page's
backtest, upload validation) names and finds files through here, so they all agree on what a market is. The data
directory is an argument: this module knows no settings.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from core.timeframes import TIMEFRAME_SECONDS

FILE_NAME = re.compile(r"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)-(?P<timeframe>\d+[mhdw])\.csv$")


@dataclass(frozen=True)
class CandleFile:
    exchange: str  # the exchange's code in capitals, "BINANCE" (its folder is the lower case)
    symbol: str  # "BTC/USDT"
    timeframe: str  # "1h"
    path: Path


def candle_file_name(symbol: str, timeframe: str) -> str:
    """The file name of a market and timeframe: "BTC/USDT", "1h" -> "BTC_USDT-1h.csv"."""
    base, quote = symbol.split("/")
    return f"{base}_{quote}-{timeframe}.csv"


def candle_file_path(data_dir: Path | str, exchange: str, symbol: str, timeframe: str) -> Path:
    """Where the file of this market and timeframe is (or would be) under `data_dir`."""
    return Path(data_dir) / exchange.lower() / candle_file_name(symbol, timeframe)


def candle_file_parse(name: str) -> tuple[str, str] | None:
    """(symbol, timeframe) of a candle file's name ("BTC_USDT-1h.csv" -> ("BTC/USDT", "1h")); None for any other
    file, and for a timeframe the platform does not run (core.timeframes)."""
    match = FILE_NAME.match(name)
    if match is None or match["timeframe"] not in TIMEFRAME_SECONDS:
        return None
    return f"{match['base']}/{match['quote']}", match["timeframe"]


def candle_files(data_dir: Path | str, exchange: str | None = None) -> list[CandleFile]:
    """The candle files under `data_dir` (of one exchange, or of all), by exchange folder then file name; [] when
    the folder does not exist. Other files are ignored."""
    folder = Path(data_dir)
    paths = (folder / exchange.lower()).glob("*.csv") if exchange else folder.glob("*/*.csv")
    found = []
    for path in sorted(paths):
        parsed = candle_file_parse(path.name)
        if parsed is not None:
            found.append(CandleFile(path.parent.name.upper(), *parsed, path))
    return found
