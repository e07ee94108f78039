"""The adapter class of each exchange the platform trades on: adding an exchange means copying a sibling module and
listing its class here."""

from trading.exceptions import ExchangeNotSupported
from trading.exchanges.base import ExchangeAdapter
from trading.exchanges.binance import BinanceAdapter
from trading.exchanges.bybit import BybitAdapter
from trading.exchanges.coinbase import CoinbaseAdapter
from trading.exchanges.htx import HtxAdapter
from trading.exchanges.kraken import KrakenAdapter

ADAPTERS: dict[str, type[ExchangeAdapter]] = {
    adapter.exchange_code: adapter
    for adapter in (BinanceAdapter, BybitAdapter, CoinbaseAdapter, KrakenAdapter, HtxAdapter)
}


def adapter_class(exchange_code: str) -> type[ExchangeAdapter]:
    """The adapter for `exchange_code` (an accounts.models.Exchange code). Raises ExchangeNotSupported."""
    try:
        return ADAPTERS[exchange_code]
    except KeyError:
        raise ExchangeNotSupported(f"Exchange {exchange_code!r} is not supported.") from None
