"""Spot markets of the fake exchange: their ``exchangeInfo`` entries and Binance's order filters.

The default markets copy the filter values of Binance's real BTCUSDT and ETHUSDT entries as recorded by ccxt
(``data/ccxt-static/markets/binance.json``, field ``info``: tickSize 0.01, stepSize 0.00001 / 0.0001, NOTIONAL
minNotional 5). :meth:`MarketSpec.from_exchange_info` builds a spec from any recorded ``exchangeInfo`` symbol,
e.g. the 2018 body in ``data/exchange-info/binance/exchangeInfo-spot-2018-02.json`` (MIN_NOTIONAL shape).

All numbers are :class:`~decimal.Decimal`; the filter checks follow the rules Binance documents under
"Filters" (e.g. LOT_SIZE: ``minQty <= qty <= maxQty`` and ``(qty - minQty) % stepSize == 0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from . import errors

EIGHT_PLACES = Decimal("0.00000001")
_LEGAL_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")


def fmt(value: Decimal) -> str:
    """Binance's wire format for amounts and prices: fixed point, 8 decimals (``"0.00100000"``)."""
    return format(value.quantize(EIGHT_PLACES), "f")


def parse_decimal(name: str, raw: str | None, *, max_places: int = 8) -> Decimal:
    """Parse a request parameter the way Binance validates it.

    Raises -1100 for anything that is not plain ``digits[.digits]`` and -1111 for more than ``max_places``
    decimals (trailing zeros do not count, as on Binance: ``"0.10000000000"`` is accepted).
    """
    if raw is None or raw == "":
        raise errors.mandatory_param(name)
    if not _LEGAL_DECIMAL.match(raw):
        raise errors.illegal_chars(name)
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the regex already excludes this
        raise errors.illegal_chars(name) from exc
    if value != value.quantize(Decimal(1).scaleb(-max_places), rounding=ROUND_DOWN):
        raise errors.too_much_precision(name)
    return value


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` down to a multiple of ``step`` (how Binance sizes a ``quoteOrderQty`` market order)."""
    if step == 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def _is_multiple(value: Decimal, base: Decimal, step: Decimal) -> bool:
    return step == 0 or (value - base) % step == 0


@dataclass(frozen=True)
class MarketSpec:
    """One spot symbol and its filters. ``symbol`` is Binance's id (``"BTCUSDT"``), not ccxt's ``"BTC/USDT"``."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    min_price: Decimal | None = None  # defaults to tick_size
    max_price: Decimal = Decimal("1000000")
    max_qty: Decimal = Decimal("9000")
    max_notional: Decimal = Decimal("9000000")
    market_max_qty: Decimal = Decimal("100")
    #: "NOTIONAL" (Binance since 2023) or "MIN_NOTIONAL" (older shape, e.g. the 2018 recording).
    notional_filter: str = "NOTIONAL"
    #: PERCENT_PRICE_BY_SIDE multipliers (same for bid and ask); None leaves the filter out.
    percent_price: tuple[Decimal, Decimal] | None = (Decimal("5"), Decimal("0.2"))
    base_precision: int = 8
    quote_precision: int = 8
    status: str = "TRADING"
    order_types: tuple[str, ...] = field(
        default=("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
    )

    @property
    def price_floor(self) -> Decimal:
        return self.tick_size if self.min_price is None else self.min_price

    # --- exchangeInfo ---

    def exchange_info(self) -> dict:
        """This symbol's entry in ``GET /api/v3/exchangeInfo`` (the shape of Binance's 2024 replies)."""
        filters: list[dict] = [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(self.price_floor),
                "maxPrice": fmt(self.max_price),
                "tickSize": fmt(self.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(self.min_qty),
                "maxQty": fmt(self.max_qty),
                "stepSize": fmt(self.step_size),
            },
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt(Decimal(0)),
                "maxQty": fmt(self.market_max_qty),
                "stepSize": fmt(Decimal(0)),
            },
        ]
        if self.percent_price is not None:
            up, down = self.percent_price
            filters.append(
                {
                    "filterType": "PERCENT_PRICE_BY_SIDE",
                    "bidMultiplierUp": str(up),
                    "bidMultiplierDown": str(down),
                    "askMultiplierUp": str(up),
                    "askMultiplierDown": str(down),
                    "avgPriceMins": 5,
                }
            )
        if self.notional_filter == "MIN_NOTIONAL":
            filters.append(
                {
                    "filterType": "MIN_NOTIONAL",
                    "minNotional": fmt(self.min_notional),
                    "applyToMarket": True,
                    "avgPriceMins": 5,
                }
            )
        else:
            filters.append(
                {
                    "filterType": "NOTIONAL",
                    "minNotional": fmt(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": fmt(self.max_notional),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                }
            )
        filters.append({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200})
        return {
            "symbol": self.symbol,
            "status": self.status,
            "baseAsset": self.base,
            "baseAssetPrecision": self.base_precision,
            "quoteAsset": self.quote,
            "quotePrecision": self.quote_precision,
            "quoteAssetPrecision": self.quote_precision,
            "baseCommissionPrecision": self.base_precision,
            "quoteCommissionPrecision": self.quote_precision,
            "orderTypes": list(self.order_types),
            "icebergAllowed": True,
            "ocoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": filters,
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    @classmethod
    def from_exchange_info(cls, entry: dict) -> MarketSpec:
        """Build a spec from a recorded ``exchangeInfo`` symbol entry (either the NOTIONAL or MIN_NOTIONAL shape)."""
        by_type = {f["filterType"]: f for f in entry.get("filters", [])}
        price, lot = by_type["PRICE_FILTER"], by_type["LOT_SIZE"]
        notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL") or {"minNotional": "0"}
        market_lot = by_type.get("MARKET_LOT_SIZE", {})
        percent = by_type.get("PERCENT_PRICE_BY_SIDE")
        return cls(
            symbol=entry["symbol"],
            base=entry["baseAsset"],
            quote=entry["quoteAsset"],
            tick_size=Decimal(price["tickSize"]),
            min_price=Decimal(price["minPrice"]),
            max_price=Decimal(price["maxPrice"]),
            step_size=Decimal(lot["stepSize"]),
            min_qty=Decimal(lot["minQty"]),
            max_qty=Decimal(lot["maxQty"]),
            min_notional=Decimal(notional.get("minNotional", "0")),
            max_notional=Decimal(notional.get("maxNotional", "9000000")),
            market_max_qty=Decimal(market_lot.get("maxQty", lot["maxQty"])),
            notional_filter="MIN_NOTIONAL" if "MIN_NOTIONAL" in by_type else "NOTIONAL",
            percent_price=(Decimal(percent["bidMultiplierUp"]), Decimal(percent["bidMultiplierDown"]))
            if percent
            else None,
            base_precision=int(entry.get("baseAssetPrecision", 8)),
            quote_precision=int(entry.get("quotePrecision", 8)),
            status=entry.get("status", "TRADING"),
            order_types=tuple(entry.get("orderTypes", cls.order_types)),
        )

    # --- filters (each raises errors.filter_failure on violation) ---

    def check_price(self, price: Decimal) -> None:
        if (
            price < self.price_floor
            or price > self.max_price
            or not _is_multiple(price, self.price_floor, self.tick_size)
        ):
            raise errors.filter_failure("PRICE_FILTER")

    def check_lot(self, qty: Decimal, *, market: bool) -> None:
        if qty < self.min_qty or qty > self.max_qty or not _is_multiple(qty, self.min_qty, self.step_size):
            raise errors.filter_failure("LOT_SIZE")
        if market and qty > self.market_max_qty:
            raise errors.filter_failure("MARKET_LOT_SIZE")

    def check_notional(self, notional: Decimal, *, market: bool) -> None:
        if notional < self.min_notional:
            raise errors.filter_failure(self.notional_filter)
        # maxNotional has applyMaxToMarket=false, like Binance's BTCUSDT
        if self.notional_filter == "NOTIONAL" and not market and notional > self.max_notional:
            raise errors.filter_failure("NOTIONAL")

    def check_percent_price(self, price: Decimal, reference: Decimal | None) -> None:
        """LIMIT price must lie within [down, up] x the reference (Binance: 5-minute average; here: current price)."""
        if self.percent_price is None or reference is None:
            return
        up, down = self.percent_price
        if price > reference * up or price < reference * down:
            raise errors.filter_failure("PERCENT_PRICE_BY_SIDE")


def default_markets() -> list[MarketSpec]:
    """BTCUSDT and ETHUSDT with the filter values of Binance's real entries (see the module docstring)."""
    return [
        MarketSpec(
            symbol="BTCUSDT",
            base="BTC",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.00001"),
            min_qty=Decimal("0.00001"),
            min_notional=Decimal("5"),
            market_max_qty=Decimal("128.52621715"),
        ),
        MarketSpec(
            symbol="ETHUSDT",
            base="ETH",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.0001"),
            min_qty=Decimal("0.0001"),
            min_notional=Decimal("5"),
            market_max_qty=Decimal("3277.54882761"),
        ),
    ]
