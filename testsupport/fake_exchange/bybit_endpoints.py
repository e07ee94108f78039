"""The Bybit v5 spot endpoints the fake emulates, each turning (state, account, params) into the ``result`` of
Bybit's reply (``bybit_api.py`` adds the envelope). Orders go through the shared core (``ExchangeState``) with the
request translated to the core's (Binance-shaped) parameters, so fills, locks, fees and faults are the same as on
the fake Binance.

Only ``category=spot`` is served: a unified trading account (UTA 2.0) trading spot.
"""

from __future__ import annotations

from decimal import Decimal

from . import errors
from .bybit_errors import params_error
from .candles import INTERVAL_MS, Candle
from .protocol import Endpoint
from .records import ZERO, Account, Fill, Order
from .state import ExchangeState, param_int

#: Bybit's kline intervals -> the core's names
INTERVALS = {
    "1": "1m",
    "3": "3m",
    "5": "5m",
    "15": "15m",
    "30": "30m",
    "60": "1h",
    "120": "2h",
    "240": "4h",
    "360": "6h",
    "720": "12h",
    "D": "1d",
    "W": "1w",
}
#: Bybit's order statuses for the core's (a cancelled order that traded is "PartiallyFilledCanceled")
STATUSES = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled", "EXPIRED": "Cancelled"}
#: how many of an account's most recent orders GET /v5/order/realtime finds by id, whatever their status
REALTIME_WINDOW = 500


def num(value: Decimal) -> str:
    """Bybit's wire format: plain decimal text without trailing zeros (``"0.001"``, ``"42000"``)."""
    text = format(value.normalize(), "f")
    return text if value else "0"


def _require(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise params_error(f"{name} is required")
    return value


def _spot(params: dict[str, str]) -> None:
    if _require(params, "category") != "spot":
        raise params_error("the fake serves category=spot only")


# --- public ---


def server_time(state: ExchangeState, _account: Account | None, _params: dict[str, str]) -> object:
    now = state.now_ms
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def instruments_info(state: ExchangeState, _account: Account | None, params: dict[str, str]) -> object:
    _spot(params)
    specs = [state.market(params)] if params.get("symbol") else list(state.markets.values())
    return {
        "category": "spot",
        "list": [
            {
                "symbol": spec.symbol,
                "baseCoin": spec.base,
                "quoteCoin": spec.quote,
                "innovation": "0",
                "status": "Trading" if spec.status == "TRADING" else "Closed",
                "marginTrading": "none",
                "stTag": "0",
                "lotSizeFilter": {
                    "basePrecision": num(spec.step_size),
                    "quotePrecision": num(Decimal(1).scaleb(-spec.quote_precision)),
                    "minOrderQty": num(spec.min_qty),
                    "maxOrderQty": num(spec.max_qty),
                    "minOrderAmt": num(spec.min_notional),
                    "maxOrderAmt": num(spec.max_notional),
                },
                "priceFilter": {"tickSize": num(spec.tick_size)},
                "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
            }
            for spec in specs
        ],
        "nextPageCursor": "",
    }


def _kline(candle: Candle, now_ms: int) -> list[str]:
    """A candle still in progress shows only what is known at its open (flat, no volume), as on the fake Binance."""
    if candle.is_closed_at(now_ms):
        o, h, low, c, v = candle.open, candle.high, candle.low, candle.close, candle.volume
    else:
        o = h = low = c = candle.open
        v = ZERO
    return [str(candle.open_time), num(o), num(h), num(low), num(c), num(v), "0"]


def kline(state: ExchangeState, _account: Account | None, params: dict[str, str]) -> object:
    """GET /v5/market/kline: candles with open time <= clock, newest first (Bybit's order). With ``start`` the
    ``limit`` oldest from it, else the newest ``limit`` (default 200, max 1000)."""
    _spot(params)
    spec = state.market(params)
    interval = INTERVALS.get(_require(params, "interval"))
    if interval is None or interval not in INTERVAL_MS:
        raise errors.BinanceError(-1120, f"invalid interval {params['interval']}")
    series = state.series.get(spec.symbol, {}).get(interval)
    if series is None:
        raise errors.not_supported(f"{spec.symbol} {interval} klines: no candles loaded for that interval")
    now = state.now_ms
    start, end = param_int(params, "start"), param_int(params, "end")
    limit = max(1, min(param_int(params, "limit") or 200, 1000))
    rows = [
        c
        for c in series.visible(now)
        if (start is None or c.open_time >= start) and (end is None or c.open_time <= end)
    ]
    rows = rows[:limit] if start is not None else rows[-limit:]
    return {"symbol": spec.symbol, "category": "spot", "list": [_kline(c, now) for c in reversed(rows)]}


# --- signed: account and key ---


def coin_info(state: ExchangeState, _account: Account | None, params: dict[str, str]) -> object:
    """GET /v5/asset/coin/query-info: ccxt's fetch_currencies, called by load_markets() when a key is set."""
    coins = sorted({spec.base for spec in state.markets.values()} | {spec.quote for spec in state.markets.values()})
    wanted = params.get("coin")
    return {
        "rows": [
            {"name": coin, "coin": coin, "remainAmount": "1000000", "chains": []}
            for coin in coins
            if wanted is None or coin == wanted
        ]
    }


def api_key_info(state: ExchangeState, account: Account | None, _params: dict[str, str]) -> object:
    """GET /v5/user/query-api: ccxt reads ``uta`` from it (is_unified_enabled) before balances and orders."""
    assert account is not None
    flags = account.restrictions
    return {
        "id": str(account.uid),
        "note": "fake bybit key",
        "apiKey": account.api_key,
        "readOnly": 0 if flags.get("enableSpotAndMarginTrading", False) else 1,
        "secret": "",
        "permissions": {
            "ContractTrade": [],
            "Spot": ["SpotTrade"] if flags.get("enableSpotAndMarginTrading", False) else [],
            "Wallet": ["AccountTransfer", "Withdraw"] if flags.get("enableWithdrawals") else ["AccountTransfer"],
            "Options": [],
            "Derivatives": [],
            "CopyTrading": [],
            "BlockTrade": [],
            "Exchange": [],
            "NFT": [],
            "Affiliate": [],
        },
        "ips": ["*"],
        "type": 1,
        "deadlineDay": -1,
        "expiredAt": "",
        "createdAt": "",
        "unified": 0,
        "uta": 1,
        "userID": account.uid,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
    }


def account_info(state: ExchangeState, account: Account | None, _params: dict[str, str]) -> object:
    assert account is not None
    return {
        "marginMode": "REGULAR_MARGIN",
        "updatedTime": str(account.created_ms),
        "unifiedMarginStatus": 6,  # UTA 2.0 pro
        "dcpStatus": "OFF",
        "timeWindow": 10,
        "smpGroup": 0,
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
    }


def wallet_balance(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    """GET /v5/account/wallet-balance?accountType=UNIFIED. ``locked`` is what open spot orders hold; Bybit no longer
    fills ``availableToWithdraw`` for UTA, so ccxt takes free = walletBalance - locked."""
    assert account is not None
    if _require(params, "accountType") != "UNIFIED":
        raise params_error("accountType only support UNIFIED")
    wanted = set(params["coin"].split(",")) if params.get("coin") else None
    coins = [
        {
            "coin": asset,
            "walletBalance": num(bal.free + bal.locked),
            "equity": num(bal.free + bal.locked),
            "locked": num(bal.locked),
            "totalOrderIM": "0",
            "totalPositionIM": "0",
            "borrowAmount": "0",
            "accruedInterest": "0",
            "usdValue": "",
            "unrealisedPnl": "0",
            "cumRealisedPnl": "0",
            "marginCollateral": True,
            "collateralSwitch": True,
        }
        for asset, bal in sorted(account.balances.items())
        if wanted is None or asset in wanted
    ]
    return {"list": [{"accountType": "UNIFIED", "accountIMRate": "0", "accountMMRate": "0", "coin": coins}]}


# --- signed: orders ---


def _core_params(params: dict[str, str]) -> dict[str, str]:
    """A v5 create-order request in the core's (Binance's) parameters. A spot market Buy is sized in the quote coin
    unless ``marketUnit=baseCoin`` (Bybit's default for UTA spot), a Sell in the base coin."""
    _spot(params)
    side = {"Buy": "BUY", "Sell": "SELL"}.get(_require(params, "side"))
    order_type = {"Market": "MARKET", "Limit": "LIMIT"}.get(_require(params, "orderType"))
    if side is None or order_type is None:
        raise params_error("side must be Buy|Sell and orderType Market|Limit")
    if params.get("orderFilter") not in (None, "", "Order"):
        raise errors.not_supported(f"orderFilter={params['orderFilter']} (conditional and TP/SL orders)")
    core = {"symbol": _require(params, "symbol"), "side": side, "type": order_type}
    qty = _require(params, "qty")
    if params.get("orderLinkId"):
        core["newClientOrderId"] = params["orderLinkId"]
    if order_type == "MARKET":
        unit = params.get("marketUnit") or ("quoteCoin" if side == "BUY" else "baseCoin")
        core["quoteOrderQty" if unit == "quoteCoin" else "quantity"] = qty
        return core
    tif = params.get("timeInForce") or "GTC"
    if tif == "PostOnly":
        core["type"] = "LIMIT_MAKER"
    else:
        core["timeInForce"] = tif
    core["price"] = _require(params, "price")
    core["quantity"] = qty
    return core


def create_order(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    """POST /v5/order/create: Bybit acknowledges with the ids only; the order's state is read back separately."""
    assert account is not None
    order = state.place_order(account, _core_params(params))
    assert order is not None
    return {"orderId": str(order.order_id), "orderLinkId": order.client_order_id}


def _status(order: Order) -> str:
    if order.status == "CANCELED":
        return "PartiallyFilledCanceled" if order.executed_qty > 0 else "Cancelled"
    return STATUSES[order.status]


def order_row(order: Order) -> dict:
    """An order as /v5/order/realtime and /v5/order/history list it."""
    fee = sum((f.commission for f in order.fills), ZERO)
    fee_asset = order.fills[0].commission_asset if order.fills else ""
    is_market = order.type == "MARKET"
    quote_sized = is_market and order.orig_quote_order_qty > 0
    qty = order.orig_quote_order_qty if quote_sized else order.orig_qty
    leaves = ZERO if not order.is_open else order.orig_qty - order.executed_qty
    average = order.cumulative_quote_qty / order.executed_qty if order.executed_qty else None
    row = {
        "orderId": str(order.order_id),
        "orderLinkId": order.client_order_id,
        "blockTradeId": "",
        "symbol": order.symbol,
        "price": num(order.price),
        "qty": num(qty),
        "side": "Buy" if order.side == "BUY" else "Sell",
        "isLeverage": "0",
        "positionIdx": 0,
        "orderStatus": _status(order),
        "cancelType": "CancelByUser" if order.status == "CANCELED" else "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": num(average.quantize(Decimal("1e-8"))) if average is not None else "",
        "leavesQty": num(leaves),
        "leavesValue": num(leaves * order.price),
        "cumExecQty": num(order.executed_qty),
        "cumExecValue": num(order.cumulative_quote_qty),
        "cumExecFee": num(fee),
        "cumFeeDetail": {fee_asset: num(fee)} if fee_asset else {},
        "timeInForce": "IOC" if is_market else ("PostOnly" if order.type == "LIMIT_MAKER" else order.time_in_force),
        "orderType": "Market" if is_market else "Limit",
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": "",
        "reduceOnly": False,
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "createdTime": str(order.time),
        "updatedTime": str(order.update_time),
    }
    if is_market:
        row["marketUnit"] = "quoteCoin" if quote_sized else "baseCoin"
    return row


def _account_orders(state: ExchangeState, account: Account, params: dict[str, str]) -> list[Order]:
    """The account's orders matching ``symbol``, ``orderId`` and ``orderLinkId`` (each optional), newest first."""
    _spot(params)
    symbol = state.market(params).symbol if params.get("symbol") else None
    order_id, link_id = params.get("orderId"), params.get("orderLinkId")
    return [
        o
        for o in reversed(state.orders)
        if o.api_key == account.api_key
        and (symbol is None or o.symbol == symbol)
        and (not order_id or str(o.order_id) == order_id)
        and (not link_id or o.client_order_id == link_id)
    ]


def _limit(params: dict[str, str], default: int, maximum: int) -> int:
    return max(1, min(param_int(params, "limit") or default, maximum))


def realtime_orders(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    """GET /v5/order/realtime. By ``orderId``/``orderLinkId``: that order whatever its status, if it is among the
    account's last 500 orders (the window ccxt warns about). Otherwise ``openOnly=0`` (default) lists open orders,
    ``openOnly=1`` recent closed ones. Newest first, ``limit`` default 20, max 50."""
    assert account is not None
    rows = _account_orders(state, account, params)
    if params.get("orderId") or params.get("orderLinkId"):
        recent = {id(o) for o in [o for o in reversed(state.orders) if o.api_key == account.api_key][:REALTIME_WINDOW]}
        rows = [o for o in rows if id(o) in recent]
    elif params.get("openOnly") == "1":
        rows = [o for o in rows if not o.is_open]
    else:
        rows = [o for o in rows if o.is_open]
    return {"category": "spot", "list": [order_row(o) for o in rows[: _limit(params, 20, 50)]], "nextPageCursor": ""}


def order_history(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    """GET /v5/order/history: final orders (filled, cancelled), newest first, ``startTime``/``endTime``, ``limit``."""
    assert account is not None
    start, end = param_int(params, "startTime"), param_int(params, "endTime")
    rows = [
        o
        for o in _account_orders(state, account, params)
        if not o.is_open and (start is None or o.time >= start) and (end is None or o.time <= end)
    ]
    return {"category": "spot", "list": [order_row(o) for o in rows[: _limit(params, 20, 50)]], "nextPageCursor": ""}


def cancel_order(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    """POST /v5/order/cancel by ``orderId`` or ``orderLinkId``: 170213 unless that order is open."""
    assert account is not None
    if not params.get("orderId") and not params.get("orderLinkId"):
        raise params_error("orderId or orderLinkId is required")
    _require(params, "symbol")
    rows = _account_orders(state, account, params)
    if not rows or not rows[0].is_open:
        raise errors.unknown_order_sent()
    state.cancel_with_list(rows[0])
    return {"orderId": str(rows[0].order_id), "orderLinkId": rows[0].client_order_id}


def _execution_row(order: Order, fill: Fill, account: Account) -> dict:
    return {
        "symbol": order.symbol,
        "orderId": str(order.order_id),
        "orderLinkId": order.client_order_id,
        "side": "Buy" if order.side == "BUY" else "Sell",
        "orderPrice": num(order.price),
        "orderQty": num(order.orig_qty),
        "leavesQty": num(order.orig_qty - order.executed_qty),
        "createType": "CreateByUser",
        "orderType": "Market" if order.type == "MARKET" else "Limit",
        "stopOrderType": "",
        "execFee": num(fill.commission),
        "feeCurrency": fill.commission_asset,
        "execId": str(fill.trade_id),
        "execPrice": num(fill.price),
        "execQty": num(fill.qty),
        "execType": "Trade",
        "execValue": num(fill.quote_qty),
        "execTime": str(fill.time),
        "feeRate": num(account.maker_rate if fill.is_maker else account.taker_rate),
        "isMaker": fill.is_maker,
        "tradeIv": "",
        "markIv": "",
        "markPrice": "",
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "",
        "seq": fill.trade_id,
    }


def executions(state: ExchangeState, account: Account | None, params: dict[str, str]) -> object:
    """GET /v5/execution/list (ccxt fetch_my_trades): fills, newest first, by ``symbol``, ``orderId``,
    ``orderLinkId``, ``startTime``/``endTime``; ``limit`` default 50, max 100."""
    assert account is not None
    start, end = param_int(params, "startTime"), param_int(params, "endTime")
    rows = [
        _execution_row(order, fill, account)
        for order in _account_orders(state, account, params)
        for fill in reversed(order.fills)
        if (start is None or fill.time >= start) and (end is None or fill.time <= end)
    ]
    rows.sort(key=lambda row: -row["seq"])
    return {"category": "spot", "list": rows[: _limit(params, 50, 100)], "nextPageCursor": ""}


#: (method, path) -> (endpoint, signed)
ROUTES: dict[tuple[str, str], tuple[Endpoint, bool]] = {
    ("GET", "/v5/market/time"): (server_time, False),
    ("GET", "/v5/market/instruments-info"): (instruments_info, False),
    ("GET", "/v5/market/kline"): (kline, False),
    ("GET", "/v5/asset/coin/query-info"): (coin_info, True),
    ("GET", "/v5/user/query-api"): (api_key_info, True),
    ("GET", "/v5/account/info"): (account_info, True),
    ("GET", "/v5/account/wallet-balance"): (wallet_balance, True),
    ("POST", "/v5/order/create"): (create_order, True),
    ("GET", "/v5/order/realtime"): (realtime_orders, True),
    ("GET", "/v5/order/history"): (order_history, True),
    ("POST", "/v5/order/cancel"): (cancel_order, True),
    ("GET", "/v5/execution/list"): (executions, True),
}

#: endpoints that need the key's spot-trading permission (Bybit answers 10005 without it)
TRADING_PATHS = frozenset({"/v5/order/create", "/v5/order/cancel"})
