"""Bybit v5's side of the fake exchange: request parsing, the HMAC signature check, the reply envelope and
its error envelope. The routes and JSON shapes are in ``bybit_endpoints.py``, the error codes in ``bybit_errors.py``.

Bybit answers HTTP 200 with ``{"retCode": 0, "retMsg": "OK", "result": {...}, "retExtInfo": {}, "time": ms}``;
a rejection is the same envelope with a non-zero ``retCode``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import parse_qsl

from . import errors
from .bybit_endpoints import ROUTES, TRADING_PATHS
from .bybit_errors import (
    FILTERS,
    BybitError,
    bad_signature,
    insufficient_balance,
    invalid_api_key,
    permission_denied,
    translate,
)
from .faults import Fault
from .protocol import ApiRequest, ExchangeApi, Reply
from .records import Account
from .state import ExchangeState


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class BybitApi(ExchangeApi):
    name = "bybit"
    routes = ROUTES

    def parse(self, method: str, path: str, raw_query: str, raw_body: str, headers: Mapping[str, str]) -> ApiRequest:
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = {}
            if isinstance(body, dict):
                params.update({key: _as_text(value) for key, value in body.items() if value is not None})
        return ApiRequest(
            method=method,
            path=path,
            params=params,
            raw_query=raw_query,
            raw_body=raw_body,
            headers=headers,
            api_key=headers.get("X-BAPI-API-KEY"),
            client_order_id=params.get("orderLinkId"),
        )

    def authenticate(self, state: ExchangeState, request: ApiRequest) -> Account:
        """Bybit v5's HMAC check: ``X-BAPI-SIGN`` = HMAC-SHA256 hex (secret, timestamp + api key + recv window +
        the query string for GET / the JSON body for POST), with ``X-BAPI-TIMESTAMP`` and ``X-BAPI-RECV-WINDOW``
        from the headers. The timestamp is NOT checked against the clock (the clock is simulated)."""
        if not request.api_key:
            raise invalid_api_key()
        account = state.accounts.get(request.api_key)
        if account is None:
            raise invalid_api_key()
        timestamp = request.headers.get("X-BAPI-TIMESTAMP") or ""
        signature = request.headers.get("X-BAPI-SIGN") or ""
        if not timestamp or not signature:
            raise bad_signature()
        recv_window = request.headers.get("X-BAPI-RECV-WINDOW") or ""
        payload = request.raw_body if request.method == "POST" else request.raw_query
        expected = hmac.new(
            account.secret.encode(), (timestamp + request.api_key + recv_window + payload).encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
            raise bad_signature()
        if not account.restrictions.get("enableReading", True):
            raise permission_denied()
        if request.path in TRADING_PATHS and not account.restrictions.get("enableSpotAndMarginTrading", False):
            raise permission_denied()
        return account

    def unknown_route(self, request: ApiRequest) -> Exception:
        return BybitError(10001, f"params error: fake bybit does not emulate {request.method} {request.path}", 404)

    def fault_error(self, fault: Fault) -> Exception:
        if fault.kind == "insufficient_balance":
            return insufficient_balance()
        code, msg = FILTERS.get(str(fault.options["filter"]), FILTERS["LOT_SIZE"])
        return BybitError(code, msg)

    def too_many_requests(self, fault: Fault) -> Reply:
        body = self._envelope(None, 10006, "Too many visits. Exceeded the API Rate Limit.")
        return Reply(429, body, {"Retry-After": str(fault.options["retry_after"]), "X-Bapi-Limit-Status": "0"})

    def success(self, state: ExchangeState, payload: object) -> Reply:
        return Reply(200, self._envelope(state, 0, "OK", payload))

    def error_reply(self, state: ExchangeState, exc: Exception) -> Reply | None:
        if isinstance(exc, errors.BinanceError):
            exc = translate(exc)
        if isinstance(exc, BybitError):
            return Reply(exc.http_status, self._envelope(state, exc.code, exc.msg))
        return None

    def internal_error_reply(self) -> Reply:
        return Reply(200, self._envelope(None, 10016, "Internal server error."))

    def error_code(self, reply: Reply) -> int | None:
        if isinstance(reply.body, dict) and reply.body.get("retCode"):
            return int(reply.body["retCode"])
        return None

    @staticmethod
    def _envelope(state: ExchangeState | None, code: int, msg: str, result: object = None) -> dict:
        return {
            "retCode": code,
            "retMsg": msg,
            "result": result if result is not None else {},
            "retExtInfo": {},
            "time": state.now_ms if state is not None else 0,
        }
