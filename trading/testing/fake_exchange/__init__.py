"""A fake Binance spot exchange (HTTP, 127.0.0.1) for tests that drive the real ``ccxt.binance`` class.

Public API: :class:`FakeBinance` (the server), :func:`make_binance_client` (ccxt pointed at it),
:class:`MarketSpec` (a symbol and its filters). See README.md in this folder.
"""

from .client import SPOT_ONLY_OPTIONS, make_binance_client
from .faults import KINDS as FAULT_KINDS
from .markets import MarketSpec, default_markets
from .server import PROJECT_CANDLE_DIR, FakeBinance, RequestRecord

__all__ = [
    "FAULT_KINDS",
    "PROJECT_CANDLE_DIR",
    "SPOT_ONLY_OPTIONS",
    "FakeBinance",
    "MarketSpec",
    "RequestRecord",
    "default_markets",
    "make_binance_client",
]
