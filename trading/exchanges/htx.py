"""HTX (formerly Huobi) spot: mainnet only (ccxt knows no sandbox); nothing beyond the base adapter but its
parameter names."""

from accounts.models import Exchange
from trading.exchanges.base import ExchangeAdapter


class HtxAdapter(ExchangeAdapter):
    exchange_code = Exchange.HUOBI
    client_order_id_param = "client-order-id"
    lookup_param = "client-order-id"
