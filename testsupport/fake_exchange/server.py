"""``FakeExchange``: a local HTTP server that answers like an exchange's spot REST API, for tests driving real
ccxt. ``FakeBinance`` speaks Binance's API (``binance_api.py``), ``FakeBybit`` Bybit's v5 (``bybit_api.py``); both
share the books, candles, fills (``state.py``) and fault injection (``faults.py``).

Start one per test (it binds 127.0.0.1 on an ephemeral port and serves from a daemon thread)::

    with FakeBinance.start() as fake:
        fake.load_project_candles("BTC/USDT", "1h")
        fake.add_account("key", "secret", balances={"USDT": "1000"})
        exchange = make_binance_client(fake.base_url, "key", "secret")
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)

Requests are served one per connection (HTTP/1.0), so a fault that drops or stalls a connection never
affects the next request. All state changes happen under one lock; a stalled reply waits outside it.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from core.candle_files import candle_file_name

from .binance_api import BinanceApi
from .bybit_api import BybitApi
from .faults import FaultInjector
from .markets import MarketSpec, default_markets
from .protocol import ExchangeApi, Reply
from .records import Balance, Order
from .state import ExchangeState

log = logging.getLogger(__name__)

#: the project's shipped candles (``data/candles/binance/BTC_USDT-1h.csv`` ...), see data/README.md
PROJECT_CANDLE_DIR = Path(__file__).resolve().parents[2] / "data" / "candles" / "binance"


@dataclass
class RequestRecord:
    """One request as the server saw it. ``params`` excludes the signature; ``client_order_id`` is the client id
    sent, if any (Binance: ``newClientOrderId`` on POST, ``origClientOrderId`` on GET/DELETE; Bybit:
    ``orderLinkId``); ``status`` is the HTTP status replied (0: no reply, a ``timeout_after_accept`` fault);
    ``error_code`` the exchange's code on errors (Binance's negative codes, Bybit's ``retCode``); ``fault`` the
    injected fault's kind."""

    seq: int
    method: str
    path: str
    params: dict[str, str]
    api_key: str | None
    client_order_id: str | None
    server_time_ms: int
    status: int = 0
    error_code: int | None = None
    fault: str | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        log.debug(f"fake {self.server.fake.api.name}: " + format, *args)

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length).decode() if length else ""
        reply = self.server.fake._dispatch(method, url.path, url.query, raw_body, self.headers)
        if reply.hang_s:
            # the client gives up first; wake early if the server is stopping
            self.server.fake._stopping.wait(reply.hang_s)
        if reply.hang_s or reply.drop:
            self.close_connection = True
            return
        if isinstance(reply.body, str):
            payload, content_type = reply.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(reply.body).encode(), "application/json;charset=UTF-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], fake: FakeExchange) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class FakeExchange:
    """A fake spot exchange; subclasses choose the API it speaks (:class:`FakeBinance`, :class:`FakeBybit`).

    ``markets`` defaults to BTCUSDT and ETHUSDT with Binance's real filters; ``candles`` maps
    ``(symbol, interval)`` to a CSV path; ``now_ms`` sets the clock (default: the second candle of the first
    series loaded, i.e. one closed candle and one in progress). ``client_id_policy``: ``"binance"`` (a client id
    is refused only while an order with it is open) or ``"strict"`` (never reusable); each exchange has its default.
    """

    api_class: type[ExchangeApi] = ExchangeApi
    #: the order-creating endpoint, where ``arm_fault`` aims by default
    order_path = ""
    default_client_id_policy = "binance"

    def __init__(
        self,
        *,
        markets: list[MarketSpec] | None = None,
        candles: dict[tuple[str, str], str | Path] | None = None,
        now_ms: int | None = None,
        client_id_policy: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        self.api = self.api_class()
        self.state = ExchangeState(
            markets if markets is not None else default_markets(),
            now_ms=now_ms,
            client_id_policy=client_id_policy or self.default_client_id_policy,
        )
        self.faults = FaultInjector()
        self.internal_errors: list[str] = []
        self._log: list[RequestRecord] = []
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        for (symbol, interval), path in (candles or {}).items():
            self.load_candles(symbol, interval, path)

    # --- lifecycle ---

    @classmethod
    def start(cls, **kwargs: object) -> FakeExchange:
        """Create a server (same arguments as the constructor) and start serving; returns it."""
        return cls(**kwargs).serve()  # type: ignore[arg-type]

    def serve(self) -> FakeExchange:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self._address, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-{self.api.name}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port. Stalled replies are woken and their connections closed."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeExchange:
        return self.serve()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash); give it to :func:`make_binance_client`."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not serving; call serve() or use .start()")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- setup ---

    def load_candles(self, symbol: str, interval: str, path: str | Path) -> None:
        """Replay ``path`` (CSV ``timestamp_ms,open,high,low,close,volume``) as ``symbol``'s ``interval`` klines.
        ``symbol`` may be Binance's id (``BTCUSDT``) or ccxt's (``BTC/USDT``)."""
        with self.lock:
            self.state.load_candles(symbol, interval, path)

    def load_project_candles(self, symbol: str, interval: str) -> None:
        """Load the project's shipped file for ``symbol`` (``BTC/USDT`` -> ``data/candles/binance/BTC_USDT-1h.csv``)."""
        self.load_candles(symbol, interval, PROJECT_CANDLE_DIR / candle_file_name(symbol, interval))

    def add_account(
        self,
        api_key: str,
        secret: str,
        balances: dict[str, str | Decimal] | None = None,
        *,
        restrictions: dict[str, bool] | None = None,
        maker_rate: str | Decimal = "0.001",
        taker_rate: str | Decimal = "0.001",
    ) -> None:
        """Register a key pair with free ``balances`` (asset -> amount) and apiRestrictions overrides,
        e.g. ``restrictions={"enableWithdrawals": True}``."""
        with self.lock:
            self.state.add_account(api_key, secret, balances, restrictions, maker_rate, taker_rate)

    def set_restrictions(self, api_key: str, **flags: bool) -> None:
        """Change a key's apiRestrictions flags (``enableSpotAndMarginTrading=False`` blocks orders with -2015)."""
        with self.lock:
            self.state.accounts[api_key].restrictions.update(flags)

    # --- clock ---

    @property
    def now_ms(self) -> int:
        with self.lock:
            return self.state.now_ms

    def set_time(self, now_ms: int) -> None:
        """Move the server clock forward to ``now_ms``; resting LIMIT orders fill against newly closed candles."""
        with self.lock:
            self.state.set_time(now_ms)

    def advance(self, ms: int) -> None:
        with self.lock:
            self.state.set_time(self.state.now_ms + ms)

    def set_partial_fills(self, ratio: str | Decimal | None) -> None:
        """Make each candle that crosses a resting order fill only ``ratio`` of it (None: fill completely)."""
        with self.lock:
            self.state.partial_fill_ratio = None if ratio is None else Decimal(ratio)

    def current_price(self, symbol: str) -> Decimal | None:
        """The price a MARKET order would fill at now (open of the candle in progress), or None."""
        with self.lock:
            return self.state.current_price(symbol.replace("/", ""))

    # --- faults ---

    def arm_fault(
        self,
        kind: str,
        *,
        method: str | None = "POST",
        path: str | None = "",
        count: int = 1,
        **options: object,
    ) -> None:
        """Fail the next ``count`` requests matching ``method`` + ``path`` with fault ``kind`` (see faults.py).
        ``path`` defaults to the exchange's order-creating endpoint (``order_path``); None matches any path."""
        if path == "":
            path = self.order_path
        with self.lock:
            self.faults.arm(kind, method=method, path=path, count=count, **options)

    def set_chaos(
        self,
        seed: int,
        probabilities: dict[str, float],
        *,
        match: list[tuple[str, str]] | None = None,
        options: dict[str, dict[str, object]] | None = None,
    ) -> None:
        """Inject faults at random with a seeded RNG (see :meth:`FaultInjector.set_chaos`)."""
        with self.lock:
            self.faults.set_chaos(seed, probabilities, match=match, options=options)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    # --- inspection (snapshots: changing them does not change the server) ---

    def requests(
        self, method: str | None = None, path: str | None = None, client_order_id: str | None = None
    ) -> list[RequestRecord]:
        """The request log, oldest first, optionally filtered."""
        with self.lock:
            return [
                copy.deepcopy(r)
                for r in self._log
                if (method is None or r.method == method)
                and (path is None or r.path == path)
                and (client_order_id is None or r.client_order_id == client_order_id)
            ]

    def orders(
        self, api_key: str | None = None, *, symbol: str | None = None, client_order_id: str | None = None
    ) -> list[Order]:
        """Orders on the server (any status), oldest first. ``symbol`` is Binance's id or ccxt's."""
        symbol = symbol.replace("/", "") if symbol else None
        with self.lock:
            return [
                copy.deepcopy(o)
                for o in self.state.orders
                if (api_key is None or o.api_key == api_key)
                and (symbol is None or o.symbol == symbol)
                and (client_order_id is None or o.client_order_id == client_order_id)
            ]

    def balance(self, api_key: str, asset: str) -> Balance:
        with self.lock:
            return copy.copy(self.state.accounts[api_key].balance(asset))

    # --- request handling (called from handler threads) ---

    def _dispatch(self, method: str, path: str, raw_query: str, raw_body: str, headers: Mapping[str, str]) -> Reply:
        request = self.api.parse(method, path, raw_query, raw_body, headers)
        with self.lock:
            record = RequestRecord(
                seq=len(self._log) + 1,
                method=method,
                path=path,
                params=dict(request.params),
                api_key=request.api_key,
                client_order_id=request.client_order_id,
                server_time_ms=self.state.now_ms,
            )
            self._log.append(record)
            fault = self.faults.pick(method, path)
            record.fault = fault.kind if fault else None
            try:
                reply = self.api.handle(self.state, request, fault)
            except Exception as exc:
                rejection = self.api.error_reply(self.state, exc)
                if rejection is None:
                    # a bug in the fake: answer like the exchange's internal error, keep the trace for tests
                    trace = traceback.format_exc()
                    self.internal_errors.append(trace)
                    log.error("fake %s internal error on %s %s\n%s", self.api.name, method, path, trace)
                    rejection = self.api.internal_error_reply()
                reply = rejection
            record.status = 0 if (reply.hang_s or reply.drop) else reply.status
            record.error_code = self.api.error_code(reply)
            return reply


class FakeBinance(FakeExchange):
    """A fake Binance spot exchange. See the package README for what it emulates and the fault list.

    ``client_id_policy`` is ``"binance"`` (a ``newClientOrderId`` is refused only while an order with it is open,
    Binance's rule) or ``"strict"`` (never reusable).
    """

    api_class = BinanceApi
    order_path = "/api/v3/order"


class FakeBybit(FakeExchange):
    """A fake Bybit v5 spot exchange (unified trading account), on the same core as :class:`FakeBinance`.

    Market symbols are the same ids (``BTCUSDT``). ``orderLinkId`` is never reusable (Bybit's rule), so
    ``client_id_policy`` defaults to ``"strict"``. See ``bybit_api.py`` and the README for what it emulates.
    """

    api_class = BybitApi
    order_path = "/v5/order/create"
    default_client_id_policy = "strict"
