"""Binance's error replies, as the fake server sends them.

Every rejection the fake produces is a :class:`BinanceError`: the HTTP status plus the JSON body
``{"code": <negative int>, "msg": <text>}`` exactly as Binance's spot API sends it. The codes and texts are
Binance's own (see "Error codes for Binance" in the spot API docs) because ccxt maps them to its exception
classes by code *and* by exact message text, so a paraphrase would change which ccxt exception a test sees.

The ccxt class each one becomes (ccxt 4.5, ``binance.handle_errors``) is noted next to each constructor.
"""

from __future__ import annotations


class BinanceError(Exception):
    """A rejection to send to the client as ``http_status`` + ``{"code": code, "msg": msg}``."""

    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status

    def body(self) -> dict:
        return {"code": self.code, "msg": self.msg}


# --- authentication (HTTP 401 for key problems, 400 for a bad signature, as Binance does) ---


def api_key_format_invalid() -> BinanceError:
    """No/empty ``X-MBX-APIKEY`` header. ccxt: AuthenticationError."""
    return BinanceError(-2014, "API-key format invalid.", 401)


def invalid_api_key() -> BinanceError:
    """Unknown key, or a key without the permission the endpoint needs.

    ccxt: AuthenticationError -- but DDoSProtection once that ccxt instance has had one successful private call
    (ccxt reads a later -2015 as a temporary ban; see ``binance.handle_errors``).
    """
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def bad_signature() -> BinanceError:
    """HMAC does not match. ccxt: AuthenticationError."""
    return BinanceError(-1022, "Signature for this request is not valid.", 400)


# --- malformed requests (ccxt: BadRequest unless noted) ---


def mandatory_param(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal_chars(name: str) -> BinanceError:
    return BinanceError(
        -1100,
        f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.",
    )


def too_much_precision(name: str) -> BinanceError:
    return BinanceError(-1111, f"Parameter '{name}' has too much precision.")


def param_not_required(name: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def one_of_params(first: str, second: str) -> BinanceError:
    return BinanceError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def invalid_symbol() -> BinanceError:
    """ccxt: BadSymbol."""
    return BinanceError(-1121, "Invalid symbol.")


def invalid_interval() -> BinanceError:
    return BinanceError(-1120, "Invalid interval.")


def invalid_side() -> BinanceError:
    return BinanceError(-1117, "Invalid side.")


def invalid_order_type() -> BinanceError:
    return BinanceError(-1116, "Invalid orderType.")


def invalid_time_in_force() -> BinanceError:
    return BinanceError(-1115, "Invalid timeInForce.")


def not_supported(detail: str = "") -> BinanceError:
    """An endpoint or order shape the fake does not emulate (Binance's own 'not supported' code, -1020)."""
    suffix = f" (fake binance does not emulate {detail})" if detail else ""
    return BinanceError(-1020, "This operation is not supported." + suffix)


# --- order rejections ---


def filter_failure(filter_type: str) -> BinanceError:
    """``Filter failure: LOT_SIZE`` / ``PRICE_FILTER`` / ``NOTIONAL`` / ``MIN_NOTIONAL`` / ``PERCENT_PRICE_BY_SIDE``.

    ccxt: InvalidOrder for LOT_SIZE, PRICE_FILTER and PERCENT_PRICE_BY_SIDE (matched in the body text);
    BadRequest for NOTIONAL / MIN_NOTIONAL (plain -1013).
    """
    return BinanceError(-1013, f"Filter failure: {filter_type}")


def market_closed() -> BinanceError:
    """No candle covers the server clock (before/after the replayed data, or a gap). ccxt: MarketClosed."""
    return BinanceError(-1013, "Market is closed.")


def insufficient_balance() -> BinanceError:
    """ccxt: InsufficientFunds (matched on the exact message)."""
    return BinanceError(-2010, "Account has insufficient balance for requested action.")


def duplicate_order() -> BinanceError:
    """A ``newClientOrderId`` still in use. ccxt: InvalidOrder."""
    return BinanceError(-2010, "Duplicate order sent.")


def would_match_and_take() -> BinanceError:
    """LIMIT_MAKER (ccxt ``postOnly``) that would trade immediately. ccxt: OrderImmediatelyFillable."""
    return BinanceError(-2010, "Order would immediately match and take.")


def order_does_not_exist() -> BinanceError:
    """GET /api/v3/order for an unknown order. ccxt: OrderNotFound."""
    return BinanceError(-2013, "Order does not exist.")


def unknown_order_sent() -> BinanceError:
    """DELETE /api/v3/order for an unknown or no longer open order. ccxt: OrderNotFound."""
    return BinanceError(-2011, "Unknown order sent.")


# --- gateway-level replies used by the fault injector ---

#: Binance's HTTP 429 body (ccxt raises DDoSProtection for any 429 before reading the body).
TOO_MANY_REQUESTS = BinanceError(
    -1003,
    "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. "
    "Please use the websocket for live updates to avoid polling the API.",
    429,
)


def would_trigger_immediately() -> BinanceError:
    """A stop order whose stop price the market is already past. ccxt: InvalidOrder (OrderImmediatelyFillable)."""
    return BinanceError(-2010, "Order would trigger immediately.")


def bad_oco_prices() -> BinanceError:
    """An OCO whose legs are on the wrong side of the market. ccxt: InvalidOrder."""
    return BinanceError(-1106, "The relationship of the prices for the orders is not correct.")
