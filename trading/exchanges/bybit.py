"""Bybit v5 spot (unified account): its order lookup by our client id goes through the order lists."""

import ccxt

from accounts.models import Exchange
from trading.exchanges.base import ExchangeAdapter


class BybitAdapter(ExchangeAdapter):
    exchange_code = Exchange.BYBIT
    client_order_id_param = "orderLinkId"
    lookup_param = "orderLinkId"

    def _fetch_by_client_id(self, symbol: str, client_order_id: str) -> dict:
        # ccxt 4.5's bybit.fetch_order(None, ...) sends "orderId=None" and wants params["acknowledged"]: ask
        # GET /v5/order/realtime by orderLinkId instead (it lists the order whatever its status while it is among the
        # account's last 500), then GET /v5/order/history for an older one.
        params = {self.lookup_param: client_order_id}
        for fetch in (self.client.fetch_open_orders, self.client.fetch_closed_orders):
            found = fetch(symbol, None, None, params)
            if found:
                return found[0]
        raise ccxt.OrderNotFound(f"bybit has no order {client_order_id}")
