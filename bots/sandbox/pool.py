"""A bounded pool of warm sandboxed bots, one per key (the code's content hash), least recently used out first.

    pool = SandboxPool(max_size=16)
    with pool.bot(version.code_sha256, code_folder, entrypoint=version.entrypoint) as bot:
        outcomes = bot.decide(subscriptions, candles)

A bot is leased for the ``with`` block: eviction only ever closes bots nobody holds, so a caller never has
its process stopped under it. While more bots than ``max_size`` are leased at once the pool grows past
it, and shrinks back as they are returned.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .limits import SandboxLimits
from .process import SandboxedBot


@dataclass
class _Entry:
    bot: SandboxedBot
    spec: tuple
    leases: int = 0
    retired: bool = False  # removed from the pool (evicted or replaced); closed when the last lease ends


class SandboxPool:
    """Thread-safe. ``limits`` apply to every bot the pool creates; a bot is only ever created sandboxed (when the
    sandbox is unusable here, ``bot()`` raises ``SandboxUnavailable``)."""

    def __init__(self, *, max_size: int = 16, limits: SandboxLimits | None = None) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self.limits = limits or SandboxLimits()
        # One lock for the map and the lease counts; never held while a process starts, answers or stops.
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._closed = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def keys(self) -> list[Hashable]:
        """The keys with a bot in the pool, least recently used first."""
        with self._lock:
            return list(self._entries)

    @contextmanager
    def bot(self, key: Hashable, code_path: str | os.PathLike, *, entrypoint: str | None = None,
            model_path: str | os.PathLike | None = None) -> Iterator[SandboxedBot]:
        """Lease the warm bot of ``key``, creating it when the pool has none (its process starts on first use).

        A key names one immutable bot version: when it comes back with another ``code_path``, ``entrypoint``
        or ``model_path``, the old bot is replaced (and stopped once its last lease ends).
        """
        spec = (str(Path(code_path)), entrypoint, str(model_path) if model_path is not None else None)
        to_close: list[SandboxedBot] = []
        with self._lock:
            if self._closed:
                raise RuntimeError("the sandbox pool is closed")
            entry = self._entries.get(key)
            if entry is not None and entry.spec != spec:
                del self._entries[key]
                to_close += self._retire(entry)
                entry = None
            if entry is None:
                bot = SandboxedBot(code_path, entrypoint=entrypoint, model_path=model_path, limits=self.limits)
                entry = self._entries[key] = _Entry(bot, spec)
            self._entries.move_to_end(key)
            entry.leases += 1
            to_close += self._shrink()
        self._close_all(to_close)
        try:
            yield entry.bot
        finally:
            with self._lock:
                entry.leases -= 1
                if not entry.retired:
                    self._entries.move_to_end(key)  # just used: the last to go
                to_close = self._shrink()
                if entry.retired and entry.leases == 0:
                    to_close.append(entry.bot)
            self._close_all(to_close)

    def evict(self, key: Hashable) -> None:
        """Remove ``key``'s bot (e.g. its version was withdrawn); its process stops once nobody holds it."""
        with self._lock:
            entry = self._entries.pop(key, None)
            to_close = self._retire(entry) if entry is not None else []
        self._close_all(to_close)

    def close(self) -> None:
        """Stop every process (waiting for calls in progress). The pool cannot be used afterwards."""
        with self._lock:
            self._closed = True
            entries = list(self._entries.values())
            self._entries.clear()
            for entry in entries:
                entry.retired = True
        self._close_all([entry.bot for entry in entries])

    # -- internals (the caller holds self._lock) ------------------------------------------------

    def _retire(self, entry: _Entry) -> list[SandboxedBot]:
        entry.retired = True
        return [entry.bot] if entry.leases == 0 else []

    def _shrink(self) -> list[SandboxedBot]:
        """Drop least recently used idle bots until the pool fits ``max_size`` (leased ones are skipped)."""
        to_close = []
        for key in list(self._entries):
            if len(self._entries) <= self.max_size:
                break
            entry = self._entries[key]
            if entry.leases == 0:
                del self._entries[key]
                to_close += self._retire(entry)
        return to_close

    @staticmethod
    def _close_all(bots: list[SandboxedBot]) -> None:
        for bot in bots:
            bot.close()
