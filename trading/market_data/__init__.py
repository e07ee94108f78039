"""Closed candles for the engine, from ccxt or from replayed CSV files, fetched once per candle and shared.

`closed_candles()` is the only entry point the engine uses. Its result for one (exchange, symbol, timeframe,
candle close, window) is cached (settings.CACHES, Redis in production) so every subscription that needs the same
market in the same minute shares one request, whichever worker runs it.
"""

from trading.market_data.base import CandleWindow
from trading.market_data.service import closed_candles, market_data_source

__all__ = ["CandleWindow", "closed_candles", "market_data_source"]
