"""The fake exchange's books: clock, candles, accounts, orders and the matching rules.

Matching contract (all prices and amounts :class:`~decimal.Decimal`):

* The *current price* of a symbol is the open of its candle in progress at the server clock, taken from the
  finest interval loaded for that symbol. Without such a candle (before/after the data, or a gap in it) the
  market is closed: MARKET orders are rejected with ``-1013 "Market is closed."``.
* MARKET orders fill completely and immediately at the current price (taker). ``quantity`` buys/sells that
  amount; ``quoteOrderQty`` trades ``floor(quoteOrderQty / price)`` to the LOT_SIZE step, as Binance does.
* LIMIT orders that are marketable on arrival (buy price >= current price, sell price <= current price) fill at
  once at the current price (taker); LIMIT_MAKER orders that would do so are rejected (-2010). Otherwise the
  order rests as NEW (IOC/FOK expire instead) and fills at its own price (maker) when a candle in progress at or
  opened after the order's time has closed with ``low <= price`` (buy) or ``high >= price`` (sell). The
  fill is stamped with that candle's ``closeTime``. It fills completely, unless ``partial_fill_ratio`` is set:
  then each crossing candle fills that share of it (PARTIALLY_FILLED until nothing is left).
* Commission is charged as Binance does by default: ``rate x`` the asset received (base on a buy, quote on a
  sell), rounded half-up to 8 decimals; 0.1% maker and taker unless the account says otherwise.
* A LIMIT order locks ``price x qty`` quote (buy) or ``qty`` base (sell) while open; a buy filled below its
  limit returns the difference.
* ``newClientOrderId``: with ``client_id_policy="binance"`` (default) an id is rejected with
  ``-2010 "Duplicate order sent."`` only while another order of the account with that id is still open --
  Binance's documented rule ("same newClientOrderId can be accepted only when the previous one is filled").
  ``"strict"`` rejects any reuse. A lookup by ``origClientOrderId`` returns the newest order with that id.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from . import errors
from .candles import INTERVAL_MS, CandleSeries
from .markets import EIGHT_PLACES, MarketSpec, floor_to_step, parse_decimal
from .records import ZERO, Account, Balance, Fill, Order

_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_MAX_LIMIT = 1000


def param_int(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.lstrip("-").isdigit():
        raise errors.illegal_chars(name)
    return int(raw)


def _limit(params: dict[str, str], default: int = 500) -> int:
    value = param_int(params, "limit")
    return default if value is None else max(1, min(value, _MAX_LIMIT))


class ExchangeState:
    """Everything the server knows. Not thread-safe by itself: the server holds ``FakeBinance.lock`` around calls."""

    def __init__(
        self, markets: list[MarketSpec], *, now_ms: int | None = None, client_id_policy: str = "binance"
    ) -> None:
        if client_id_policy not in ("binance", "strict"):
            raise ValueError("client_id_policy must be 'binance' or 'strict'")
        self.markets: dict[str, MarketSpec] = {m.symbol: m for m in markets}
        self.series: dict[str, dict[str, CandleSeries]] = {}
        self.accounts: dict[str, Account] = {}
        self.orders: list[Order] = []
        self.client_id_policy = client_id_policy
        self._now_ms = now_ms
        self._order_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._list_ids = itertools.count(1)
        self._uids = itertools.count(100000001)
        #: None: a crossed resting order fills completely. A fraction: each candle that crosses it fills that share
        #: of its original quantity (to the lot step), so a short-lived limit order is left partially filled.
        self.partial_fill_ratio: Decimal | None = None

    # --- clock and candles ---

    @property
    def now_ms(self) -> int:
        """Server clock. Until set (or candles loaded) it is the wall clock."""
        return self._now_ms if self._now_ms is not None else int(time.time() * 1000)

    def set_time(self, now_ms: int) -> None:
        """Move the clock forward and fill resting LIMIT orders whose price a newly closed candle reached."""
        if self._now_ms is not None and now_ms < self._now_ms:
            raise ValueError(f"the clock only moves forward ({now_ms} < {self._now_ms})")
        self._now_ms = now_ms
        for order in [o for o in self.orders if o.is_open]:
            self._match_resting(order)

    def load_candles(self, symbol: str, interval: str, source: str | Path | CandleSeries) -> CandleSeries:
        symbol = symbol.replace("/", "").upper()
        if symbol not in self.markets:
            raise ValueError(f"no market {symbol}; add a MarketSpec for it first")
        series = source if isinstance(source, CandleSeries) else CandleSeries.from_csv(source, interval)
        self.series.setdefault(symbol, {})[interval] = series
        if self._now_ms is None and len(series):
            # start with one closed candle and the next one in progress
            self._now_ms = series.candles[0].open_time + series.duration_ms
        return series

    def price_series(self, symbol: str) -> CandleSeries | None:
        """The finest interval loaded for ``symbol``: it defines the current price and limit fills."""
        loaded = self.series.get(symbol, {})
        if not loaded:
            return None
        return loaded[min(loaded, key=lambda interval: INTERVAL_MS[interval])]

    def current_price(self, symbol: str) -> Decimal | None:
        series = self.price_series(symbol)
        candle = series.at(self.now_ms) if series else None
        return candle.open if candle else None

    def market(self, params: dict[str, str]) -> MarketSpec:
        symbol = params.get("symbol")
        if not symbol:
            raise errors.mandatory_param("symbol")
        if symbol not in self.markets:
            raise errors.invalid_symbol()
        return self.markets[symbol]

    # --- accounts ---

    def add_account(
        self,
        api_key: str,
        secret: str,
        balances: dict[str, str | Decimal] | None = None,
        restrictions: dict[str, bool] | None = None,
        maker_rate: Decimal | str = "0.001",
        taker_rate: Decimal | str = "0.001",
    ) -> Account:
        account = Account(
            api_key=api_key,
            secret=secret,
            uid=next(self._uids),
            created_ms=self.now_ms,
            maker_rate=Decimal(maker_rate),
            taker_rate=Decimal(taker_rate),
        )
        for asset, amount in (balances or {}).items():
            account.balances[asset] = Balance(free=Decimal(amount))
        if restrictions:
            account.restrictions.update(restrictions)
        self.accounts[api_key] = account
        return account

    # --- orders ---

    def place_order(self, account: Account, params: dict[str, str], *, test: bool = False) -> Order | None:
        """Validate and execute POST /api/v3/order. Returns the order (None for the /order/test endpoint)."""
        spec = self.market(params)
        side = params.get("side") or ""
        if side not in ("BUY", "SELL"):
            raise errors.mandatory_param("side") if not side else errors.invalid_side()
        order_type = params.get("type") or ""
        if not order_type:
            raise errors.mandatory_param("type")
        if order_type == "STOP_LOSS":
            return self._place_stop(account, spec, params, side, test=test)
        if order_type not in ("MARKET", "LIMIT", "LIMIT_MAKER"):
            if order_type in spec.order_types:
                raise errors.not_supported(f"{order_type} orders")
            raise errors.invalid_order_type()
        client_id = self._new_client_id(account, params.get("newClientOrderId"))
        price_now = self.current_price(spec.symbol)

        if order_type == "MARKET":
            qty, quote_qty, price = self._size_market(spec, params, price_now)
            tif, limit_price, marketable = "GTC", ZERO, True
        else:
            tif = "GTC" if order_type == "LIMIT_MAKER" else (params.get("timeInForce") or "")
            if not tif:
                raise errors.mandatory_param("timeInForce")
            if tif not in ("GTC", "IOC", "FOK"):
                raise errors.invalid_time_in_force()
            limit_price = parse_decimal("price", params.get("price"), max_places=spec.quote_precision)
            qty = parse_decimal("quantity", params.get("quantity"), max_places=spec.base_precision)
            spec.check_price(limit_price)
            spec.check_lot(qty, market=False)
            spec.check_percent_price(limit_price, price_now)
            spec.check_notional(limit_price * qty, market=False)
            quote_qty = ZERO
            marketable = price_now is not None and (
                limit_price >= price_now if side == "BUY" else limit_price <= price_now
            )
            if order_type == "LIMIT_MAKER" and marketable:
                raise errors.would_match_and_take()
            price = price_now if marketable else limit_price

        # the wallet must hold what the order can spend: quote for a buy (at the limit price for LIMIT), base for a sell
        if side == "BUY":
            lock_asset, lock_amount = spec.quote, qty * (limit_price if order_type != "MARKET" else price)
        else:
            lock_asset, lock_amount = spec.base, qty
        if account.free(lock_asset) < lock_amount:
            raise errors.insufficient_balance()
        if test:
            return None

        now = self.now_ms
        order = Order(
            order_id=next(self._order_ids),
            api_key=account.api_key,
            symbol=spec.symbol,
            client_order_id=client_id,
            side=side,
            type=order_type,
            time_in_force=tif,
            price=limit_price,
            orig_qty=qty,
            orig_quote_order_qty=quote_qty,
            time=now,
            update_time=now,
            locked_asset=lock_asset,
            locked_amount=lock_amount,
        )
        account.lock(lock_asset, lock_amount)
        self.orders.append(order)
        if marketable:
            self._fill(order, price, now, is_maker=False)
        elif tif in ("IOC", "FOK"):
            self._close(order, "EXPIRED", now)
        return order

    # --- protective orders: STOP_LOSS and OCO (a LIMIT_MAKER above the market, a STOP_LOSS below it) ---

    def _place_stop(
        self, account: Account, spec: MarketSpec, params: dict[str, str], side: str, *, test: bool = False
    ) -> Order | None:
        """A STOP_LOSS (stop-market) order: rests until a candle trades through ``stopPrice``, then fills at it."""
        client_id = self._new_client_id(account, params.get("newClientOrderId"))
        qty = parse_decimal("quantity", params.get("quantity"), max_places=spec.base_precision)
        stop = parse_decimal("stopPrice", params.get("stopPrice"), max_places=spec.quote_precision)
        spec.check_price(stop)
        spec.check_lot(qty, market=True)
        price_now = self.current_price(spec.symbol)
        if price_now is None:
            raise errors.market_closed()
        if (side == "SELL" and stop >= price_now) or (side == "BUY" and stop <= price_now):
            raise errors.would_trigger_immediately()
        lock_asset, lock_amount = (spec.base, qty) if side == "SELL" else (spec.quote, qty * stop)
        if account.free(lock_asset) < lock_amount:
            raise errors.insufficient_balance()
        if test:
            return None
        return self._rest(account, spec, client_id, side, "STOP_LOSS", ZERO, qty, lock_asset, lock_amount, stop=stop)

    def _rest(
        self,
        account: Account,
        spec: MarketSpec,
        client_id: str,
        side: str,
        order_type: str,
        price: Decimal,
        qty: Decimal,
        lock_asset: str,
        lock_amount: Decimal,
        *,
        stop: Decimal = ZERO,
        list_id: int = -1,
        list_client_id: str = "",
    ) -> Order:
        now = self.now_ms
        order = Order(
            order_id=next(self._order_ids),
            api_key=account.api_key,
            symbol=spec.symbol,
            client_order_id=client_id,
            side=side,
            type=order_type,
            time_in_force="GTC",
            price=price,
            orig_qty=qty,
            orig_quote_order_qty=ZERO,
            time=now,
            update_time=now,
            locked_asset=lock_asset,
            locked_amount=lock_amount,
            stop_price=stop,
            order_list_id=list_id,
            list_client_order_id=list_client_id,
        )
        account.lock(lock_asset, lock_amount)
        self.orders.append(order)
        return order

    def place_oco(self, account: Account, params: dict[str, str]) -> list[Order]:
        """POST /api/v3/orderList/oco for a SELL: ``aboveType=LIMIT_MAKER`` at ``abovePrice`` (the take profit) and
        ``belowType=STOP_LOSS`` at ``belowStopPrice`` (the stop). One ``quantity`` of base is locked for both; the
        first leg to fill expires the other. Returns [below, above]."""
        spec = self.market(params)
        if params.get("side") != "SELL":
            raise errors.not_supported("OCO orders other than SELL")
        if params.get("aboveType") != "LIMIT_MAKER" or params.get("belowType") != "STOP_LOSS":
            raise errors.not_supported("OCO legs other than aboveType=LIMIT_MAKER, belowType=STOP_LOSS")
        qty = parse_decimal("quantity", params.get("quantity"), max_places=spec.base_precision)
        above = parse_decimal("abovePrice", params.get("abovePrice"), max_places=spec.quote_precision)
        stop = parse_decimal("belowStopPrice", params.get("belowStopPrice"), max_places=spec.quote_precision)
        spec.check_price(above)
        spec.check_price(stop)
        spec.check_lot(qty, market=False)
        price_now = self.current_price(spec.symbol)
        if price_now is None:
            raise errors.market_closed()
        if not stop < price_now < above:
            raise errors.bad_oco_prices()
        if account.free(spec.base) < qty:
            raise errors.insufficient_balance()
        list_client_id = params.get("listClientOrderId") or uuid.uuid4().hex[:22]
        below_id = self._new_client_id(account, params.get("belowClientOrderId"))
        above_id = self._new_client_id(account, params.get("aboveClientOrderId"))
        list_id = next(self._list_ids)
        below = self._rest(
            account, spec, below_id, "SELL", "STOP_LOSS", ZERO, qty, spec.base, qty,
            stop=stop, list_id=list_id, list_client_id=list_client_id,
        )  # fmt: skip
        above_leg = self._rest(
            account, spec, above_id, "SELL", "LIMIT_MAKER", above, qty, spec.base, ZERO,
            list_id=list_id, list_client_id=list_client_id,
        )  # fmt: skip
        return [below, above_leg]

    def siblings(self, order: Order) -> list[Order]:
        """The other legs of ``order``'s OCO (empty for a plain order)."""
        if order.order_list_id < 0:
            return []
        return [o for o in self.orders if o.order_list_id == order.order_list_id and o is not order]

    def _new_client_id(self, account: Account, requested: str | None) -> str:
        if requested is None or requested == "":
            return uuid.uuid4().hex[:22]
        if not _CLIENT_ID.match(requested):
            raise errors.BinanceError(
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; "
                "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        for order in self.orders:
            if (
                order.api_key == account.api_key
                and order.client_order_id == requested
                and (order.is_open or self.client_id_policy == "strict")
            ):
                raise errors.duplicate_order()
        return requested

    def _size_market(
        self, spec: MarketSpec, params: dict[str, str], price_now: Decimal | None
    ) -> tuple[Decimal, Decimal, Decimal]:
        """(quantity, quoteOrderQty or 0, fill price) of a MARKET order, with Binance's filter checks."""
        raw_qty, raw_quote = params.get("quantity"), params.get("quoteOrderQty")
        if not raw_qty and not raw_quote:
            raise errors.one_of_params("quantity", "quoteOrderQty")
        if raw_qty and raw_quote:
            raise errors.param_not_required("quoteOrderQty")
        if raw_qty:
            qty = parse_decimal("quantity", raw_qty, max_places=spec.base_precision)
            quote_qty = ZERO
        else:
            quote_qty = parse_decimal("quoteOrderQty", raw_quote, max_places=spec.quote_precision)
        if price_now is None:
            raise errors.market_closed()
        if raw_quote:
            spec.check_notional(quote_qty, market=True)
            qty = floor_to_step(quote_qty / price_now, spec.step_size)
        spec.check_lot(qty, market=True)
        spec.check_notional(qty * price_now, market=True)
        return qty, quote_qty, price_now

    def _fill(self, order: Order, price: Decimal, at_ms: int, *, is_maker: bool, qty: Decimal | None = None) -> None:
        """Execute ``qty`` of the order (default: all that is left) at ``price``: release that share of its lock,
        move the assets, charge the commission. Less than what is left leaves it PARTIALLY_FILLED."""
        account = self.accounts[order.api_key]
        spec = self.markets[order.symbol]
        remaining = order.orig_qty - order.executed_qty
        qty = remaining if qty is None else min(qty, remaining)
        quote_qty = (price * qty).quantize(EIGHT_PLACES)
        rate = account.maker_rate if is_maker else account.taker_rate
        release = (
            order.locked_amount if qty == remaining else (order.locked_amount * qty / remaining).quantize(EIGHT_PLACES)
        )
        account.unlock(order.locked_asset, release)
        order.locked_amount -= release
        if order.side == "BUY":
            fee_asset, fee = spec.base, (qty * rate).quantize(EIGHT_PLACES, ROUND_HALF_UP)
            account.debit(spec.quote, quote_qty)
            account.credit(spec.base, qty - fee)
        else:
            fee_asset, fee = spec.quote, (quote_qty * rate).quantize(EIGHT_PLACES, ROUND_HALF_UP)
            account.debit(spec.base, qty)
            account.credit(spec.quote, quote_qty - fee)
        order.fills.append(
            Fill(
                trade_id=next(self._trade_ids),
                order_id=order.order_id,
                symbol=order.symbol,
                side=order.side,
                price=price,
                qty=qty,
                quote_qty=quote_qty,
                commission=fee,
                commission_asset=fee_asset,
                time=at_ms,
                is_maker=is_maker,
            )
        )
        order.executed_qty += qty
        order.cumulative_quote_qty += quote_qty
        order.status = "FILLED" if order.executed_qty == order.orig_qty else "PARTIALLY_FILLED"
        order.update_time = at_ms

    def _close(self, order: Order, status: str, at_ms: int) -> None:
        self.accounts[order.api_key].unlock(order.locked_asset, order.locked_amount)
        order.status, order.update_time, order.locked_amount = status, at_ms, ZERO

    def _match_resting(self, order: Order) -> None:
        """Work a resting order against every candle closed since it was last looked at, starting with the candle
        in progress when it was placed: the fake has no intra-candle prices, so an order placed during a candle is
        taken to have rested through all of it (as the engine's fill model assumes)."""
        series = self.price_series(order.symbol)
        if series is None:
            return
        start = max(order.time - series.duration_ms + 1, order.matched_until + 1)
        for candle in series.closed_between(start, self.now_ms):
            order.matched_until = candle.open_time
            if order.order_list_id >= 0 or order.type == "STOP_LOSS":
                if self._match_protective(order, candle):
                    return
                continue
            crossed = candle.low <= order.price if order.side == "BUY" else candle.high >= order.price
            if crossed:
                qty = None
                if self.partial_fill_ratio is not None:
                    spec = self.markets[order.symbol]
                    qty = floor_to_step(order.orig_qty * self.partial_fill_ratio, spec.step_size)
                    if qty <= 0:
                        continue
                self._fill(order, order.price, candle.close_time, is_maker=True, qty=qty)
                if not order.is_open:
                    return

    def _match_protective(self, order: Order, candle) -> bool:
        """One candle against a STOP_LOSS order or an OCO (given either leg). The stop is looked at first: a candle
        does not say whether its low or its high came first, and assuming the worst is what the engine's fill model
        does. A stop fills at its stop price (at the open when the candle opened after the order, already past it);
        the LIMIT_MAKER leg at its price. Returns True when the order (or its list) is done."""
        legs = [order, *self.siblings(order)]
        stop_leg = next((o for o in legs if o.type == "STOP_LOSS" and o.is_open), None)
        limit_leg = next((o for o in legs if o.type == "LIMIT_MAKER" and o.is_open), None)
        for leg in legs:
            leg.matched_until = candle.open_time
        filled = None
        if stop_leg is not None and candle.low <= stop_leg.stop_price:
            gapped = candle.open_time > stop_leg.time and candle.open <= stop_leg.stop_price
            filled, price, maker = stop_leg, (candle.open if gapped else stop_leg.stop_price), False
        elif limit_leg is not None and candle.high >= limit_leg.price:
            filled, price, maker = limit_leg, limit_leg.price, True
        if filled is None:
            return False
        for other in legs:
            if other is not filled and other.is_open:
                # The one base lock of the list moves to the leg that fills; the other leg expires, as on Binance.
                filled.locked_amount += other.locked_amount
                other.locked_amount = ZERO
                other.status, other.update_time = "EXPIRED", candle.close_time
        self._fill(filled, price, candle.close_time, is_maker=maker)
        return True

    def cancel_with_list(self, order: Order) -> None:
        """Cancel an order; a leg of an OCO cancels the whole list (Binance's rule)."""
        for leg in [order, *self.siblings(order)]:
            if leg.is_open:
                self.cancel(leg)

    def find_order(self, account: Account, params: dict[str, str]) -> Order | None:
        """The order named by ``orderId`` (takes precedence) or ``origClientOrderId``, within ``symbol``."""
        spec = self.market(params)
        order_id = param_int(params, "orderId")
        client_id = params.get("origClientOrderId")
        if order_id is None and not client_id:
            raise errors.one_of_params("origClientOrderId", "orderId")
        candidates = [o for o in self.orders if o.api_key == account.api_key and o.symbol == spec.symbol]
        if order_id is not None:
            return next((o for o in candidates if o.order_id == order_id), None)
        matching = [o for o in candidates if o.client_order_id == client_id]
        return matching[-1] if matching else None

    def cancel(self, order: Order) -> None:
        self._close(order, "CANCELED", self.now_ms)

    def open_orders(self, account: Account, symbol: str | None) -> list[Order]:
        return [
            o
            for o in self.orders
            if o.api_key == account.api_key and o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def all_orders(self, account: Account, params: dict[str, str]) -> list[Order]:
        """GET /api/v3/allOrders: ``orderId`` -> orders with id >= it; else the newest ``limit`` in the time window."""
        spec = self.market(params)
        rows = [o for o in self.orders if o.api_key == account.api_key and o.symbol == spec.symbol]
        return _window(rows, params, id_param="orderId", id_of=lambda o: o.order_id, time_of=lambda o: o.time)

    def my_trades(self, account: Account, params: dict[str, str]) -> list[Fill]:
        """GET /api/v3/myTrades: optional ``orderId`` filter, ``fromId``, ``startTime``/``endTime``, ``limit``."""
        spec = self.market(params)
        order_id = param_int(params, "orderId")
        rows = [
            f
            for o in self.orders
            if o.api_key == account.api_key and o.symbol == spec.symbol
            for f in o.fills
            if order_id is None or f.order_id == order_id
        ]
        rows.sort(key=lambda f: f.trade_id)
        return _window(rows, params, id_param="fromId", id_of=lambda f: f.trade_id, time_of=lambda f: f.time)


def _window(rows: list, params: dict[str, str], *, id_param: str, id_of, time_of) -> list:
    """Binance's paging: from an id upwards, from ``startTime`` upwards, or else the most recent ``limit`` rows."""
    limit = _limit(params)
    start, end, from_id = param_int(params, "startTime"), param_int(params, "endTime"), param_int(params, id_param)
    if start is not None:
        rows = [r for r in rows if time_of(r) >= start]
    if end is not None:
        rows = [r for r in rows if time_of(r) <= end]
    if from_id is not None:
        return [r for r in rows if id_of(r) >= from_id][:limit]
    return rows[:limit] if start is not None else rows[-limit:]
