"""OHLCV through ccxt's public endpoints (no key), within the shared per-exchange rate-limit budget."""

import threading

import ccxt

from trading import ratelimit
from trading.exceptions import MarketDataUnavailable
from trading.exchanges.ccxt_factory import make_exchange
from trading.market_data.base import MarketDataSource, Row

_local = threading.local()


def _public_exchange(exchange: str) -> ccxt.Exchange:
    # One public instance per exchange per thread: ccxt objects keep per-instance state (markets, throttle).
    cache = getattr(_local, "exchanges", None)
    if cache is None:
        cache = _local.exchanges = {}
    if exchange not in cache:
        cache[exchange] = make_exchange(exchange)
    return cache[exchange]


class CcxtSource(MarketDataSource):
    name = "ccxt"
    page_limit = 1000

    def fetch_rows(self, exchange: str, symbol: str, timeframe: str, *, since_ms: int, until_ms: int) -> list[Row]:
        client = _public_exchange(exchange)
        rows: list[Row] = []
        cursor = since_ms
        while cursor <= until_ms:
            ratelimit.acquire(exchange)
            try:
                page = client.fetch_ohlcv(symbol, timeframe, since=cursor, limit=self.page_limit)
            except ccxt.BadSymbol:
                raise MarketDataUnavailable(f"{symbol} is not traded on {exchange}.") from None
            except ccxt.NetworkError as exc:
                raise MarketDataUnavailable(f"{exchange} did not answer for candles: {type(exc).__name__}.") from exc
            page = [row for row in page if cursor <= row[0] <= until_ms]
            if not page:
                break
            rows.extend(page)
            cursor = page[-1][0] + 1
        return rows
