"""Fake Binance and Bybit spot exchanges (HTTP, 127.0.0.1) for tests that drive the real ``ccxt.binance`` and
``ccxt.bybit`` classes, on one shared core (books, candles, fills, faults).

Public API: :class:`FakeBinance` / :class:`FakeBybit` (the servers), :func:`make_binance_client` /
:func:`make_bybit_client` (ccxt pointed at them), :class:`MarketSpec` (a symbol and its filters). See README.md.
"""

from .client import SPOT_ONLY_OPTIONS, make_binance_client, make_bybit_client
from .faults import KINDS as FAULT_KINDS
from .markets import MarketSpec, default_markets
from .server import PROJECT_CANDLE_DIR, FakeBinance, FakeBybit, FakeExchange, RequestRecord

__all__ = [
    "FAULT_KINDS",
    "PROJECT_CANDLE_DIR",
    "SPOT_ONLY_OPTIONS",
    "FakeBinance",
    "FakeBybit",
    "FakeExchange",
    "MarketSpec",
    "RequestRecord",
    "default_markets",
    "make_binance_client",
    "make_bybit_client",
]
