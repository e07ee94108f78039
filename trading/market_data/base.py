"""The candle window the engine acts on, and the interface of a market-data source."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.sdk import Candles

# One row: [open time in epoch ms, open, high, low, close, volume].
Row = list


@dataclass(frozen=True)
class CandleWindow:
    """Closed candles (oldest first) up to the candle that closed at `close_at`, and what opened after it.

    `next_open` is the open price of the candle in progress (the one that opened at `close_at`): paper fills and
    backtests fill a decision at it. None when the source does not have it yet.
    """

    candles: Candles
    close_at: datetime
    next_open: Decimal | None


class MarketDataSource:
    """Fetches raw OHLCV rows. Implementations: ccxt (network) and replay (CSV files)."""

    name = "base"

    def fetch_rows(self, exchange: str, symbol: str, timeframe: str, *, since_ms: int, until_ms: int) -> list[Row]:
        """Rows whose open time is in [since_ms, until_ms] (inclusive), oldest first; the last may be in progress."""
        raise NotImplementedError
