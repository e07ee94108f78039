"""Fault injection: make the next N matching requests (or random ones) fail the way Binance/networks fail.

Faults and what ccxt 4.5's real ``binance`` class raises for each (checked by the package's tests):

``timeout_after_accept``  The request IS executed (an order is created and filled as usual), then the reply is
                          never sent. ``mode="hang"`` (default) holds the connection ``delay_s`` seconds (set it
                          above the client's timeout) -> ``ccxt.RequestTimeout``; ``mode="drop"`` closes the
                          connection at once -> ``ccxt.NetworkError`` (RequestTimeout's parent class).
``http_429``              Not executed; HTTP 429 + ``Retry-After`` + Binance's -1003 body -> ``ccxt.DDoSProtection``
                          (any 429/418; in ccxt 4.5 RateLimitExceeded is a *sibling*, so
                          ``except ccxt.RateLimitExceeded`` does not catch it; catch NetworkError).
``http_5xx``              HTTP ``status`` (503 by default) with a non-JSON body -> ``ccxt.ExchangeNotAvailable``
                          (504 -> ``ccxt.RequestTimeout``). ``accept=True`` executes the request first (an order
                          exists although the client saw an error: Binance's "execution status unknown").
``insufficient_balance``  Not executed; -2010 "Account has insufficient balance for requested action."
                          -> ``ccxt.InsufficientFunds``.
``reject_precision``      Not executed; -1013 "Filter failure: <filter>" (``filter="LOT_SIZE"`` by default,
                          or PRICE_FILTER -> ``ccxt.InvalidOrder``; NOTIONAL -> ``ccxt.BadRequest``), or
                          ``filter="precision"`` -> -1111 "Parameter 'quantity' has too much precision."
                          -> ``ccxt.BadRequest``.

Armed faults are consumed first-armed-first; random ("chaos") faults apply only when no armed fault matched.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

KINDS: dict[str, dict[str, object]] = {
    # kind -> its options and their defaults
    # 6 s: above make_binance_client's default 5 s timeout; tests should pass a short client timeout and delay
    "timeout_after_accept": {"delay_s": 6.0, "mode": "hang"},
    "http_429": {"retry_after": 1},
    "http_5xx": {"status": 503, "accept": False},
    "insufficient_balance": {},
    "reject_precision": {"filter": "LOT_SIZE"},
}


@dataclass(frozen=True)
class Fault:
    """A fault chosen for one request: its kind and its options (defaults filled in)."""

    kind: str
    options: dict[str, object]

    @property
    def executes_request(self) -> bool:
        """Whether the server still carries the request out before failing the reply."""
        return self.kind == "timeout_after_accept" or (self.kind == "http_5xx" and bool(self.options["accept"]))


def _resolve(kind: str, options: dict[str, object]) -> dict[str, object]:
    if kind not in KINDS:
        raise ValueError(f"unknown fault {kind!r}; known: {sorted(KINDS)}")
    unknown = set(options) - set(KINDS[kind])
    if unknown:
        raise ValueError(f"fault {kind!r} has no option(s) {sorted(unknown)}; it takes {sorted(KINDS[kind])}")
    return {**KINDS[kind], **options}


@dataclass
class _Armed:
    kind: str
    method: str | None
    path: str | None
    remaining: int
    options: dict[str, object]

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or self.path == path)


@dataclass
class _Chaos:
    rng: random.Random
    probabilities: list[tuple[str, float]]
    match: set[tuple[str, str]] | None
    options: dict[str, dict[str, object]] = field(default_factory=dict)


class FaultInjector:
    """Decides, per request, whether and how to fail it. Call under the server's lock."""

    def __init__(self) -> None:
        self._armed: list[_Armed] = []
        self._chaos: _Chaos | None = None

    def arm(
        self,
        kind: str,
        *,
        method: str | None = "POST",
        path: str | None = "/api/v3/order",
        count: int = 1,
        **options: object,
    ) -> None:
        """Fail the next ``count`` requests matching ``method`` + ``path`` (None matches anything) with ``kind``."""
        if count < 1:
            raise ValueError("count must be >= 1")
        self._armed.append(_Armed(kind, method, path, count, _resolve(kind, options)))

    def set_chaos(
        self,
        seed: int,
        probabilities: dict[str, float],
        *,
        match: list[tuple[str, str]] | None = None,
        options: dict[str, dict[str, object]] | None = None,
    ) -> None:
        """Inject faults at random (``random.Random(seed)``, so a run is reproducible).

        ``probabilities`` maps fault kind -> probability per matching request (their sum must be <= 1);
        ``match`` limits chaos to these (method, path) pairs (default: every request);
        ``options`` gives per-kind options, e.g. ``{"timeout_after_accept": {"delay_s": 1.5}}``.
        """
        if sum(probabilities.values()) > 1:
            raise ValueError("fault probabilities add up to more than 1")
        options = options or {}
        resolved = {kind: _resolve(kind, options.get(kind, {})) for kind in probabilities}
        self._chaos = _Chaos(
            random.Random(seed), list(probabilities.items()), set(match) if match is not None else None, resolved
        )

    def clear(self) -> None:
        """Disarm everything, chaos included."""
        self._armed.clear()
        self._chaos = None

    def pending(self) -> int:
        """How many armed fault uses are left."""
        return sum(a.remaining for a in self._armed)

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any (consumes one use of an armed fault)."""
        for armed in self._armed:
            if armed.matches(method, path):
                armed.remaining -= 1
                if armed.remaining == 0:
                    self._armed.remove(armed)
                return Fault(armed.kind, armed.options)
        chaos = self._chaos
        if chaos is None or (chaos.match is not None and (method, path) not in chaos.match):
            return None
        draw, cumulative = chaos.rng.random(), 0.0
        for kind, probability in chaos.probabilities:
            cumulative += probability
            if draw < cumulative:
                return Fault(kind, chaos.options[kind])
        return None
