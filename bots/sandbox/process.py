"""Host side of one sandboxed bot: a warm child process per bot version, spoken to in JSON lines.

``SandboxedBot`` starts its process lazily (on the first call), keeps it for later calls and starts a new
one after a crash, a timeout or a protocol error. Calls are serialised per bot (one process answers one
request at a time); use ``SandboxPool`` to share warm processes between threads.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from core.sdk import Candles, Decision, DecisionInvalid

from . import wire
from .cgroups import CgroupUnavailable
from .channel import MAX_ERROR_CHARS, Channel
from .command import find_bwrap, sandbox_check, sandbox_command
from .errors import SandboxError, SandboxProtocolError, SandboxUnavailable
from .limits import SandboxLimits
from .runtime import runtime_dir, stage_code
from .seccomp import SeccompUnavailable
from .streaming import Budget, sandboxed_backtest, sandboxed_lookahead

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class BotInfo:
    """What ``load`` found: the catalog metadata of the bot class, and whether it is a ``VectorBot``."""

    slug: str
    name: str
    description: str
    startup_candles: int
    config_schema: dict
    vectorized: bool
    bot_class: str


@dataclass(frozen=True)
class SubscriptionDecision:
    """One subscription's outcome of ``decide``: a ``decision`` and the new ``state``, or an ``error``."""

    id: Any
    decision: Decision | None = None
    state: dict | None = None
    error: str | None = None
    traceback: str = ""
    config_errors: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        if self.error is not None:
            return {"id": self.id, "error": self.error}
        return {"id": self.id, "decision": self.decision.to_json(), "state": self.state}


class _Resources:
    """What a ``SandboxedBot`` must release: its child and its staging folder (also on garbage collection and at
    exit). Only the process that created them releases them: a forked copy of the host (a prefork worker)
    exiting must not stop the parent's sandbox or delete its staged code."""

    def __init__(self) -> None:
        self.owner_pid = os.getpid()
        self.child: Channel | None = None
        # A started process with the bot loaded that was never sent a candle: the next backtest or lookahead check
        # streams to it (bots.sandbox.streaming), then it is stopped. Started in the background by prepare_fresh().
        self.fresh: Channel | None = None
        self.fresh_thread: threading.Thread | None = None
        self.staging: Path | None = None

    def release(self) -> None:
        if os.getpid() != self.owner_pid:
            return
        if self.fresh_thread is not None:
            self.fresh_thread.join()
            self.fresh_thread = None
        for channel in (self.child, self.fresh):
            if channel is not None:
                channel.kill()
        self.child = self.fresh = None
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


class SandboxedBot:
    """One uploaded bot version, run in a warm sandboxed process.

    ``code_path`` is the bot's code folder (``bot.py`` inside, or a package with ``entrypoint`` like
    ``"mybot.strategy:MyBot"``) or a single ``.py`` file; ``model_path`` an optional model file the bot finds
    at ``/bot/model/<name>`` (``core.sdk.model.model_path()``). Both are copied when the first process
    starts, so later changes on disk are not seen.

    Fails closed: when the sandbox is not usable here (``sandbox_check()``: bubblewrap, setpriv, prlimit, the
    seccomp filter, the cgroup controllers, a real start), the constructor raises ``SandboxUnavailable`` and
    nothing of the bot runs. There is no unsandboxed mode, in any configuration.

    Thread-safe: calls on one instance are serialised. Raises the ``bots.sandbox.errors`` exceptions, plus
    ``ConfigError`` for a bad bot/execution/risk config and ``InsufficientCandles`` from backtests.
    """

    def __init__(self, code_path: str | os.PathLike, *, entrypoint: str | None = None,
                 model_path: str | os.PathLike | None = None, limits: SandboxLimits | None = None) -> None:
        self.code_path = Path(code_path)
        self.model_path = Path(model_path) if model_path is not None else None
        self.entrypoint = entrypoint
        self.limits = limits or SandboxLimits()
        check = sandbox_check()
        bwrap = find_bwrap() if check.available else None
        if bwrap is None:
            raise SandboxUnavailable(f"the bot sandbox is required but unavailable: {check.reason}")
        self._bwrap = bwrap
        self.sandboxed = True  # always: kept for callers that report it
        self.starts = 0
        self.last_start_s: float | None = None
        self._info: BotInfo | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._resources = _Resources()
        self._finalizer = weakref.finalize(self, self._resources.release)

    def __enter__(self) -> SandboxedBot:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SandboxedBot {self.code_path} pid={self.pid} sandboxed={self.sandboxed}>"

    @property
    def pid(self) -> int | None:
        """The host pid of the running process (bwrap's, when sandboxed), or None when none runs."""
        child = self._resources.child
        return child.pid if child is not None and child.alive() else None

    @property
    def uid(self) -> int | None:
        """The host uid the bot's code runs as (a fresh one per process when the host is root), or None."""
        child = self._resources.child
        return child.command.uid if child is not None else None

    # -- the calls ------------------------------------------------------------------------------

    def load(self) -> BotInfo:
        """Start the process (if needed), import the bot and return its metadata."""
        with self._lock:
            self._ensure_child(self.limits.cpu_seconds)
            return self._info

    def decide(self, subscriptions: Sequence[Mapping[str, Any]],
               candles: Candles | Iterable) -> list[SubscriptionDecision]:
        """Decide for the last of ``candles`` (one market and timeframe) for every subscription at once.

        ``subscriptions``: ``[{"id": str | int, "config": dict | None, "state": dict | None}, ...]``. Returns one
        ``SubscriptionDecision`` per subscription, in order; one subscription's error does not fail the others.
        """
        sent = [{"id": sub["id"], "config": sub.get("config"), "state": sub.get("state")} for sub in subscriptions]

        def outcomes(result: Any) -> list[SubscriptionDecision]:
            try:
                results = wire.decide_results(result, len(sent))
            except SandboxProtocolError as error:
                raise _BadAnswer(str(error)) from None
            found = []
            for request, answer in zip(sent, results, strict=True):
                if not isinstance(answer, dict) or answer.get("id") != json.loads(json.dumps(request["id"])):
                    raise _BadAnswer("the bot's process answered decide for another subscription")
                found.append(self._outcome(request["id"], answer))
            return found

        return self._call("decide", {"candles": wire.candle_rows(candles), "subscriptions": sent}, outcomes)

    def backtest(self, candles: Candles | Iterable, *, config: dict | None = None,
                 starting_balance: Decimal | str = Decimal("10000"), fee_rate: Decimal | str = Decimal("0.001"),
                 slippage_rate: Decimal | str = Decimal("0"), execution_config: dict | None = None,
                 risk_config: dict | None = None, vectorized: bool | None = None, timeframe_ms: int | None = None,
                 timeout_s: float | None = None, progress: Callable[[int, int], None] | None = None) -> dict:
        """A backtest of this bot, computed on the host; returns ``BacktestResult.to_json()``.

        The sandbox only answers decisions: the host simulates the fills and computes the trades, the equity curve
        and the statistics with ``core.backtest.simulate``, as for a built-in bot. A ``VectorBot`` populates the
        whole series at once in the warm process, and the rows the simulation acted on plus a random sample of the
        others are recomputed in a fresh process streamed only the candles up to each row (a difference raises
        ``SandboxLookahead``); a per-candle bot (or ``vectorized=False``) is streamed candle by candle to a fresh
        process. See ``bots.sandbox.streaming``.

        ``timeout_s`` replaces both the wall-clock and the CPU limit for the whole backtest (backtests may need
        more than a decision). ``progress(done, total)`` is called as the host walks the candles (about a hundred
        times, in the calling thread). Raises ``ConfigError`` and ``InsufficientCandles`` as ``run_backtest`` does.
        """

        if not isinstance(candles, Candles):
            candles = Candles.from_rows(candles)
        with self._lock:
            return sandboxed_backtest(
                self, candles, config=config, starting_balance=starting_balance, fee_rate=fee_rate,
                slippage_rate=slippage_rate, execution_config=execution_config, risk_config=risk_config,
                vectorized=vectorized, timeframe_ms=timeframe_ms, progress=progress, budget=self._budget(timeout_s),
            )

    def lookahead(self, candles: Candles | Iterable, *, config: dict | None = None, sample_points: int | None = 50,
                  timeout_s: float | None = None) -> dict:
        """The lookahead check of a ``VectorBot``, decided on the host; returns ``LookaheadResult.to_json()``.

        The warm process populates the whole series; a fresh process, streamed the candles only up to each checked
        row, recomputes every BUY/SELL row and ``sample_points`` rows without a signal (chosen with ``secrets``;
        None: every row), and the first row that differs fails the check. A per-candle bot passes: its backtests
        are streamed to a process that never holds a later candle. See ``bots.sandbox.streaming``.
        """

        if not isinstance(candles, Candles):
            candles = Candles.from_rows(candles)
        with self._lock:
            return sandboxed_lookahead(self, candles, config=config, sample_points=sample_points,
                                       budget=self._budget(timeout_s))

    def prepare_fresh(self, *, wait: bool = False) -> None:
        """Start, in a background thread, the fresh process the next backtest or lookahead check streams to (the
        bot loaded, no candle ever sent), unless one is ready or starting; ``wait``: until it is ready. A
        long-lived bot that runs backtests back to back calls this after each, so the next one does not wait for
        a cold start. A failure to start is logged; the next call then starts one itself (and raises)."""
        with self._lock:
            resources = self._resources
            thread = resources.fresh_thread
            if self._closed or thread is not None or (resources.fresh is not None and resources.fresh.alive()):
                if wait and thread is not None:
                    thread.join()
                return
            self._stage()  # here, under the lock: the thread below only reads the staged folder

            def start() -> None:
                try:
                    channel = self._spawn()
                except (SandboxError, OSError) as error:
                    logger.warning("could not prepare a fresh sandbox for %s: %s", self.code_path, error)
                    channel = None
                resources.fresh = channel

            thread = resources.fresh_thread = threading.Thread(target=start, name="bot-sandbox-fresh", daemon=True)
            thread.start()
        if wait:
            thread.join()

    def ping(self) -> None:
        """One round trip without bot code (starts the process when none runs)."""
        self._call("ping", {}, lambda result: None)

    def close(self) -> None:
        """Stop the process and remove the staged code. Waits for a call in progress; idempotent."""
        self._closed = True
        with self._lock:
            self._finalizer()

    # -- internals ------------------------------------------------------------------------------

    def _call(self, op: str, payload: dict, check: Callable[[Any], T], *, timeout_s: float | None = None,
              on_progress: Callable[[int, int], None] | None = None) -> T:
        """Send one request to the (started) child and return ``check(result)``. ``check`` raises ``_BadAnswer``
        when the result has the wrong shape: the process is then stopped, as for any protocol error."""
        wall_s = self.limits.wall_timeout_s if timeout_s is None else timeout_s
        cpu_s = self.limits.cpu_seconds if timeout_s is None else min(timeout_s, self.limits.process_cpu_seconds)
        with self._lock:
            child = self._ensure_child(cpu_s)
            result = child.request(op, payload, timeout_s=wall_s, cpu_seconds=cpu_s, on_progress=on_progress)
            try:
                return check(result)
            except _BadAnswer as error:
                child.kill()
                self._resources.child = None
                raise SandboxProtocolError(str(error), stderr_tail=child.stderr.text()) from None

    def _ensure_child(self, cpu_s: float) -> Channel:
        """The running child, after starting one (and loading the bot) when none runs or when the next call could
        hit the process's lifetime CPU limit. Caller holds the lock."""
        if self._closed:
            raise SandboxError("this sandboxed bot was closed")
        if self._resources.owner_pid != os.getpid():
            # Its pipes are shared with the process it was copied from: answers would interleave.
            raise SandboxError("this sandboxed bot was created before a fork; create it (or the pool) per process")
        child = self._resources.child
        if child is not None and child.alive() and child.cpu_s + cpu_s + 1 <= self.limits.process_cpu_seconds:
            return child
        if child is not None:
            child.kill()
            self._resources.child = None
        return self._start()

    def _budget(self, timeout_s: float | None):

        wall_s = self.limits.wall_timeout_s if timeout_s is None else timeout_s
        cpu_s = self.limits.cpu_seconds if timeout_s is None else min(timeout_s, self.limits.process_cpu_seconds)
        return Budget(wall_s=wall_s, cpu_s=cpu_s)

    def _warm(self, cpu_s: float) -> Channel:
        """The warm process (started and loaded when none runs). Caller holds the lock."""
        return self._ensure_child(cpu_s)

    def _take_fresh(self) -> Channel:
        """A process with the bot loaded that was never sent a candle, now the caller's: it must ``kill()`` it when
        done, and never use it for anything else. Caller holds the lock."""
        if self._closed:
            raise SandboxError("this sandboxed bot was closed")
        resources = self._resources
        if resources.fresh_thread is not None:
            resources.fresh_thread.join()
            resources.fresh_thread = None
        channel, resources.fresh = resources.fresh, None
        if channel is not None and channel.alive():
            return channel
        return self._spawn()

    def _start(self) -> Channel:
        child = self._spawn()
        self._resources.child = child
        return child

    def _stage(self) -> None:
        if self._resources.staging is None:
            staging, default_entrypoint = stage_code(self.code_path, self.model_path)
            self._resources.staging = staging
            if self.entrypoint is None:
                self.entrypoint = default_entrypoint

    def _spawn(self) -> Channel:
        """Start a process and load the bot in it (filling ``_info`` the first time). Raises ``SandboxError``."""
        started = time.monotonic()
        self._stage()
        bot_dir = self._resources.staging / "bot"
        try:
            command = sandbox_command(self._bwrap, runtime_dir(), bot_dir, self.limits)
        except (SeccompUnavailable, CgroupUnavailable) as error:
            raise SandboxUnavailable(f"the bot sandbox is required but unavailable: {error}") from None
        child = Channel(command, self.limits)
        self.starts += 1
        try:
            result = child.request("load", {"entrypoint": self.entrypoint},
                                   timeout_s=self.limits.wall_timeout_s, cpu_seconds=self.limits.cpu_seconds)
            info = _bot_info(result)
        except SandboxError:
            child.kill()
            raise
        if self._info is None:
            self._info = info
        self.last_start_s = time.monotonic() - started
        logger.info("bot sandbox started for %s (pid %s) in %.3f s", self.code_path, child.pid, self.last_start_s)
        return child

    def _outcome(self, sub_id: Any, answer: dict) -> SubscriptionDecision:
        """One subscription's entry of a ``decide`` answer. Whatever is wrong with it (its shape, the decision, the
        size of the state) is that subscription's error: the entries of the others still count."""
        try:
            entry = wire.decide_entry(answer)
        except SandboxProtocolError as error:
            return SubscriptionDecision(sub_id, error=f"the bot's process answered with a bad entry: {error}")
        if "error" in entry:
            return SubscriptionDecision(
                sub_id, error=entry["error"], traceback=entry["traceback"], config_errors=entry["config_errors"]
            )
        try:
            decision = Decision.from_json(entry["decision"])
        except DecisionInvalid as error:
            message = f"the bot returned an invalid decision: {error}"
            return SubscriptionDecision(sub_id, error=message[:MAX_ERROR_CHARS])
        state = entry["state"]
        state_bytes = len(json.dumps(state, separators=(",", ":")))
        if state_bytes > self.limits.max_state_bytes:
            return SubscriptionDecision(
                sub_id, error=f"the bot's state is {state_bytes} bytes of JSON; at most {self.limits.max_state_bytes}"
            )
        return SubscriptionDecision(sub_id, decision=decision, state=state)


class _BadAnswer(Exception):
    """A well-formed answer whose result has the wrong shape (the child is untrusted)."""


def _bot_info(result: Any) -> BotInfo:
    """Check the shape and bounds of a ``load`` answer (it comes from untrusted code); see ``wire.load_metadata``."""
    return BotInfo(**wire.load_metadata(result))
