"""Binance spot: the one exchange that holds protective orders for the engine (one OCO), and reports whether a key
may withdraw."""

from decimal import Decimal

from accounts.models import Exchange
from trading.exchanges.base import ExchangeAdapter


class BinanceAdapter(ExchangeAdapter):
    exchange_code = Exchange.BINANCE
    client_order_id_param = "newClientOrderId"
    lookup_param = "origClientOrderId"
    protective_orders = "oco"

    def can_withdraw(self) -> bool | None:
        """Whether the key may withdraw funds (mainnet); None on the testnet."""
        # Binance's spot testnet serves no /sapi endpoints (ccxt has no sandbox URL for them), and a testnet key
        # cannot move real money: only mainnet keys are asked.
        if self.testnet:
            return None
        restrictions = self._call("sapi_get_account_apirestrictions")
        return bool(restrictions.get("enableWithdrawals"))

    def create_protective_orders(
        self,
        symbol: str,
        amount: Decimal,
        *,
        stop_price: Decimal | None,
        take_profit_price: Decimal | None,
        stop_client_id: str,
        take_profit_client_id: str,
        list_client_id: str,
    ) -> None:
        """Both exits as one OCO (`POST /api/v3/orderList/oco`: a LIMIT_MAKER above, a STOP_LOSS stop-market below;
        ccxt 4.5 has no unified call for it, so its signed implicit endpoint is used), or the one that is set: a
        STOP_LOSS (ccxt `stopLossPrice`) or a GTC limit sell."""
        if not self.protective_orders:  # switched off: refused as on an exchange without them
            return super().create_protective_orders(
                symbol,
                amount,
                stop_price=stop_price,
                take_profit_price=take_profit_price,
                stop_client_id=stop_client_id,
                take_profit_client_id=take_profit_client_id,
                list_client_id=list_client_id,
            )
        if stop_price is not None and take_profit_price is not None:
            market = self.client.market(symbol)
            request = {
                "symbol": market["id"],
                "side": "SELL",
                "quantity": self.client.amount_to_precision(symbol, float(amount)),
                "aboveType": "LIMIT_MAKER",
                "abovePrice": self.client.price_to_precision(symbol, float(take_profit_price)),
                "aboveClientOrderId": take_profit_client_id,
                "belowType": "STOP_LOSS",
                "belowStopPrice": self.client.price_to_precision(symbol, float(stop_price)),
                "belowClientOrderId": stop_client_id,
                "listClientOrderId": list_client_id,
            }
            self._create(symbol, lambda: self.client.private_post_orderlist_oco(request), parse=False)
        elif stop_price is not None:
            params = {self.client_order_id_param: stop_client_id, "stopLossPrice": float(stop_price)}
            self._create(
                symbol, lambda: self.client.create_order(symbol, "market", "sell", float(amount), None, params)
            )
        elif take_profit_price is not None:
            self.create_order(symbol, "limit", "SELL", amount, take_profit_price, take_profit_client_id)
