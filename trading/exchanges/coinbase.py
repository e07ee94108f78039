"""Coinbase Advanced Trade: mainnet only (ccxt knows no sandbox); client order ids must be UUIDs."""

from accounts.models import Exchange
from trading.exchanges.base import ExchangeAdapter


class CoinbaseAdapter(ExchangeAdapter):
    exchange_code = Exchange.COINBASE
    client_order_id_param = "client_order_id"
    lookup_param = "client_order_id"
    uuid_client_order_ids = True
