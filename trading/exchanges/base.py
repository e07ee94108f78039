"""What the engine needs from an exchange (market rules, balances, orders by our client id) and the adapter that
does it over ccxt: every call inside the shared rate-limit budget, ccxt errors turned into the engine's domain errors.
One subclass per exchange (`binance.py`, `bybit.py`, ...) declares what differs as data (its client-order-id
parameters, its capabilities) and overrides only the calls that differ; `registry.adapter_class` finds it.

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

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

import ccxt

from accounts.services import ClearCredentials
from core.fill_model import to_decimal
from trading import ratelimit
from trading.exceptions import CredentialInvalid, OrderOutcomeUnknown, OrderRejected, TradingError
from trading.exchanges.ccxt_factory import make_exchange

AUTH_ERRORS = (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended)
REJECTIONS = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest, ccxt.BadSymbol, ccxt.OperationRejected)


class TransientExchangeError(TradingError):
    """The exchange could not be reached or asked us to slow down: try again later."""


@dataclass(frozen=True)
class MarketRules:
    """A spot market's trading rules: amounts are rounded down to `amount_step`; an order must reach the minimums."""

    symbol: str
    base: str
    quote: str
    amount_step: Decimal | None
    min_amount: Decimal | None
    min_notional: Decimal | None
    taker_fee_rate: Decimal
    price_step: Decimal | None = None  # the tick: limit and stop prices are rounded to it


@dataclass(frozen=True)
class OrderResult:
    """An order as the exchange reports it. Fees are split by the currency they were charged in."""

    exchange_order_id: str
    client_order_id: str | None
    status: str  # ccxt's: open, closed, canceled, expired, rejected
    filled: Decimal
    average_price: Decimal | None
    fee_base: Decimal = Decimal(0)
    fee_quote: Decimal = Decimal(0)
    exchange_trade_id: str | None = None
    requested: Decimal | None = None  # the order's amount (base), when the exchange says
    filled_at_ms: int | None = None  # when it last traded, when the exchange says

    @property
    def is_final(self) -> bool:
        return self.status in ("closed", "canceled", "expired", "rejected")


def _decimal(value) -> Decimal | None:
    return None if value is None else to_decimal(value)


class ExchangeAdapter:
    """One exchange, through one ccxt client (shared by the runs of a worker process: `clients.adapter_for`).

    An adapter lives for one run or one check: it remembers the free balances it read until it sends or cancels an
    order, so a run reads them once per state of the account rather than at every step that needs them."""

    exchange_code: ClassVar[str]
    # The parameter the exchange's API takes our client order id in (ccxt passes it through unchanged) ...
    client_order_id_param: ClassVar[str]
    # ... and the one its order lookup and cancel take.
    lookup_param: ClassVar[str]
    # Whether our client order ids must be UUIDs (orders.client_order_id then sends the UUIDv5 of the same text).
    uuid_client_order_ids: ClassVar[bool] = False
    # How the exchange holds a position's stop loss and take profit itself, between runs: "oco" (one order list, a
    # take-profit limit above the market and a stop-market below it; either filling cancels the other); None: the
    # engine's per-run check against each closed candle guards the position (docs/engine.md).
    protective_orders: ClassVar[str | None] = None

    def __init__(self, client: ccxt.Exchange, *, testnet: bool, key_id: str | None = None) -> None:
        self.client = client
        self.testnet = testnet
        self.key_id = key_id
        self._free: dict[str, Decimal] | None = None

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
        """The market's rules as the exchange states them now: the client outlives a run, so they are read again
        (reload) rather than taken from what it loaded for an earlier one."""
        markets = self._call("load_markets", True)
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
        """Free balance per asset: read from the exchange once, then again only after this adapter sent or
        cancelled an order (which changes them)."""
        if self._free is None:
            balance = self._call("fetch_balance")
            self._free = {asset: to_decimal(amount or 0) for asset, amount in (balance.get("free") or {}).items()}
        return dict(self._free)

    def can_withdraw(self) -> bool | None:
        """Whether the key may withdraw funds, where the exchange says; None where it does not."""
        return None

    # --- orders -----------------------------------------------------------------------------------------------

    def create_order(
        self, symbol: str, order_type: str, side: str, amount: Decimal, price: Decimal | None, client_order_id: str
    ) -> OrderResult:
        """Send a `market` or `limit` (good till cancelled) order under our client id. Raises OrderOutcomeUnknown
        when it may or may not exist, OrderRejected, CredentialInvalid."""
        params = {self.client_order_id_param: client_order_id}
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
        # Whatever the outcome, the balances may have moved.
        self._free = None
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
        """Place a long position's exits on the exchange, where it holds them (`protective_orders`). Read the legs
        back with find_order. Raises OrderOutcomeUnknown, OrderRejected, CredentialInvalid."""
        raise OrderRejected(f"{self.exchange_code} does not hold protective orders for the engine.")

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Cancel the open order with our client id. Returns it as cancelled (with what it filled before), or None
        when the exchange has no *open* order by that id (it filled, was cancelled, or never existed: look it up).
        Raises TransientExchangeError when the outcome is unknown: the caller looks the order up later."""
        params = {self.lookup_param: client_order_id}
        ratelimit.acquire(self.exchange_code, self.key_id)
        self._free = None
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
        return self.client.fetch_order(None, symbol, {self.lookup_param: client_order_id})

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


def make_client(
    exchange_code: str, credentials: ClearCredentials | None, *, testnet: bool, timeout_ms: int
) -> ccxt.Exchange:
    """A ccxt client signed with `credentials` (None: public calls only)."""
    return make_exchange(
        exchange_code,
        api_key=credentials.api_key if credentials else None,
        secret=credentials.secret if credentials else None,
        passphrase=credentials.passphrase if credentials else None,
        testnet=testnet,
        timeout_ms=timeout_ms,
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
