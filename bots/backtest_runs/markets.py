"""The markets a user can backtest on: the candle files shipped in data/candles (see data/README.md).

A file of the candle catalogue (core.candle_files) under data/candles is one market and timeframe; the list is
read from the folder once per process (the files ship with the code and do not change while it runs).
"""

import functools
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from accounts.models import Exchange
from core.candle_files import candle_files
from core.sdk import Candles


@dataclass(frozen=True)
class BacktestMarket:
    exchange: str  # an accounts.models.Exchange value, "BINANCE"
    symbol: str  # "BTC/USDT"
    timeframe: str  # "1h"
    path: Path
    candle_count: int  # rows in the file

    @property
    def key(self) -> str:
        """The form value and the stored identity: "BINANCE:BTC/USDT:1h"."""
        return f"{self.exchange}:{self.symbol}:{self.timeframe}"

    @property
    def label(self) -> str:
        exchange = Exchange(self.exchange).label if self.exchange in Exchange.values else self.exchange.title()
        return f"{exchange} {self.symbol}, {self.timeframe} ({self.candle_count} candles)"


def _candles_dir() -> Path:
    return Path(settings.BASE_DIR) / "data" / "candles"


@functools.cache
def _markets(folder: Path) -> tuple[BacktestMarket, ...]:
    found = []
    for file in candle_files(folder):
        with file.path.open("rb") as rows:
            count = sum(1 for _ in rows) - 1  # the header
        found.append(BacktestMarket(file.exchange, file.symbol, file.timeframe, file.path, count))
    return tuple(found)


def backtest_markets() -> tuple[BacktestMarket, ...]:
    """Every shipped market, by exchange folder and file name."""
    return _markets(_candles_dir())


def backtest_market_get(key: str) -> BacktestMarket | None:
    """The market with this `key` ("BINANCE:BTC/USDT:1h"), or None."""
    return next((market for market in backtest_markets() if market.key == key), None)


def backtest_market_for(*, exchange: str, symbol: str, timeframe: str) -> BacktestMarket | None:
    return backtest_market_get(f"{exchange}:{symbol}:{timeframe}")


def market_candles(market: BacktestMarket, candle_count: int) -> Candles:
    """The last `candle_count` candles of the market's file, oldest first."""
    return Candles.from_csv(market.path)[-candle_count:]
