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

from accounts.services import ClearCredentials
from trading import ratelimit
from trading.engine.orders import CLIENT_ORDER_ID_PARAM, LOOKUP_PARAM
from trading.exceptions import CredentialInvalid, OrderOutcomeUnknown, OrderRejected, TradingError
from trading.exchanges.base import MarketRules, OrderResult
from trading.exchanges.ccxt_factory import make_exchange
from trading.fill_model import to_decimal

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

    def create_market_order(self, symbol: str, side: str, amount: Decimal, client_order_id: str) -> OrderResult:
        """Send a market order under our client id. Raises OrderOutcomeUnknown when it may or may not exist."""
        params = {CLIENT_ORDER_ID_PARAM[self.exchange_code]: client_order_id}
        ratelimit.acquire(self.exchange_code, self.key_id)
        try:
            order = self.client.create_order(symbol, "market", side.lower(), float(amount), None, params)
        except AUTH_ERRORS as exc:
            raise CredentialInvalid(f"The exchange refused the API key ({type(exc).__name__}).") from None
        except ccxt.NetworkError as exc:
            # Timeout, 5xx, 429: the request may have reached the matching engine. Never resend: look it up.
            raise OrderOutcomeUnknown(f"{type(exc).__name__} while placing the order") from None
        except REJECTIONS as exc:
            raise OrderRejected(_short(exc)) from None
        return self._result(symbol, order)

    def find_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """The order with our client id, or None when the exchange has none. Raises TransientExchangeError."""
        params = {LOOKUP_PARAM[self.exchange_code]: client_order_id}
        ratelimit.acquire(self.exchange_code, self.key_id)
        try:
            order = self.client.fetch_order(None, symbol, params)
        except ccxt.OrderNotFound:
            return None
        except AUTH_ERRORS as exc:
            raise CredentialInvalid(f"The exchange refused the API key ({type(exc).__name__}).") from None
        except ccxt.NetworkError as exc:
            raise TransientExchangeError(f"{type(exc).__name__} while looking the order up") from None
        return self._result(symbol, order)

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
        )


def _short(exc: Exception) -> str:
    """The exchange's message without the request it quotes (ccxt prefixes the exchange id and may add a URL)."""
    text = str(exc)
    for marker in ('{"code"', "{'code'"):
        if marker in text:
            text = text[text.index(marker) :]
            break
    return f"{type(exc).__name__}: {text[:300]}"
