"""The resource limits of one sandboxed bot process (see docs/sandbox.md, "Limits")."""
from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one sandboxed bot process; the defaults suit live decisions and ordinary backtests.

    Per request (each ``load``/``decide``/``backtest``/``lookahead`` call):
    - ``wall_timeout_s``: the host stops the whole process (group) when no answer came in this time;
    - ``cpu_seconds``: CPU time the call may use (the child re-arms the soft ``RLIMIT_CPU`` before each call;
      exceeding it kills the process with SIGXCPU);
    - ``max_output_bytes``: the largest answer line the host reads; a longer one is a protocol error.

    Per process (kernel limits set before the interpreter starts):
    - ``memory_mb``: address space (``RLIMIT_AS``): a larger allocation fails with ``MemoryError``;
    - ``max_processes``: processes and threads of the sandbox user (``RLIMIT_NPROC``); contains a fork bomb;
    - ``file_size_mb``: the largest file it may write (``RLIMIT_FSIZE``), and ``tmp_size_mb`` the size of its
      private ``/tmp``, the only writable place;
    - ``process_cpu_seconds``: CPU time over the life of a warm process (the hard ``RLIMIT_CPU``); the host
      starts a fresh process before a call could run into it.

    ``max_state_bytes`` caps the JSON size of one subscription's ``state`` after ``decide``: the platform
    stores it in the database.
    """

    cpu_seconds: float = 10.0
    memory_mb: int = 1024
    max_processes: int = 32
    file_size_mb: int = 16
    wall_timeout_s: float = 30.0
    max_output_bytes: int = 16 * MB
    tmp_size_mb: int = 64
    process_cpu_seconds: int = 600
    max_state_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "memory_mb", "max_processes", "file_size_mb", "wall_timeout_s",
                     "max_output_bytes", "tmp_size_mb", "process_cpu_seconds", "max_state_bytes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"SandboxLimits.{name} must be positive, got {getattr(self, name)!r}")
        if self.process_cpu_seconds < self.cpu_seconds:
            raise ValueError("SandboxLimits.process_cpu_seconds must be at least cpu_seconds")
