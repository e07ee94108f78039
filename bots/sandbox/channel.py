"""One running sandbox child and the JSON-line channel to it (host side; see ``bots.sandbox.child``).

``Channel.request`` writes one request and reads one answer line within the call's wall-clock limit and
the output limit. Whatever goes wrong on the way (no answer in time, an answer that is not one, a dead
process) kills the process, which is then never used again, and raises the matching ``SandboxError``.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from typing import Any

from core.backtest import InsufficientCandles
from core.sdk import ConfigError

from . import wire
from .cgroups import is_zombie, namespace_pid, running_threads
from .command import ChildCommand
from .errors import (
    SandboxBotError,
    SandboxCrashed,
    SandboxError,
    SandboxProtocolError,
    SandboxStrayError,
    SandboxTimeout,
)
from .limits import SandboxLimits

logger = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024
MAX_ERROR_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000
# How often a call's wait looks at the CPU time of the sandbox's whole tree (its cgroup).
CPU_POLL_S = 0.05
# How long a process or thread the bot started may take to finish dying after its call answered.
STRAY_GRACE_S = 0.25

SIGNAL_HINTS = {
    signal.SIGXCPU: "CPU time limit",
    signal.SIGKILL: "killed: the process's lifetime CPU limit, or the system ran out of memory",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGXFSZ: "file size limit",
    signal.SIGBUS: "bus error",
}


class _StderrTail:
    """Drains the child's stderr in a thread (a full pipe would block the child) and keeps the last bytes."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="bot-sandbox-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        fd = self._stream.fileno()
        while True:
            try:
                chunk = os.read(fd, CHUNK_BYTES)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._tail += chunk
                del self._tail[:-STDERR_TAIL_BYTES]

    def text(self, wait_s: float = 0.0) -> str:
        if wait_s:
            self._thread.join(wait_s)  # after a crash: let the last words (faulthandler's stack) arrive
        with self._lock:
            return self._tail.decode(errors="replace")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


class _Spawner:
    """Starts every child process from one thread that lives as long as the host process.

    ``bwrap --die-with-parent`` sets ``PR_SET_PDEATHSIG`` on itself, and the kernel sends that signal when the
    *thread* that forked it exits, not the process. A warm sandbox started from a short-lived thread (a thread
    pool retiring a worker, a test's threads) was SIGKILLed in the middle of later calls (measured). Forked
    from this thread instead, "dies with its parent" means "dies with the host process", which is the intent.
    """

    def __init__(self) -> None:
        self._reset()
        # A forked host process (a prefork worker) has no spawner thread, and the lock or queue may have been
        # copied mid-use: start over there.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def popen(self, argv: list[str], **options) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="bot-sandbox-spawner", daemon=True)
                self._thread.start()
        result: Future = Future()
        self._requests.put((argv, options, result))
        return result.result()

    def _serve(self) -> None:
        while True:  # never returns: its exit would kill every sandbox it started
            argv, options, result = self._requests.get()
            try:
                result.set_result(subprocess.Popen(argv, **options))  # noqa: S603 - argv from bots.sandbox.command
            except BaseException as error:  # handed to the waiting caller, whatever it is
                result.set_exception(error)


_spawner = _Spawner()


class Channel:
    """One running child process. Not thread-safe: ``SandboxedBot`` holds its lock around every use."""

    def __init__(self, command: ChildCommand, limits: SandboxLimits) -> None:
        self.command = command
        self.limits = limits
        self.cgroup = command.cgroup
        self._call_cpu_ns = 0
        try:
            self.popen = _spawner.popen(
                command.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=command.env,
                cwd=command.cwd,
                # Its own process group, so a timeout can kill the whole group at once.
                start_new_session=True,
                bufsize=0,
                pass_fds=command.pass_fds,
            )
        except OSError as error:
            if self.cgroup is not None:
                self.cgroup.remove()
            raise SandboxError(f"could not start the bot's process: {error}") from None
        finally:
            command.close_fds()  # the child has its copy (bwrap reads the seccomp filter from it)
        self.stderr = _StderrTail(self.popen.stderr)
        os.set_blocking(self.popen.stdin.fileno(), False)
        os.set_blocking(self.popen.stdout.fileno(), False)
        self.seq = 0
        self.cpu_s = 0.0
        self.killed = False
        self._session_cpu_s: float | None = None
        self._next_cpu_check = 0.0

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return not self.killed and self.popen.poll() is None

    def kill(self) -> None:
        """Kill every process of the sandbox's cgroup (frozen or not) and the process group, then remove the cgroup;
        with bwrap, the sandbox's PID namespace (every process in it) dies with it."""
        self.killed = True
        if self.cgroup is not None:
            self.cgroup.kill()
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                logger.error("bot sandbox process %s did not die after SIGKILL", self.popen.pid)
        for stream in (self.popen.stdin, self.popen.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        if self.cgroup is not None:
            self.cgroup.remove()

    @contextlib.contextmanager
    def session(self, cpu_seconds: float) -> Iterator[None]:
        """Many requests as one call (a streamed backtest sends one ``step`` per candle): the sandbox is thawed once,
        the CPU time of its whole tree counts against ``cpu_seconds`` from here, and at the end, as after any call,
        nothing of the bot may still run and the sandbox is frozen. Thawing, scanning and freezing around each of
        3000 steps cost more than the steps themselves (measured: 4 s instead of under 1 s). After an error inside,
        the caller stops the process (the sandbox is left thawed)."""
        self._begin_call()
        self._session_cpu_s = cpu_seconds
        try:
            yield
        finally:
            self._session_cpu_s = None
        if self.alive():
            self._end_call(cpu_seconds)

    # -- one request ----------------------------------------------------------------------------

    def request(
        self,
        op: str,
        payload: Mapping[str, Any],
        *,
        timeout_s: float,
        cpu_seconds: float,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Any:
        """Send one request and return its ``result``; raise a ``SandboxError`` (having killed the process when
        it can no longer be trusted to answer in step) or ``ConfigError``/``InsufficientCandles``.

        ``on_progress(done, total)`` receives the progress lines the child writes before its answer (a backtest
        asked with ``"progress": true``); without it, such a line is a protocol error like any extra line."""
        self.seq += 1
        message = {"seq": self.seq, "op": op, "cpu_seconds": cpu_seconds, **payload}
        request = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        in_session = self._session_cpu_s is not None
        if not in_session:
            self._begin_call()
        line, more = self._exchange(request, timeout_s, self._session_cpu_s or cpu_seconds, on_progress)
        if not in_session:
            self._end_call(cpu_seconds)
        # The line is untrusted (the bot can write it): read it within bounds and check it against the schema
        # (bots.sandbox.wire); any violation stops the process.
        try:
            message = wire.parse_line(line, max_bytes=wire.max_line_bytes(op, self.limits.max_output_bytes))
            if more:
                # The child writes one line and waits: anything after it was written by someone else (the bot).
                raise SandboxProtocolError("the bot's process wrote more than one answer")
            answer = wire.envelope(message, seq=self.seq, op=op)
        except SandboxProtocolError as error:
            self._fail_protocol(str(error))
        if answer["cpu_s"] is not None:
            self.cpu_s = answer["cpu_s"]
        if answer["ok"]:
            return answer["result"]
        error = answer["error"]
        kind, text = error["kind"], error["message"]
        if kind == "config":
            raise ConfigError(error["errors"] or [{"field": "", "message": text}])
        if kind == "insufficient_candles":
            raise InsufficientCandles(text)
        if kind == "bot":
            raise SandboxBotError(f"the bot raised {text}", traceback=error["traceback"])
        raise SandboxProtocolError(f"the sandbox refused the request: {text}")

    def _progress_line(self, line: bytes, on_progress: Callable[[int, int], None] | None) -> bool:
        """True when ``line`` is a progress line of the current request (handed to ``on_progress``). The child is
        not trusted: anything but two sane integers is not a progress line (and so fails as an answer)."""
        if on_progress is None:
            return False
        progress = wire.progress(line, seq=self.seq)
        if progress is None:
            return False
        on_progress(progress[0], progress[1])
        return True

    def _exchange(
        self,
        payload: bytes,
        timeout_s: float,
        cpu_seconds: float,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> tuple[bytes, bool]:
        """Write ``payload`` and read one answer line, both within ``timeout_s``; at most ``max_output_bytes``.
        Progress lines before it go to ``on_progress`` (see ``request``).

        Returns the line and whether more bytes came after it."""
        deadline = time.monotonic() + timeout_s
        stdin_fd, stdout_fd = self.popen.stdin.fileno(), self.popen.stdout.fileno()
        pending = memoryview(payload)
        received = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(stdin_fd, selectors.EVENT_WRITE)
            selector.register(stdout_fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise SandboxTimeout(
                        f"the bot did not answer within {timeout_s:g} s (wall-clock limit); its process was stopped",
                        kind="wall", limit_s=timeout_s,
                    )
                ready = selector.select(min(remaining, CPU_POLL_S))
                # Read the tree's CPU time every CPU_POLL_S, not at every wake-up: a streamed backtest wakes here
                # thousands of times, and each reading is a file read (the end of the call reads it anyway).
                now = time.monotonic()
                if now >= self._next_cpu_check:
                    self._next_cpu_check = now + CPU_POLL_S
                    self._check_tree_cpu(cpu_seconds)
                for key, _events in ready:
                    if key.fd == stdin_fd:
                        try:
                            written = os.write(stdin_fd, pending[:CHUNK_BYTES])
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:
                            self._fail_exited(cpu_seconds)
                        pending = pending[written:]
                        if not pending:
                            selector.unregister(stdin_fd)
                        continue
                    try:
                        chunk = os.read(stdout_fd, CHUNK_BYTES)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        self._fail_exited(cpu_seconds)
                    start = len(received)
                    received += chunk
                    newline = received.find(b"\n", start)
                    while 0 <= newline <= self.limits.max_output_bytes:
                        line = bytes(received[:newline])
                        if not self._progress_line(line, on_progress):
                            return line, newline + 1 < len(received)
                        del received[: newline + 1]
                        newline = received.find(b"\n")
                    if len(received) > self.limits.max_output_bytes:
                        self._fail_protocol(
                            f"the bot's answer is larger than {self.limits.max_output_bytes} bytes "
                            "(output limit); its process was stopped"
                        )

    # -- the whole tree (the sandbox's cgroup) --------------------------------------------------

    def _begin_call(self) -> None:
        """Let the sandbox run again (it is frozen between calls) and start counting the call's CPU time."""
        if self.cgroup is not None:
            self.cgroup.thaw()
            self._call_cpu_ns = self.cgroup.cpu_ns()
            self._next_cpu_check = time.monotonic() + CPU_POLL_S

    def _check_tree_cpu(self, cpu_seconds: float) -> None:
        """Stop the sandbox when its processes and threads together used more than the call's CPU time (the
        child's ``RLIMIT_CPU`` counts only its own process)."""
        if self.cgroup is not None and self.cgroup.cpu_ns() - self._call_cpu_ns > cpu_seconds * 1e9:
            self.kill()
            raise SandboxTimeout(
                f"the bot used more than {cpu_seconds:g} s of CPU time in one call (CPU limit); "
                "its process was stopped",
                kind="cpu", limit_s=cpu_seconds,
            )

    def _leftovers(self) -> tuple[list[int], int]:
        """Processes of the cgroup that are not the sandbox's own (bwrap, its PID 1 and the child, which is PID 2
        in the sandbox's namespace), and the child's threads that still run (besides its main thread, which waits
        for the next request). Idle threads (a library's thread pool) may stay: they are frozen with the rest
        until the next call, whose CPU time counts whatever they do then."""
        strays, threads = [], 0
        for pid in self.cgroup.pids():
            if pid == self.popen.pid or is_zombie(pid):
                continue
            inner = namespace_pid(pid)
            if inner == 2:
                threads = running_threads(pid)
            elif inner != 1:
                strays.append(pid)
        return strays, threads

    def _end_call(self, cpu_seconds: float) -> None:
        """After an answer: the call's CPU time of the whole tree, then nothing of the bot may still run (no process
        it forked, no thread of it running), then freeze the sandbox until the next call."""
        if self.cgroup is None:
            return
        self._check_tree_cpu(cpu_seconds)
        deadline = time.monotonic() + STRAY_GRACE_S
        strays, threads = self._leftovers()
        while (strays or threads) and time.monotonic() < deadline:
            time.sleep(0.005)  # a killed process, or a thread pool's spin before it sleeps, takes a moment
            strays, threads = self._leftovers()
        if strays or threads:
            self.kill()
            raise SandboxStrayError(
                f"the bot left {len(strays)} process(es) and {threads} running thread(s) behind when its call "
                "returned; nothing of a bot may run between calls, so its sandbox was stopped and the answer discarded",
                processes=len(strays), threads=threads,
            )
        if not self.cgroup.freeze():
            logger.warning("bot sandbox %s did not freeze in time; stopping it", self.popen.pid)
            self.kill()

    def _fail_protocol(self, message: str) -> None:
        self.kill()
        raise SandboxProtocolError(message, stderr_tail=self.stderr.text(wait_s=1))

    def _fail_exited(self, cpu_seconds: float) -> None:
        """The child closed its end: it died (or is dying). Raise what it died of."""
        out_of_memory = self.cgroup is not None and self.cgroup.oom_kills() > 0
        try:
            returncode = self.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            returncode = self.popen.returncode
        self.kill()
        stderr = self.stderr.text(wait_s=1)
        exit_code, signal_number = self._decode(returncode)
        if signal_number == signal.SIGXCPU:
            raise SandboxTimeout(
                f"the bot used more than {cpu_seconds:g} s of CPU time in one call (CPU limit); "
                "its process was stopped",
                kind="cpu", limit_s=cpu_seconds,
            )
        if signal_number is not None:
            try:
                name = signal.Signals(signal_number).name
            except ValueError:
                name = f"signal {signal_number}"
            hint = SIGNAL_HINTS.get(signal_number)
            if out_of_memory:
                hint = f"memory limit of the whole sandbox: {self.limits.memory_mb} MB"
            message = f"the bot's process died of {name}" + (f" ({hint})" if hint else "")
        else:
            message = f"the bot's process exited with code {exit_code}"
        last = _last_line(stderr)
        raise SandboxCrashed(message + (f"; its last output: {last}" if last else ""),
                             exit_code=exit_code, signal=signal_number, stderr_tail=stderr)

    def _decode(self, returncode: int | None) -> tuple[int | None, int | None]:
        """``(exit_code, signal)``. bwrap exits with 128 + N when the sandboxed process died of signal N."""
        if returncode is None:
            return None, signal.SIGKILL
        if returncode < 0:
            return None, -returncode
        if self.command.sandboxed and 128 < returncode < 128 + 65:
            return None, returncode - 128
        return returncode, None

