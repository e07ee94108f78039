"""The REST endpoints the fake emulates: each turns (state, account, params) into Binance's JSON reply.

``ROUTES`` maps ``(method, path)`` to ``(function, signed)``. Signed endpoints receive the authenticated
:class:`~.records.Account`; public ones receive None. Functions raise :class:`~.errors.BinanceError` to reject.
The server calls them with its lock held, so they may read and change ``state`` freely.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from . import errors
from .candles import INTERVAL_MS, Candle
from .markets import fmt
from .records import Account
from .state import ExchangeState, param_int

_DAY_MS = 86_400_000

Endpoint = Callable[[ExchangeState, Account | None, dict[str, str]], object]

# Binance's published limits (exchangeInfo.rateLimits); informative only, the fake does not enforce them.
_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


# --- public ---


def ping(state: ExchangeState, _account: Account | None, _params: dict[str, str]) -> object:
    return {}


def server_time(state: ExchangeState, _account: Account | None, _params: dict[str, str]) -> object:
    return {"serverTime": state.now_ms}


def exchange_info(state: ExchangeState, _account: Account | None, params: dict[str, str]) -> object:
    wanted: list[str] | None = None
    if params.get("symbol"):
        wanted = [params["symbol"]]
    elif params.get("symbols"):
        try:
            wanted = list(json.loads(params["symbols"]))
        except ValueError as exc:
            raise errors.illegal_chars("symbols") from exc
    if wanted is not None and any(symbol not in state.markets for symbol in wanted):
        raise errors.invalid_symbol()
    specs = [state.markets[s] for s in wanted] if wanted is not None else list(state.markets.values())
    return {
        "timezone": "UTC",
        "serverTime": state.now_ms,
        "rateLimits": _RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [spec.exchange_info() for spec in specs],
    }


def _kline(candle: Candle, now_ms: int) -> list:
    """Binance's kline row. A candle still in progress shows only what is known at its open (flat, no volume),
    so a client never sees the future of the replayed data. Quote volume and trade counts are not in the CSVs."""
    if candle.is_closed_at(now_ms):
        o, h, low, c, v = candle.open, candle.high, candle.low, candle.close, candle.volume
    else:
        o = h = low = c = candle.open
        v = Decimal(0)
    zero = fmt(Decimal(0))
    return [candle.open_time, fmt(o), fmt(h), fmt(low), fmt(c), fmt(v), candle.close_time, zero, 0, zero, zero, "0"]


def klines(state: ExchangeState, _account: Account | None, params: dict[str, str]) -> object:
    """GET /api/v3/klines: candles with open time <= clock; ``startTime`` -> oldest first, else the newest ``limit``."""
    spec = state.market(params)
    interval = params.get("interval")
    if not interval:
        raise errors.mandatory_param("interval")
    if interval not in INTERVAL_MS:
        raise errors.invalid_interval()
    series = state.series.get(spec.symbol, {}).get(interval)
    if series is None:
        raise errors.not_supported(f"{spec.symbol} {interval} klines: no candles loaded for that interval")
    now = state.now_ms
    start, end = param_int(params, "startTime"), param_int(params, "endTime")
    limit = param_int(params, "limit") or 500
    limit = max(1, min(limit, 1000))
    rows = [
        c
        for c in series.visible(now)
        if (start is None or c.open_time >= start) and (end is None or c.open_time <= end)
    ]
    rows = rows[:limit] if start is not None else rows[-limit:]
    return [_kline(c, now) for c in rows]


def _last_price(state: ExchangeState, symbol: str) -> Decimal | None:
    """Current price, or inside a gap / after the data the close of the last visible candle."""
    price = state.current_price(symbol)
    if price is not None:
        return price
    series = state.price_series(symbol)
    visible = series.visible(state.now_ms) if series else []
    return visible[-1].close if visible else None


def _symbols_with_prices(state: ExchangeState, params: dict[str, str]) -> tuple[list[str], bool]:
    if params.get("symbol"):
        return [state.market(params).symbol], True
    return [s for s in state.markets if _last_price(state, s) is not None], False


def ticker_price(state: ExchangeState, _account: Account | None, params: dict[str, str]) -> object:
    symbols, single = _symbols_with_prices(state, params)
    rows = []
    for symbol in symbols:
        price = _last_price(state, symbol)
        if price is None:
            raise errors.market_closed()
        rows.append({"symbol": symbol, "price": fmt(price)})
    return rows[0] if single else rows


def _ticker_24hr(state: ExchangeState, symbol: str) -> dict:
    now = state.now_ms
    series = state.price_series(symbol)
    last = _last_price(state, symbol)
    if series is None or last is None:
        raise errors.market_closed()
    visible = series.visible(now)
    window = [c for c in visible if c.open_time >= now - _DAY_MS]
    closed = [c for c in window if c.is_closed_at(now)]
    before = [c for c in visible if c.open_time < now - _DAY_MS]
    open_price = window[0].open if window else last
    high = max([c.high for c in closed] + [last])
    low = min([c.low for c in closed] + [last])
    volume = sum((c.volume for c in closed), Decimal(0))
    change = last - open_price
    percent = (change / open_price * 100).quantize(Decimal("0.001")) if open_price else Decimal(0)
    return {
        "symbol": symbol,
        "priceChange": fmt(change),
        "priceChangePercent": str(percent),
        "weightedAvgPrice": fmt(last),
        "prevClosePrice": fmt(before[-1].close if before else open_price),
        "lastPrice": fmt(last),
        "lastQty": fmt(Decimal(0)),
        "bidPrice": fmt(last),
        "bidQty": fmt(Decimal(0)),
        "askPrice": fmt(last),
        "askQty": fmt(Decimal(0)),
        "openPrice": fmt(open_price),
        "highPrice": fmt(high),
        "lowPrice": fmt(low),
        "volume": fmt(volume),
        "quoteVolume": fmt(Decimal(0)),
        "openTime": now - _DAY_MS,
        "closeTime": now,
        "firstId": -1,
        "lastId": -1,
        "count": 0,
    }


def ticker_24hr(state: ExchangeState, _account: Account | None, params: dict[str, str]) -> object:
    symbols, single = _symbols_with_prices(state, params)
    rows = [_ticker_24hr(state, symbol) for symbol in symbols]
    return rows[0] if single else rows


# --- signed (account is never None here) ---


def account_info(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    assert account is not None
    return account.to_binance(state.now_ms, omit_zero=params.get("omitZeroBalances") == "true")


def new_order(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    assert account is not None
    order = state.place_order(account, params)
    assert order is not None
    resp_type = params.get("newOrderRespType") or "FULL"
    if resp_type not in ("ACK", "RESULT", "FULL"):
        raise errors.BinanceError(-1100, "Illegal characters found in parameter 'newOrderRespType'.")
    return order.to_new_order(resp_type)


def order_test(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    """POST /api/v3/order/test (ccxt ``params={"test": True}``): validates, creates nothing."""
    assert account is not None
    state.place_order(account, params, test=True)
    return {}


def query_order(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    assert account is not None
    order = state.find_order(account, params)
    if order is None:
        raise errors.order_does_not_exist()
    return order.to_query()


def cancel_order(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    assert account is not None
    order = state.find_order(account, params)
    if order is None or not order.is_open:
        raise errors.unknown_order_sent()
    state.cancel_with_list(order)
    return order.to_cancel(params.get("newClientOrderId") or f"cancel-{order.order_id}", state.now_ms)


def new_oco(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    """POST /api/v3/orderList/oco (see ExchangeState.place_oco)."""
    assert account is not None
    legs = state.place_oco(account, params)
    first = legs[0]
    return {
        "orderListId": first.order_list_id,
        "contingencyType": "OCO",
        "listStatusType": "EXEC_STARTED",
        "listOrderStatus": "EXECUTING",
        "listClientOrderId": first.list_client_order_id,
        "transactionTime": first.time,
        "symbol": first.symbol,
        "orders": [{"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id} for o in legs],
        "orderReports": [o.to_new_order("RESULT") for o in legs],
    }


def open_orders(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    assert account is not None
    symbol = state.market(params).symbol if params.get("symbol") else None
    return [o.to_query() for o in state.open_orders(account, symbol)]


def cancel_open_orders(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    assert account is not None
    orders = state.open_orders(account, state.market(params).symbol)
    if not orders:
        raise errors.unknown_order_sent()
    replies = []
    for order in orders:
        state.cancel(order)
        replies.append(order.to_cancel(f"cancel-{order.order_id}", state.now_ms))
    return replies


def all_orders(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    assert account is not None
    return [o.to_query() for o in state.all_orders(account, params)]


def my_trades(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    assert account is not None
    return [f.to_my_trade() for f in state.my_trades(account, params)]


def api_restrictions(state: ExchangeState, account: Account | None, _params: dict[str, str]) -> object:
    assert account is not None
    return account.restrictions_to_binance()


#: (method, path) -> (endpoint, signed)
ROUTES: dict[tuple[str, str], tuple[Endpoint, bool]] = {
    ("GET", "/api/v3/ping"): (ping, False),
    ("GET", "/api/v3/time"): (server_time, False),
    ("GET", "/api/v3/exchangeInfo"): (exchange_info, False),
    ("GET", "/api/v3/klines"): (klines, False),
    ("GET", "/api/v3/ticker/price"): (ticker_price, False),
    ("GET", "/api/v3/ticker/24hr"): (ticker_24hr, False),
    ("GET", "/api/v3/account"): (account_info, True),
    ("POST", "/api/v3/order"): (new_order, True),
    ("POST", "/api/v3/order/test"): (order_test, True),
    ("POST", "/api/v3/orderList/oco"): (new_oco, True),
    ("GET", "/api/v3/order"): (query_order, True),
    ("DELETE", "/api/v3/order"): (cancel_order, True),
    ("GET", "/api/v3/openOrders"): (open_orders, True),
    ("DELETE", "/api/v3/openOrders"): (cancel_open_orders, True),
    ("GET", "/api/v3/allOrders"): (all_orders, True),
    ("GET", "/api/v3/myTrades"): (my_trades, True),
    ("GET", "/sapi/v1/account/apiRestrictions"): (api_restrictions, True),
}

#: endpoints that need the key's spot-trading permission (Binance answers -2015 without it)
TRADING_PATHS = frozenset({"/api/v3/order", "/api/v3/order/test", "/api/v3/openOrders", "/api/v3/orderList/oco"})
