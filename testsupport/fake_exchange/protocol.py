"""What differs between the fake exchanges: one :class:`ExchangeApi` per exchange (its request parsing, signature
check, routes, reply envelope and error shapes), in front of the shared core (``state.py``: books, candles, fills;
``faults.py``: fault injection).

The server (``server.py``) owns the HTTP socket, the lock, the clock and the request log; for each request it asks
the exchange's API to :meth:`~ExchangeApi.parse` it (outside the lock), then to :meth:`~ExchangeApi.handle` it
(under the lock). Adding an exchange means writing a sibling of ``binance_api.py`` / ``bybit_api.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .faults import Fault
from .records import Account
from .state import ExchangeState

#: A route: (state, authenticated account or None, request params) -> the reply's payload (before any envelope).
Endpoint = Callable[[ExchangeState, Account | None, dict[str, str]], object]


@dataclass
class Reply:
    status: int = 200
    body: object = None  # JSON-able, or str for a non-JSON body
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0  # stall this long, then close without replying
    drop: bool = False  # close without replying


@dataclass
class ApiRequest:
    """One request as the exchange's API understood it. ``params`` merges query string and body (signature
    parameters removed); ``client_order_id`` is the exchange's client id parameter if one was sent."""

    method: str
    path: str
    params: dict[str, str]
    raw_query: str
    raw_body: str
    headers: Mapping[str, str]
    api_key: str | None
    client_order_id: str | None


class ExchangeApi:
    """The exchange-specific half of a fake exchange. Subclasses set ``name`` and ``routes`` and implement the
    hooks below; :meth:`handle` is the shared order of events (gateway faults, routing, authentication, order
    faults, execution, faults after execution)."""

    name = "exchange"
    #: (method, path) -> (endpoint, signed)
    routes: dict[tuple[str, str], tuple[Endpoint, bool]] = {}

    # --- hooks ---

    def parse(self, method: str, path: str, raw_query: str, raw_body: str, headers: Mapping[str, str]) -> ApiRequest:
        raise NotImplementedError

    def authenticate(self, state: ExchangeState, request: ApiRequest) -> Account:
        """The account whose key signed ``request``; raises the exchange's authentication error otherwise."""
        raise NotImplementedError

    def unknown_route(self, request: ApiRequest) -> Exception:
        raise NotImplementedError

    def fault_error(self, fault: Fault) -> Exception:
        """The rejection an ``insufficient_balance`` or ``reject_precision`` fault produces."""
        raise NotImplementedError

    def too_many_requests(self, fault: Fault) -> Reply:
        raise NotImplementedError

    def success(self, state: ExchangeState, payload: object) -> Reply:
        """Wrap an endpoint's payload (Bybit puts it in an envelope; Binance sends it as it is)."""
        return Reply(200, payload)

    def error_reply(self, state: ExchangeState, exc: Exception) -> Reply | None:
        """The reply for a rejection raised by an endpoint; None if ``exc`` is not one (a bug in the fake)."""
        raise NotImplementedError

    def internal_error_reply(self) -> Reply:
        raise NotImplementedError

    def error_code(self, reply: Reply) -> int | None:
        """The exchange's error code in ``reply``, for the request log (None on success)."""
        return None

    # --- the shared order of events ---

    def handle(self, state: ExchangeState, request: ApiRequest, fault: Fault | None) -> Reply:
        # gateway-level faults come before anything else, as a rate limiter or load balancer would
        if fault and fault.kind == "http_429":
            return self.too_many_requests(fault)
        if fault and fault.kind == "http_5xx" and not fault.executes_request:
            return self.reply_5xx(fault)
        route = self.routes.get((request.method, request.path))
        if route is None:
            raise self.unknown_route(request)
        endpoint, signed = route
        account = self.authenticate(state, request) if signed else None
        if fault and fault.kind in ("insufficient_balance", "reject_precision"):
            raise self.fault_error(fault)
        payload = endpoint(state, account, request.params)
        if fault and fault.kind == "timeout_after_accept":
            if fault.options["mode"] == "drop":
                return Reply(drop=True)
            return Reply(hang_s=float(fault.options["delay_s"]))  # type: ignore[arg-type]
        if fault and fault.kind == "http_5xx":
            return self.reply_5xx(fault)
        return self.success(state, payload)

    @staticmethod
    def reply_5xx(fault: Fault) -> Reply:
        status = int(fault.options["status"])  # type: ignore[call-overload]
        # a proxy's plain-text page: with no exchange error code in it, ccxt maps the HTTP status itself
        return Reply(status, f"{status} Service Unavailable.")
