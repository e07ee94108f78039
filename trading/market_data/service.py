"""`closed_candles()`: one fetch per (exchange, symbol, timeframe, candle, window), shared through the cache."""

import time
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache

from core import timeframes
from core.fill_model import to_decimal
from core.sdk import Candles
from trading.exceptions import MarketDataUnavailable, StaleMarketData
from trading.market_data.base import CandleWindow, MarketDataSource

# Windows are fetched in multiples of this, so subscriptions whose bots need 50 or 300 candles share one fetch.
WINDOW_BUCKET = 250
CACHE_SECONDS = 60 * 60
LOCK_SECONDS = 30


@lru_cache(maxsize=4)
def _source(name: str, replay_dir: str, loop: bool) -> MarketDataSource:
    if name == "replay":
        from trading.market_data.replay import ReplaySource

        return ReplaySource(replay_dir, loop=loop)
    if name == "ccxt":
        from trading.market_data.ccxt_source import CcxtSource

        return CcxtSource()
    raise MarketDataUnavailable(f"Unknown MARKET_DATA_SOURCE {name!r}.")


def market_data_source() -> MarketDataSource:
    return _source(settings.MARKET_DATA_SOURCE, str(settings.MARKET_DATA_REPLAY_DIR), settings.MARKET_DATA_REPLAY_LOOP)


def _window_size(count: int) -> int:
    return max(WINDOW_BUCKET, -(-count // WINDOW_BUCKET) * WINDOW_BUCKET)


def _fetch_shared(exchange: str, symbol: str, timeframe: str, close_ms: int, size: int) -> dict:
    """The rows for this candle and window: from the cache, or fetched by exactly one process and cached."""
    key = f"ohlcv:{market_data_source().name}:{exchange}:{symbol}:{timeframe}:{close_ms}:{size}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    lock = f"{key}:lock"
    deadline = time.monotonic() + LOCK_SECONDS
    # cache.add is atomic (SET NX on Redis): whoever adds the lock fetches; the others wait for its result.
    while not cache.add(lock, 1, timeout=LOCK_SECONDS):
        time.sleep(0.05)
        cached = cache.get(key)
        if cached is not None:
            return cached
        if time.monotonic() > deadline:
            break  # the fetching process died holding the lock: fetch ourselves
    try:
        step_ms = timeframes.seconds(timeframe) * 1000
        rows = market_data_source().fetch_rows(
            exchange, symbol, timeframe, since_ms=close_ms - size * step_ms, until_ms=close_ms
        )
        payload = {"rows": rows}
        cache.set(key, payload, timeout=CACHE_SECONDS)
        return payload
    finally:
        cache.delete(lock)


def closed_candles(
    exchange: str, symbol: str, timeframe: str, *, close_at: datetime, count: int, now: datetime | None = None
) -> CandleWindow:
    """The `count` newest candles closed at or before `close_at`, and the open of the candle after them.

    Raises MarketDataUnavailable when there are none or fewer than `count`, and StaleMarketData when the newest
    closed candle is more than two timeframes older than `now` (default: `close_at`): acting on it would trade on
    yesterday's news.
    """
    close_ms = timeframes.to_ms(close_at)
    step_ms = timeframes.seconds(timeframe) * 1000
    payload = _fetch_shared(exchange, symbol, timeframe, close_ms, _window_size(count + 1))
    closed = [row for row in payload["rows"] if row[0] + step_ms <= close_ms]
    in_progress = [row for row in payload["rows"] if row[0] == close_ms]
    if not closed:
        raise MarketDataUnavailable(
            f"No closed {timeframe} candles for {exchange} {symbol} before {close_at:%Y-%m-%d %H:%M} UTC."
        )
    newest_close_ms = closed[-1][0] + step_ms
    reference_ms = timeframes.to_ms(now) if now is not None else close_ms
    if reference_ms - newest_close_ms > 2 * step_ms:
        raise StaleMarketData(
            f"The newest closed {timeframe} candle for {symbol} closed at "
            f"{timeframes.from_ms(newest_close_ms):%Y-%m-%d %H:%M} UTC, more than two candles ago; nothing was placed."
        )
    if len(closed) < count:
        raise MarketDataUnavailable(
            f"Only {len(closed)} closed candles for {symbol} {timeframe}; the bot needs {count}."
        )
    closed = closed[-count:]
    next_open: Decimal | None = to_decimal(in_progress[0][1]) if in_progress else None
    return CandleWindow(candles=Candles.from_rows(closed), close_at=close_at, next_open=next_open)
