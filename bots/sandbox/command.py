"""The command line that starts a sandboxed bot process, and the check that bubblewrap works here.

Inside the sandbox (docs/sandbox.md has the full picture):
- ``/usr`` (and the ``/bin``, ``/lib*`` links or folders), the Python installation the host runs on and its
  virtualenv at ``/sandbox/venv``, all read-only: the interpreter and its libraries, nothing else of the host;
- ``/sandbox/lib``: the runtime folder (SDK + backtest engine + child entry), read-only;
- ``/bot``: the bot's staged code (and ``/bot/model/<file>``), read-only;
- ``/tmp``: a private, size-limited tmpfs, the only writable place; a fresh ``/proc`` and a minimal ``/dev``.
No network (a new, empty network namespace), no host processes (new PID namespace), no environment but
``CHILD_ENV``.

Who the bot runs as:
- host is root: bwrap runs without a user namespace and the child drops to a fresh unprivileged uid from
  ``UID_FIRST..UID_FIRST + UID_COUNT`` (``setpriv``) before exec. ``RLIMIT_NPROC`` counts processes per real
  uid and is not enforced for uid 0, which is why ``--unshare-user --uid 65534`` is not enough as root: that
  uid maps back to host root (measured: 200 of 200 forks succeeded under ``--nproc=16``). A uid of its own
  per process also keeps one sandbox's fork bomb from using up another's process budget.
- host is not root: bwrap makes a user namespace (``--unshare-user --disable-userns``); the bot runs as
  uid 65534 inside, the service's uid outside, where ``RLIMIT_NPROC`` applies.
Limits are set by ``prlimit`` inside the sandbox, just before the interpreter starts.
"""
from __future__ import annotations

import contextlib
import math
import os
import secrets
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from .cgroups import CgroupUnavailable, SandboxCgroup, new_cgroup
from .limits import MB, SandboxLimits
from .runtime import CHILD_MODULE
from .seccomp import SeccompUnavailable, filter_fd

BWRAP_CANDIDATES = ("/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap")
SETPRIV = "/usr/bin/setpriv"
PRLIMIT = "/usr/bin/prlimit"

SANDBOX_LIB = "/sandbox/lib"
SANDBOX_VENV = "/sandbox/venv"
SANDBOX_BOT = "/bot"

# Unprivileged uids for sandboxed processes when the host runs as root; no host account may use them.
UID_FIRST = 2_000_000_000
UID_COUNT = 100_000_000
NOBODY = 65534

# The child's whole environment: nothing of the host's (SECRET_KEY, database URLs, API keys ...).
SANDBOX_TMP = "/tmp"  # noqa: S108 - the sandbox's own private tmpfs, not the host's /tmp
CHILD_ENV = {
    "HOME": SANDBOX_TMP,
    "TMPDIR": SANDBOX_TMP,
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    # One thread each: threads count against RLIMIT_NPROC, and the host runs many bots side by side.
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}

# Runs on the host and becomes bwrap: it first moves itself into the sandbox's cgroup (one cgroup.procs file per
# hierarchy, the arguments before "--"), so every process of the sandbox starts inside it; a failed write stops it.
LAUNCHER = 'set -e; while [ "$1" != -- ]; do echo $$ > "$1"; shift; done; shift; exec "$@"'
SHELL = "/bin/sh"

# -I: isolated mode (no PYTHON* variables, no user site, no script folder on sys.path); -B: no .pyc writes.
BOOTSTRAP = f"import sys; sys.path.insert(0, sys.argv[1]); from {CHILD_MODULE} import main; main(sys.argv[2:])"


@dataclass(frozen=True)
class ChildCommand:
    """How to start one child: ``argv`` for ``subprocess.Popen``, its ``env``, its ``cwd`` and ``uid``
    (the host uid it runs as, None when unknown); ``sandboxed`` is always True (there is no other mode).

    ``pass_fds`` (the seccomp filter's descriptor) must reach the child through ``Popen(pass_fds=...)`` and
    belong to whoever starts it: ``close_fds()`` once the child started (or failed to). ``cgroup`` is the
    sandbox's own cgroup (``bots.sandbox.cgroups``), which the starter removes when the child stops."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    sandboxed: bool
    uid: int | None
    pass_fds: tuple[int, ...] = ()
    cgroup: SandboxCgroup | None = None

    def close_fds(self) -> None:
        for fd in self.pass_fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def find_bwrap() -> str | None:
    for path in BWRAP_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("bwrap")


def _interpreter() -> tuple[list[tuple[str, str]], str]:
    """Read-only binds ``(host path, sandbox path)`` for the host's Python, and the executable inside.

    The child must run the very interpreter and numpy/TA-Lib build the platform runs. The base installation
    keeps its path (its ``libpython`` is found through an absolute rpath); a virtualenv moves to
    ``/sandbox/venv``, so the project's path appears nowhere.
    """
    base = os.path.realpath(sys.base_prefix)
    binds = [] if base == "/usr" or base.startswith("/usr/") else [(base, base)]
    executable = Path(sys.executable)
    if os.path.realpath(sys.prefix) != base:
        venv = Path(sys.prefix)
        binds.append((str(venv), SANDBOX_VENV))
        return binds, f"{SANDBOX_VENV}/{executable.relative_to(venv)}"
    return binds, str(executable)


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _dirs_for(destination: str, made: set[str]) -> list[str]:
    """``--dir`` options creating the parents of a mount point as 0755: bwrap would create them 0700, owned
    by root, and the unprivileged child could not reach what is mounted below them."""
    args = []
    parts = Path(destination).parts[1:-1]
    for depth in range(1, len(parts) + 1):
        folder = "/" + "/".join(parts[:depth])
        if folder not in made and not folder.startswith("/usr"):
            made.add(folder)
            args += ["--perms", "0755", "--dir", folder]
    return args


def rlimit_args(limits: SandboxLimits) -> list[str]:
    """``prlimit`` options: the per-call CPU soft limit (re-armed by the child) under the per-process hard one."""
    cpu_soft = max(1, math.ceil(limits.cpu_seconds))
    return [
        f"--cpu={cpu_soft}:{limits.process_cpu_seconds}",
        f"--as={limits.memory_mb * MB}",
        f"--nproc={limits.max_processes}",
        f"--fsize={limits.file_size_mb * MB}",
        "--core=0",  # a core dump would copy the bot's memory to wherever the host keeps cores
    ]


def sandbox_command(bwrap: str, runtime: Path, bot_dir: Path | None, limits: SandboxLimits) -> ChildCommand:
    """The command line for a child with ``runtime`` at /sandbox/lib and ``bot_dir`` at /bot: a launcher that
    joins a new cgroup (``bots.sandbox.cgroups``: memory, tasks and CPU of the whole tree) and execs bwrap under
    the seccomp filter (``bots.sandbox.seccomp``). Raises ``SeccompUnavailable`` or ``CgroupUnavailable``. The
    caller owns the returned command's ``pass_fds`` and ``cgroup``."""
    cgroup = new_cgroup(limits)
    try:
        seccomp_fd = filter_fd()
    except BaseException:
        cgroup.remove()
        raise
    as_root = os.geteuid() == 0
    uid = UID_FIRST + secrets.randbelow(UID_COUNT) if as_root else None
    python_binds, python = _interpreter()
    argv = [bwrap]
    if as_root:
        # Every namespace but the user namespace (see the module docstring); the child keeps only the two
        # capabilities setpriv needs to drop to its own uid, and setpriv then clears them.
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--unshare-all", "--unshare-user", "--disable-userns",
                 "--uid", str(NOBODY), "--gid", str(NOBODY)]
    argv += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv",
             "--seccomp", str(seccomp_fd)]
    for name, value in CHILD_ENV.items():
        argv += ["--setenv", name, value]
    argv += _system_binds()
    made: set[str] = set()
    mounts = [*python_binds, (str(runtime), SANDBOX_LIB)]
    if bot_dir is not None:
        mounts.append((str(bot_dir), SANDBOX_BOT))
    for source, destination in mounts:
        argv += _dirs_for(destination, made) + ["--ro-bind", source, destination]
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmp_size_mb * MB), "--tmpfs", SANDBOX_TMP,
             "--remount-ro", "/", "--chdir", SANDBOX_TMP, "--"]
    if as_root:
        argv += [SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--no-new-privs", "--"]
    else:
        argv += [SETPRIV, "--no-new-privs", "--"]
    argv += [PRLIMIT, *rlimit_args(limits), "--"]
    argv += [python, "-I", "-B", "-c", BOOTSTRAP, SANDBOX_LIB, "--bot", SANDBOX_BOT,
             "--cpu-seconds", str(limits.cpu_seconds), "--reap-strays"]
    argv = [SHELL, "-c", LAUNCHER, "bot-sandbox-launcher", *cgroup.procs_files, "--", *argv]
    return ChildCommand(argv, dict(CHILD_ENV), "/", True, uid, (seccomp_fd,), cgroup)


# What the check runs inside a real sandbox: the libraries every bot needs, and proof that the filter is on.
PROBE_CODE = (
    "import numpy, talib, jsonschema\n"
    "mode = [l for l in open('/proc/self/status') if l.startswith('Seccomp:')]\n"
    "assert mode == ['Seccomp:\\t2\\n'], f'no seccomp filter: {mode}'\n"
)


@dataclass(frozen=True)
class SandboxCheck:
    available: bool
    reason: str


_check_lock = threading.Lock()
_check: SandboxCheck | None = None


def sandbox_check(*, refresh: bool = False) -> SandboxCheck:
    """Whether bubblewrap can run a child here: the tools exist and a real sandbox imports numpy, TA-Lib and
    jsonschema. Measured once per host process (about 0.3 s) unless ``refresh``."""
    global _check
    with _check_lock:
        if _check is None or refresh:
            _check = _probe()
        return _check


def _probe() -> SandboxCheck:
    from .runtime import runtime_dir

    bwrap = find_bwrap()
    if bwrap is None:
        return SandboxCheck(False, "bubblewrap (bwrap) is not installed; on Debian: apt-get install bubblewrap")
    for tool in (SETPRIV, PRLIMIT):
        if not os.access(tool, os.X_OK):
            return SandboxCheck(False, f"{tool} is missing (Debian package util-linux)")
    try:
        command = sandbox_command(bwrap, runtime_dir(), None, SandboxLimits())
    except (SeccompUnavailable, CgroupUnavailable) as error:
        return SandboxCheck(False, str(error))
    # Swap the child's bootstrap for an import of what every bot needs, and a look at its own seccomp mode.
    python_c = len(command.argv) - command.argv[::-1].index("-c")
    argv = command.argv[:python_c] + [PROBE_CODE]
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
            argv, env=command.env, cwd=command.cwd, capture_output=True, timeout=30, check=False,
            pass_fds=command.pass_fds,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return SandboxCheck(False, f"bubblewrap did not start: {error}")
    finally:
        command.close_fds()
        tree_cpu_ns = command.cgroup.cpu_ns()
        command.cgroup.remove()
    if completed.returncode != 0:
        detail = completed.stderr.decode(errors="replace").strip()[-500:]
        return SandboxCheck(False, f"bubblewrap failed (exit {completed.returncode}): {detail}")
    if tree_cpu_ns <= 0:
        return SandboxCheck(False, "the sandbox did not run inside its cgroup (no CPU time counted there)")
    return SandboxCheck(True, f"{bwrap} works")


def sandbox_available() -> bool:
    """True when bubblewrap can sandbox bots on this machine (see ``sandbox_check`` for why not)."""
    return sandbox_check().available
