"""One cgroup per sandboxed process: memory, process count and CPU of the sandbox's whole tree, freezing, killing.

rlimits count per process: a forked child gets a budget of its own and shared memory (memfd, tmpfs files) counts
nowhere. A cgroup counts the whole tree, shared memory and tmpfs pages included, and lets the host freeze the tree
between calls and kill every process of it at once.

Layout: under the host process's own cgroup (so whatever bounds the host also bounds its sandboxes), one folder
``bot-sandbox`` per controller, and in it one cgroup ``<host pid>-<n>`` per sandboxed process, created before the
process starts and removed when it stops. A host that died without cleaning up leaves folders whose pid is gone:
the first cgroup a host process creates removes those (killing whatever is still in them).

Two backends, chosen by what is mounted:
- cgroup v1 (this machine: the memory, pids, freezer and cpuacct hierarchies): ``memory.limit_in_bytes`` (and
  ``memory.memsw.limit_in_bytes``, so swap cannot extend it), ``pids.max``, ``freezer.state``, ``cpuacct.usage``;
  killing sends SIGKILL to every process listed until none is left (a frozen task only dies once thawed);
- cgroup v2 (the unified hierarchy with the memory, pids and cpu controllers): ``memory.max``, ``memory.swap.max``,
  ``pids.max``, ``cgroup.freeze``, ``cpu.stat`` ``usage_usec`` and ``cgroup.kill``. The host's cgroup must let its
  children use those controllers (a delegated subtree; see docs/sandbox.md). NOT tested on this machine.

The host writes here as root (or as the owner of a delegated subtree); nothing of it is visible inside the
sandbox (no ``/sys``, its own cgroup namespace).
"""
from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import threading
import time
from pathlib import Path

from .limits import MB, SandboxLimits

V1_CONTROLLERS = ("memory", "pids", "freezer", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
PARENT = "bot-sandbox"
# Room for the processes of the sandbox besides the bot's: the launcher that becomes bwrap, and bwrap's PID 1
# (its init), plus one spare (bwrap without root may fork once more).
OVERHEAD_PROCESSES = 3
NAME = re.compile(r"^(\d+)-(\d+)$")


class CgroupUnavailable(Exception):
    """The cgroup controllers the sandbox needs are not mounted or not writable here."""


class SandboxCgroup:
    """One sandbox's cgroup (in each controller's hierarchy for v1, one folder for v2)."""

    def __init__(self, backend: _Backend, name: str) -> None:
        self.backend = backend
        self.name = name
        self.dirs = [parent / name for parent in backend.parents]

    def __repr__(self) -> str:
        return f"<SandboxCgroup {self.backend.version} {self.name}>"

    @property
    def procs_files(self) -> list[str]:
        """The files the launcher writes its pid into before it execs bwrap (one per hierarchy)."""
        return [str(folder / "cgroup.procs") for folder in self.dirs]

    def pids(self) -> list[int]:
        """Host pids of the processes in the cgroup (every hierarchy holds the same ones)."""
        try:
            text = (self.dirs[0] / "cgroup.procs").read_text()
        except FileNotFoundError:
            return []
        return [int(pid) for pid in text.split()]

    def cpu_ns(self) -> int:
        """CPU time used by every process and thread that ever ran in the cgroup, in nanoseconds."""
        return self.backend.cpu_ns(self)

    def oom_kills(self) -> int:
        """How many processes of the cgroup the kernel killed for going over the memory limit."""
        return self.backend.oom_kills(self)

    def freeze(self) -> bool:
        """Stop every process of the cgroup until ``thaw``; False when the kernel did not finish in time."""
        return self.backend.freeze(self)

    def thaw(self) -> None:
        self.backend.thaw(self)

    def kill(self) -> None:
        """SIGKILL every process in the cgroup (frozen ones included) and wait until none is left."""
        self.backend.kill(self)

    def remove(self) -> None:
        """Kill what is left and remove the cgroup's folders (idempotent)."""
        self.kill()
        for folder in self.dirs:
            for _attempt in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY: a task is still on its way out
                    time.sleep(0.01)


class _Backend:
    version = ""

    def __init__(self, parents: list[Path]) -> None:
        self.parents = parents

    def configure(self, group: SandboxCgroup, limits: SandboxLimits) -> None:
        raise NotImplementedError

    def cpu_ns(self, group: SandboxCgroup) -> int:
        raise NotImplementedError

    def oom_kills(self, group: SandboxCgroup) -> int:
        raise NotImplementedError

    def freeze(self, group: SandboxCgroup) -> bool:
        raise NotImplementedError

    def thaw(self, group: SandboxCgroup) -> None:
        raise NotImplementedError

    def kill(self, group: SandboxCgroup) -> None:
        _kill_listed(group, self.thaw)


def _kill_listed(group: SandboxCgroup, thaw) -> None:
    """SIGKILL every listed process until the list is empty; thawing lets frozen ones act on the signal."""
    deadline = time.monotonic() + 5
    while (pids := group.pids()) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            thaw(group)
        time.sleep(0.005)


def _read_key(path: Path, key: str) -> int:
    """The value of ``key`` in a flat keyed file (``memory.events``, ``cpu.stat``, ``memory.oom_control``)."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (FileNotFoundError, ValueError):
        pass
    return 0


class _V1(_Backend):
    version = "v1"

    def _dir(self, group: SandboxCgroup, controller: str) -> Path:
        return group.dirs[V1_CONTROLLERS.index(controller)]

    def configure(self, group: SandboxCgroup, limits: SandboxLimits) -> None:
        memory = self._dir(group, "memory")
        limit = str(limits.memory_mb * MB)
        (memory / "memory.limit_in_bytes").write_text(limit)
        if (memory / "memory.memsw.limit_in_bytes").exists():  # swap accounting on: memory + swap, same limit
            (memory / "memory.memsw.limit_in_bytes").write_text(limit)
        (self._dir(group, "pids") / "pids.max").write_text(str(limits.max_processes + OVERHEAD_PROCESSES))

    def cpu_ns(self, group: SandboxCgroup) -> int:
        try:
            return int((self._dir(group, "cpuacct") / "cpuacct.usage").read_text())
        except (FileNotFoundError, ValueError):
            return 0

    def oom_kills(self, group: SandboxCgroup) -> int:
        return _read_key(self._dir(group, "memory") / "memory.oom_control", "oom_kill")

    def freeze(self, group: SandboxCgroup) -> bool:
        state = self._dir(group, "freezer") / "freezer.state"
        state.write_text("FROZEN")
        deadline = time.monotonic() + 1
        while state.read_text().strip() != "FROZEN":
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def thaw(self, group: SandboxCgroup) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self._dir(group, "freezer") / "freezer.state").write_text("THAWED")


class _V2(_Backend):
    version = "v2"

    def configure(self, group: SandboxCgroup, limits: SandboxLimits) -> None:
        folder = group.dirs[0]
        (folder / "memory.max").write_text(str(limits.memory_mb * MB))
        if (folder / "memory.swap.max").exists():
            (folder / "memory.swap.max").write_text("0")
        (folder / "pids.max").write_text(str(limits.max_processes + OVERHEAD_PROCESSES))

    def cpu_ns(self, group: SandboxCgroup) -> int:
        return _read_key(group.dirs[0] / "cpu.stat", "usage_usec") * 1000

    def oom_kills(self, group: SandboxCgroup) -> int:
        return _read_key(group.dirs[0] / "memory.events", "oom_kill")

    def freeze(self, group: SandboxCgroup) -> bool:
        (group.dirs[0] / "cgroup.freeze").write_text("1")
        deadline = time.monotonic() + 1
        while _read_key(group.dirs[0] / "cgroup.events", "frozen") != 1:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def thaw(self, group: SandboxCgroup) -> None:
        with contextlib.suppress(FileNotFoundError):
            (group.dirs[0] / "cgroup.freeze").write_text("0")

    def kill(self, group: SandboxCgroup) -> None:
        with contextlib.suppress(OSError):
            (group.dirs[0] / "cgroup.kill").write_text("1")  # Linux 5.14+; kills frozen tasks too
        _kill_listed(group, self.thaw)


def _mounts() -> list[tuple[str, str, set[str]]]:
    """``(mount point, fs type, super options)`` of the cgroup file systems, from /proc/self/mountinfo."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        head, _, tail = line.partition(" - ")
        fields, tail_fields = head.split(), tail.split()
        if len(tail_fields) >= 3 and tail_fields[0] in ("cgroup", "cgroup2"):
            found.append((fields[4], tail_fields[0], set(tail_fields[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """The host process's cgroup per v1 controller, and ``""`` (the key) for the v2 hierarchy."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _under(mount: str, path: str) -> Path:
    return Path(mount) / path.lstrip("/") / PARENT


def _detect() -> _Backend:
    mounts = _mounts()
    own = _own_paths()
    v1 = {}
    for mount, fstype, options in mounts:
        if fstype == "cgroup":
            for controller in V1_CONTROLLERS:
                if controller in options and controller in own:
                    v1.setdefault(controller, _under(mount, own[controller]))
    if len(v1) == len(V1_CONTROLLERS):
        return _V1([v1[controller] for controller in V1_CONTROLLERS])
    for mount, fstype, _options in mounts:
        if fstype != "cgroup2" or "" not in own:
            continue
        parent = _under(mount, own[""])
        available = set((parent.parent / "cgroup.controllers").read_text().split())
        if set(V2_CONTROLLERS) <= available:
            return _V2([parent])
    missing = ", ".join(c for c in V1_CONTROLLERS if c not in v1)
    raise CgroupUnavailable(
        f"no usable cgroups: cgroup v1 lacks {missing}, and no cgroup v2 hierarchy offers {', '.join(V2_CONTROLLERS)}"
    )


_lock = threading.Lock()
_backend: _Backend | None = None
_backend_pid: int | None = None
_counter = itertools.count(1)


def backend() -> _Backend:
    """The cgroup backend of this host process, its ``bot-sandbox`` folders made and stale sandboxes of dead host
    processes removed (once per process). Raises ``CgroupUnavailable``."""
    global _backend, _backend_pid
    with _lock:
        if _backend is None or _backend_pid != os.getpid():
            found = _detect()
            try:
                for parent in found.parents:
                    parent.mkdir(exist_ok=True)
                if isinstance(found, _V2):
                    for folder in (found.parents[0].parent, found.parents[0]):
                        with contextlib.suppress(OSError):  # already on, or the parent's owner decides
                            (folder / "cgroup.subtree_control").write_text(
                                " ".join(f"+{c}" for c in V2_CONTROLLERS))
                    enabled = set((found.parents[0] / "cgroup.controllers").read_text().split())
                    if not set(V2_CONTROLLERS) <= enabled:
                        raise CgroupUnavailable(
                            f"the cgroup {found.parents[0].parent} does not delegate {', '.join(V2_CONTROLLERS)}")
            except OSError as error:
                raise CgroupUnavailable(f"cannot create the sandbox cgroups: {error}") from None
            _remove_stale(found)
            _backend, _backend_pid = found, os.getpid()
        return _backend


def _remove_stale(found: _Backend) -> None:
    names = set()
    for parent in found.parents:
        with contextlib.suppress(OSError):
            names |= {entry.name for entry in parent.iterdir() if entry.is_dir() and NAME.match(entry.name)}
    for name in names:
        pid = int(NAME.match(name).group(1))
        try:
            os.kill(pid, 0)
            continue  # its host process lives: not ours to touch
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        SandboxCgroup(found, name).remove()


def new_cgroup(limits: SandboxLimits) -> SandboxCgroup:
    """A fresh, empty cgroup with ``limits`` (memory of the tree, number of tasks). Raises ``CgroupUnavailable``."""
    found = backend()
    group = SandboxCgroup(found, f"{os.getpid()}-{next(_counter)}")
    try:
        for folder in group.dirs:
            folder.mkdir()
        found.configure(group, limits)
    except OSError as error:
        group.remove()
        raise CgroupUnavailable(f"cannot set up the sandbox's cgroup: {error}") from None
    return group


def running_threads(pid: int) -> int:
    """How many threads of a host process, besides its main thread, are running or runnable (state R)."""
    try:
        tids = [tid for tid in os.listdir(f"/proc/{pid}/task") if tid != str(pid)]
    except OSError:
        return 0
    return sum(_state(f"/proc/{pid}/task/{tid}/stat") == "R" for tid in tids)


def _state(stat_path: str) -> str:
    try:
        stat = Path(stat_path).read_text()
    except OSError:
        return "X"
    return stat[stat.rindex(")") + 2]


def is_zombie(pid: int) -> bool:
    """True when the process has exited and waits to be reaped (or is gone): it can neither run nor hold memory."""
    return _state(f"/proc/{pid}/stat") in ("Z", "X")


def namespace_pid(pid: int) -> int | None:
    """The pid a host process has in its innermost PID namespace (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None
