"""Kraken spot: mainnet only (ccxt knows no sandbox); nothing beyond the base adapter but its parameter names."""

from accounts.models import Exchange
from trading.exchanges.base import ExchangeAdapter


class KrakenAdapter(ExchangeAdapter):
    exchange_code = Exchange.KRAKEN
    client_order_id_param = "cl_ord_id"
    lookup_param = "cl_ord_id"
