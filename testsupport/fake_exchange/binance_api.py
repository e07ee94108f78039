"""Binance spot's side of the fake exchange: request parsing, the SIGNED check, routes (``endpoints.py``) and
Binance's error replies (``errors.py``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl

from . import errors
from .endpoints import ROUTES, TRADING_PATHS
from .faults import Fault
from .protocol import ApiRequest, ExchangeApi, Reply
from .records import Account
from .state import ExchangeState


def _strip_signature(raw: str) -> str:
    return "&".join(part for part in raw.split("&") if part and not part.startswith("signature="))


class BinanceApi(ExchangeApi):
    name = "binance"
    routes = ROUTES

    def parse(self, method: str, path: str, raw_query: str, raw_body: str, headers: Mapping[str, str]) -> ApiRequest:
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        params.update(parse_qsl(raw_body, keep_blank_values=True))
        client_order_id = (
            params.get("newClientOrderId") or params.get("origClientOrderId") or params.get("listClientOrderId")
        )
        return ApiRequest(
            method=method,
            path=path,
            params=params,
            raw_query=raw_query,
            raw_body=raw_body,
            headers=headers,
            api_key=headers.get("X-MBX-APIKEY"),
            client_order_id=client_order_id,
        )

    def authenticate(self, state: ExchangeState, request: ApiRequest) -> Account:
        """Binance's SIGNED check: known key, ``timestamp`` present, ``signature`` = HMAC-SHA256(secret,
        query string + body, without the signature itself), lower/upper-case hex accepted.

        The ``timestamp``/``recvWindow`` window is NOT checked: the server clock is simulated while ccxt signs
        with the wall clock."""
        params = request.params
        if not request.api_key:
            raise errors.api_key_format_invalid()
        account = state.accounts.get(request.api_key)
        if account is None:
            raise errors.invalid_api_key()
        if not params.get("timestamp"):
            raise errors.mandatory_param("timestamp")
        signature = params.get("signature")
        if not signature:
            raise errors.mandatory_param("signature")
        payload = _strip_signature(request.raw_query) + _strip_signature(request.raw_body)
        expected = hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
            raise errors.bad_signature()
        if not account.restrictions.get("enableReading", True):
            raise errors.invalid_api_key()
        if (
            request.method in ("POST", "DELETE")
            and request.path in TRADING_PATHS
            and not account.restrictions.get("enableSpotAndMarginTrading", False)
        ):
            raise errors.invalid_api_key()
        return account

    def unknown_route(self, request: ApiRequest) -> Exception:
        return errors.BinanceError(-1020, errors.not_supported(f"{request.method} {request.path}").msg, 404)

    def fault_error(self, fault: Fault) -> Exception:
        if fault.kind == "insufficient_balance":
            return errors.insufficient_balance()
        if fault.options["filter"] == "precision":
            return errors.too_much_precision("quantity")
        return errors.filter_failure(str(fault.options["filter"]))

    def too_many_requests(self, fault: Fault) -> Reply:
        return Reply(429, errors.TOO_MANY_REQUESTS.body(), {"Retry-After": str(fault.options["retry_after"])})

    def error_reply(self, state: ExchangeState, exc: Exception) -> Reply | None:
        if isinstance(exc, errors.BinanceError):
            return Reply(exc.http_status, exc.body())
        return None

    def internal_error_reply(self) -> Reply:
        return Reply(500, {"code": -1000, "msg": "An unknown error occurred while processing the request."})

    def error_code(self, reply: Reply) -> int | None:
        if isinstance(reply.body, dict) and isinstance(reply.body.get("code"), int) and reply.status >= 400:
            return reply.body["code"]
        return None
