"""Bybit v5's rejections, as the fake sends them: ``{"retCode": code, "retMsg": text}`` in Bybit's envelope.

ccxt 4.5 maps them by code (``bybit.exceptions['exact']``): 10001 BadRequest, 10003/10004 AuthenticationError,
10005 PermissionDenied, 10006 RateLimitExceeded, 170131 InsufficientFunds, 1701xx InvalidOrder, 170213
OrderNotFound; "Not supported symbols" BadSymbol (matched on the text). The shared core rejects in Binance's terms
(:class:`~.errors.BinanceError`); :func:`translate` turns each into the Bybit code ccxt maps to the same class.
"""

from __future__ import annotations

from . import errors


class BybitError(Exception):
    """A rejection to send as ``{"retCode": code, "retMsg": msg}`` (HTTP ``http_status``, 200 as Bybit does)."""

    def __init__(self, code: int, msg: str, http_status: int = 200) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status


def invalid_api_key() -> BybitError:
    return BybitError(10003, "API key is invalid.")


def bad_signature() -> BybitError:
    return BybitError(10004, "error sign! origin_string is not the one the server computed")


def permission_denied() -> BybitError:
    return BybitError(10005, "Permission denied, please check your API key permissions.")


def params_error(detail: str) -> BybitError:
    return BybitError(10001, f"params error: {detail}")


def order_not_exists() -> BybitError:
    return BybitError(170213, "Order does not exist.")


def insufficient_balance() -> BybitError:
    return BybitError(170131, "Insufficient balance.")


#: Binance filter name -> the Bybit rejection for the same violation
FILTERS = {
    "LOT_SIZE": (170137, "Order volume decimal too long"),
    "MARKET_LOT_SIZE": (170135, "Order quantity too large."),
    "PRICE_FILTER": (170134, "Order price decimal too long"),
    "PERCENT_PRICE_BY_SIDE": (170132, "Order price too high."),
    "NOTIONAL": (170140, "Order value exceeded lower limit."),
    "MIN_NOTIONAL": (170140, "Order value exceeded lower limit."),
    "precision": (170137, "Order volume decimal too long"),
}


def translate(exc: errors.BinanceError) -> BybitError:
    """The core's Binance rejection as Bybit's (same ccxt exception class, Bybit's code and text)."""
    if exc.code == -2010:
        if "insufficient" in exc.msg:
            return insufficient_balance()
        if "Duplicate" in exc.msg:
            return BybitError(170141, "Duplicate clientOrderId.")
        return BybitError(170210, f"New order rejected. ({exc.msg})")
    if exc.code == -1013:
        for name, (code, msg) in FILTERS.items():
            if exc.msg == f"Filter failure: {name}":
                return BybitError(code, msg)
        return BybitError(170210, f"New order rejected. ({exc.msg})")  # "Market is closed."
    if exc.code == -1111:
        return BybitError(*FILTERS["precision"])
    if exc.code == -1121:
        return BybitError(10001, "Not supported symbols")  # ccxt: BadSymbol (matched on the text)
    if exc.code in (-2011, -2013):
        return order_not_exists()
    return params_error(exc.msg)
