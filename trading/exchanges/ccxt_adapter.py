"""The exchange adapter over ccxt: every call inside the shared rate-limit budget, ccxt errors turned into the
engine's domain errors.

Error classes (ccxt 4.5), and what the engine does with them:
- AuthenticationError, PermissionDenied, AccountSuspended -> CredentialInvalid: the key is marked invalid and the
  subscription stops with the reason.
- InsufficientFunds, InvalidOrder, BadRequest, BadSymbol, OperationRejected -> OrderRejected: logged on the
  subscription, others unaffected. (OrderNotFound is an InvalidOrder: it is caught first where it means "no such
  order".)
- NetworkError (RequestTimeout, ExchangeNotAvailable, DDoSProtection = HTTP 429, RateLimitExceeded) on order
  creation -> OrderOutcomeUnknown: the order may exist; it is looked up by client id, never resent blindly. On reads
  -> TransientExchangeError, retried with backoff.
"""

from decimal import Decimal

import ccxt

from accounts.models import Exchange
from accounts.services import ClearCredentials
from core.fill_model import to_decimal
from trading import ratelimit
from trading.engine.orders import CLIENT_ORDER_ID_PARAM, LOOKUP_PARAM, PROTECTIVE_ORDERS
from trading.exceptions import CredentialInvalid, OrderOutcomeUnknown, OrderRejected, TradingError
from trading.exchanges.base import MarketRules, OrderResult
from trading.exchanges.ccxt_factory import make_exchange

AUTH_ERRORS = (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended)
REJECTIONS = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest, ccxt.BadSymbol, ccxt.OperationRejected)


class TransientExchangeError(TradingError):
    """The exchange could not be reached or asked us to slow down: try again later."""


def _decimal(value) -> Decimal | None:
    return None if value is None else to_decimal(value)


class CcxtAdapter:
    def __init__(
        self,
        exchange_code: str,
        credentials: ClearCredentials | None,
        *,
        testnet: bool,
        key_id: str | None = None,
        timeout_ms: int = 10_000,
    ) -> None:
        self.exchange_code = exchange_code
        self.key_id = key_id
        self.testnet = testnet
        self.client = make_exchange(
            exchange_code,
            api_key=credentials.api_key if credentials else None,
            secret=credentials.secret if credentials else None,
            passphrase=credentials.passphrase if credentials else None,
            testnet=testnet,
            timeout_ms=timeout_ms,
        )

    def _call(self, method: str, *args, **kwargs):
        """A read: errors become CredentialInvalid, OrderRejected or TransientExchangeError."""
        ratelimit.acquire(self.exchange_code, self.key_id)
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except AUTH_ERRORS as exc:
            raise CredentialInvalid(f"The exchange refused the API key ({type(exc).__name__}).") from None
        except ccxt.NetworkError as exc:
            raise TransientExchangeError(f"{self.exchange_code} did not answer: {type(exc).__name__}.") from None
        except REJECTIONS as exc:
            raise OrderRejected(_short(exc)) from None

    # --- markets and balances ---------------------------------------------------------------------------------

    def market_rules(self, symbol: str) -> MarketRules:
        markets = self._call("load_markets")
        if symbol not in markets:
            raise OrderRejected(f"{symbol} is not traded on {self.exchange_code}.")
        market = markets[symbol]
        limits = market.get("limits") or {}
        return MarketRules(
            symbol=symbol,
            base=market["base"],
            quote=market["quote"],
            amount_step=_decimal((market.get("precision") or {}).get("amount")),
            min_amount=_decimal((limits.get("amount") or {}).get("min")),
            min_notional=_decimal((limits.get("cost") or {}).get("min")),
            taker_fee_rate=_decimal(market.get("taker")) or Decimal("0.001"),
            price_step=_decimal((market.get("precision") or {}).get("price")),
        )

    def free_balances(self) -> dict[str, Decimal]:
        balance = self._call("fetch_balance")
        return {asset: to_decimal(amount or 0) for asset, amount in (balance.get("free") or {}).items()}

    def can_withdraw(self) -> bool | None:
        """Whether the key may withdraw funds, where the exchange says (Binance); None where it does not."""
        # Binance's spot testnet serves no /sapi endpoints (ccxt has no sandbox URL for them), and a testnet key
        # cannot move real money: only mainnet keys are asked.
        if self.exchange_code != "BINANCE" or self.testnet:
            return None
        restrictions = self._call("sapi_get_account_apirestrictions")
        return bool(restrictions.get("enableWithdrawals"))

    # --- orders -----------------------------------------------------------------------------------------------

    def create_order(
        self, symbol: str, order_type: str, side: str, amount: Decimal, price: Decimal | None, client_order_id: str
    ) -> OrderResult:
        """Send a `market` or `limit` (good till cancelled) order under our client id. Raises OrderOutcomeUnknown
        when it may or may not exist, OrderRejected, CredentialInvalid."""
        params = {CLIENT_ORDER_ID_PARAM[self.exchange_code]: client_order_id}
        if order_type == "limit":
            params["timeInForce"] = "GTC"
        return self._create(
            symbol,
            lambda: self.client.create_order(symbol, order_type, side.lower(), float(amount), _f(price), params),
            client_order_id=client_order_id,
        )

    def _create(
        self, symbol: str, send, *, parse: bool = True, client_order_id: str | None = None
    ) -> OrderResult | None:
        """Run an order-creating call: a network error is an unknown outcome, never a reason to resend."""
        ratelimit.acquire(self.exchange_code, self.key_id)
        try:
            order = send()
        except AUTH_ERRORS as exc:
            raise CredentialInvalid(f"The exchange refused the API key ({type(exc).__name__}).") from None
        except ccxt.NetworkError as exc:
            # Timeout, 5xx, 429: the request may have reached the matching engine. Never resend: look it up.
            raise OrderOutcomeUnknown(f"{type(exc).__name__} while placing the order") from None
        except REJECTIONS as exc:
            raise OrderRejected(_short(exc)) from None
        if not parse:
            return None
        if order.get("status") is None and client_order_id:
            # An acknowledgement only (Bybit v5 answers a new order with its ids, no status or fills): read the
            # order back. If that fails the order exists but its state is unknown: the caller looks it up again.
            try:
                found = self.find_order(symbol, client_order_id)
            except TransientExchangeError:
                found = None
            if found is None:
                raise OrderOutcomeUnknown("The order was acknowledged but could not be read back")
            return found
        return self._result(symbol, order)

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
        """Place a long position's exits on the exchange: both as one OCO (Binance `POST /api/v3/orderList/oco`: a
        LIMIT_MAKER above, a STOP_LOSS stop-market below; ccxt 4.5 has no unified call for it, so its signed
        implicit endpoint is used), or the one that is set: a STOP_LOSS (ccxt `stopLossPrice`) or a GTC limit sell.
        Read the legs back with find_order. Raises OrderOutcomeUnknown, OrderRejected, CredentialInvalid."""
        if self.exchange_code not in PROTECTIVE_ORDERS:
            raise OrderRejected(f"{self.exchange_code} does not hold protective orders for the engine.")
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
            params = {CLIENT_ORDER_ID_PARAM[self.exchange_code]: stop_client_id, "stopLossPrice": float(stop_price)}
            self._create(
                symbol, lambda: self.client.create_order(symbol, "market", "sell", float(amount), None, params)
            )
        elif take_profit_price is not None:
            self.create_order(symbol, "limit", "SELL", amount, take_profit_price, take_profit_client_id)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Cancel the open order with our client id. Returns it as cancelled (with what it filled before), or None
        when the exchange has no *open* order by that id (it filled, was cancelled, or never existed: look it up).
        Raises TransientExchangeError when the outcome is unknown: the caller looks the order up later."""
        params = {LOOKUP_PARAM[self.exchange_code]: client_order_id}
        ratelimit.acquire(self.exchange_code, self.key_id)
        try:
            order = self.client.cancel_order(None, symbol, params)
        except ccxt.OrderNotFound:
            return None
        except AUTH_ERRORS as exc:
            raise CredentialInvalid(f"The exchange refused the API key ({type(exc).__name__}).") from None
        except ccxt.NetworkError as exc:
            raise TransientExchangeError(f"{type(exc).__name__} while cancelling the order") from None
        except REJECTIONS as exc:
            raise OrderRejected(_short(exc)) from None
        # A cancel reply may not carry everything (Binance's has no fees): read the order as it now stands.
        return self.find_order(symbol, client_order_id) or self._result(symbol, order)

    def find_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """The order with our client id, or None when the exchange has none. Raises TransientExchangeError."""
        ratelimit.acquire(self.exchange_code, self.key_id)
        try:
            order = self._fetch_by_client_id(symbol, client_order_id)
        except ccxt.OrderNotFound:
            return None
        except AUTH_ERRORS as exc:
            raise CredentialInvalid(f"The exchange refused the API key ({type(exc).__name__}).") from None
        except ccxt.NetworkError as exc:
            raise TransientExchangeError(f"{type(exc).__name__} while looking the order up") from None
        return self._result(symbol, order)

    def _fetch_by_client_id(self, symbol: str, client_order_id: str) -> dict:
        """ccxt's order by our client id; raises ccxt.OrderNotFound."""
        params = {LOOKUP_PARAM[self.exchange_code]: client_order_id}
        if self.exchange_code == Exchange.BYBIT:
            # ccxt 4.5's bybit.fetch_order(None, ...) sends "orderId=None" and wants params["acknowledged"]: ask
            # GET /v5/order/realtime by orderLinkId instead (it lists the order whatever its status while it is among
            # the account's last 500), then GET /v5/order/history for an older one.
            for fetch in (self.client.fetch_open_orders, self.client.fetch_closed_orders):
                found = fetch(symbol, None, None, params)
                if found:
                    return found[0]
            raise ccxt.OrderNotFound(f"bybit has no order {client_order_id}")
        return self.client.fetch_order(None, symbol, params)

    def _result(self, symbol: str, order: dict) -> OrderResult:
        base, quote = symbol.split("/")
        fee_base, fee_quote, trade_id = Decimal(0), Decimal(0), None
        fees = order.get("fees") or ([order["fee"]] if order.get("fee") else [])
        if not any(f and f.get("cost") is not None for f in fees) and to_decimal(order.get("filled") or 0) > 0:
            # Binance's order endpoints carry no fees: they are on the order's trades.
            trades = self._call("fetch_my_trades", symbol, None, None, {"orderId": order["id"]})
            fees = [trade.get("fee") for trade in trades]
            trade_id = trades[-1]["id"] if trades else None
        for fee in fees:
            if not fee or fee.get("cost") is None:
                continue
            if fee.get("currency") == base:
                fee_base += to_decimal(fee["cost"])
            elif fee.get("currency") == quote:
                fee_quote += to_decimal(fee["cost"])
        return OrderResult(
            exchange_order_id=str(order["id"]),
            client_order_id=order.get("clientOrderId"),
            status=order.get("status") or "open",
            filled=to_decimal(order.get("filled") or 0),
            average_price=_decimal(order.get("average") or order.get("price")),
            fee_base=fee_base,
            fee_quote=fee_quote,
            exchange_trade_id=str(trade_id) if trade_id is not None else None,
            requested=_decimal(order.get("amount")),
            filled_at_ms=order.get("lastTradeTimestamp") or order.get("lastUpdateTimestamp") or order.get("timestamp"),
        )


def _f(value: Decimal | None) -> float | None:
    # ccxt takes floats and formats them to the market's precision itself; Decimal stays the engine's money type.
    return None if value is None else float(value)


def _short(exc: Exception) -> str:
    """The exchange's message without the request it quotes (ccxt prefixes the exchange id and may add a URL)."""
    text = str(exc)
    for marker in ('{"code"', "{'code'"):
        if marker in text:
            text = text[text.index(marker) :]
            break
    return f"{type(exc).__name__}: {text[:300]}"
