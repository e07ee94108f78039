"""What can go wrong when the platform runs uploaded bot code in the sandbox.

Every message is safe to show the bot's developer: it names the limit that was hit, never a host path,
a setting or a secret. The tracebacks and stderr tails come from inside the sandbox, where only the
bot's own code, the SDK and the Python libraries are visible.

    SandboxError
    ├── SandboxTimeout        the call took too long (wall clock) or used too much CPU time
    ├── SandboxCrashed        the bot's process died (exit code / signal, tail of its stderr)
    ├── SandboxProtocolError  the process answered something that is not a valid answer (or too much of it)
    ├── SandboxBotError       the bot's code raised an exception (carries the bot's traceback)
    │   └── SandboxStrayError  a process or running thread of the bot was still alive when its call answered
    ├── SandboxLookahead      a backtest's decisions changed when recomputed without the later candles
    └── SandboxUnavailable    the sandbox cannot run here (bubblewrap, seccomp or cgroups missing): nothing runs

After a ``SandboxTimeout``, ``SandboxCrashed`` or ``SandboxProtocolError`` the process has been stopped;
the next call starts a fresh one. After a ``SandboxBotError`` the process keeps running, except after a
``SandboxStrayError``: the whole sandbox was killed (and the call's answer discarded).
"""
from __future__ import annotations

import signal as signals


class SandboxError(Exception):
    """Base class of every sandbox failure."""


class SandboxTimeout(SandboxError):
    """The bot did not answer in time. ``kind`` is ``"wall"`` (wall-clock timeout) or ``"cpu"`` (CPU time)."""

    def __init__(self, message: str, *, kind: str, limit_s: float) -> None:
        super().__init__(message)
        self.kind = kind
        self.limit_s = limit_s


class SandboxCrashed(SandboxError):
    """The bot's process died. ``exit_code`` is its exit status, or ``signal`` the number of the signal that
    killed it (one of them is set); ``stderr_tail`` is the end of what it wrote to stderr."""

    def __init__(self, message: str, *, exit_code: int | None = None, signal: int | None = None,
                 stderr_tail: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.signal = signal
        self.stderr_tail = stderr_tail

    @property
    def signal_name(self) -> str | None:
        if self.signal is None:
            return None
        try:
            return signals.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"


class SandboxProtocolError(SandboxError):
    """The process wrote something that is not one valid JSON answer: garbage, an answer to another request,
    or more than ``SandboxLimits.max_output_bytes``. ``stderr_tail`` helps to see why."""

    def __init__(self, message: str, *, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


class SandboxBotError(SandboxError):
    """The bot's code raised. ``traceback`` is the bot's traceback text (paths as seen inside the sandbox)."""

    def __init__(self, message: str, *, traceback: str = "") -> None:
        super().__init__(message)
        self.traceback = traceback


class SandboxStrayError(SandboxBotError):
    """When the call answered, the sandbox still held a process the bot forked (``processes``) or a running thread
    it started (``threads``; idle threads of a library's pool may stay, frozen with the rest). Nothing of a bot
    may run between calls, so the sandbox was killed and the answer discarded. The bot's fault, like any
    ``SandboxBotError``; the next call starts a fresh process."""

    def __init__(self, message: str, *, processes: int, threads: int) -> None:
        super().__init__(message)
        self.processes = processes
        self.threads = threads


class SandboxUnavailable(SandboxError):
    """The sandbox is not usable on this machine (bubblewrap, setpriv, prlimit, libseccomp or the cgroup
    controllers missing, or a test start failed). The bot is refused: there is no unsandboxed fallback."""


class SandboxLookahead(SandboxError):
    """A backtest's decisions did not survive verification: recomputed in a fresh process that never held a
    later candle, the decision on candle ``index`` (opened at ``time_ms``) came out differently, so the bot used
    future candles (or decides at random). The backtest has no result."""

    def __init__(self, message: str, *, index: int, time_ms: int) -> None:
        super().__init__(message)
        self.index = index
        self.time_ms = time_ms
