"""Isolation of the whole sandbox (issue 10): kernel interfaces closed by the seccomp filter, memory bounded for the
process tree, nothing of a bot outliving its call. Each attack runs for real inside bubblewrap; afterwards the same
pool still serves an honest bot.

The kernel-interface attacks run in one decide (one sandbox start) and report each call's errno: the filter's
answer is an ordinary error the bot sees, so one probe can try them all.
"""
import dataclasses
import os
import signal
import subprocess
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bots.sandbox import SandboxCrashed, SandboxedBot, SandboxStrayError, SandboxTimeout, cgroups

from .conftest import PROBE_TEMPLATE, TEST_LIMITS, wait_until_gone

pytestmark = pytest.mark.usefixtures("needs_sandbox")

# x86_64 system call numbers the probes call through ctypes (Python has no wrapper for most of them).
KERNEL_PROBE = r'''
import ctypes, errno, fcntl, mmap, socket, struct, threading

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
results = {}

def call(name, number, *args):
    ctypes.set_errno(0)
    value = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    results[name] = errno.errorcode.get(ctypes.get_errno(), "OK") if value == -1 else "OK"

def attempt(name, action):
    try:
        action()
        results[name] = "OK"
    except OSError as error:
        results[name] = errno.errorcode.get(error.errno, str(error.errno))

# the kernel keyring: add_key, request_key, keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING)
call("add_key", 248, b"user", b"covert", b"payload", 7, -3)
call("request_key", 249, b"user", b"covert", None, -3)
call("keyctl", 250, 0, -3, 0)
# file locks on the interpreter's inode every sandbox shares, and on a private file
shared = open("/sandbox/venv/bin/python", "rb")
private = open("/tmp/lock", "wb")
attempt("flock_shared", lambda: fcntl.flock(shared, fcntl.LOCK_SH | fcntl.LOCK_NB))
attempt("flock_private", lambda: fcntl.flock(private, fcntl.LOCK_EX | fcntl.LOCK_NB))
attempt("lockf", lambda: fcntl.lockf(private, fcntl.LOCK_EX | fcntl.LOCK_NB))
lock = struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 0, 0) + b"\0" * 4
attempt("F_SETLK", lambda: fcntl.fcntl(shared, fcntl.F_SETLK, lock))
attempt("F_SETLKW", lambda: fcntl.fcntl(shared, fcntl.F_SETLKW, lock))
attempt("F_GETLK", lambda: fcntl.fcntl(shared, fcntl.F_GETLK, lock))
attempt("F_OFD_SETLK", lambda: fcntl.fcntl(shared, 37, lock))
attempt("F_OFD_SETLKW", lambda: fcntl.fcntl(shared, 38, lock))
attempt("F_SETLEASE", lambda: fcntl.fcntl(private, 1024, fcntl.F_RDLCK))
lock_buffer = ctypes.create_string_buffer(lock)
call("F_SETLK with high bits", 72, shared.fileno(), (1 << 32) | fcntl.F_SETLK, lock_buffer)
call("F_OFD_SETLK with high bits", 72, shared.fileno(), (0xFFFF << 32) | 37, lock_buffer)
attempt("F_GETFL still works", lambda: fcntl.fcntl(shared, fcntl.F_GETFL))
call("inotify_init1", 294, 0)
# sockets: only AF_UNIX and AF_INET/6 (which meet an empty network namespace)
for family, name in ((40, "AF_VSOCK"), (16, "AF_NETLINK"), (17, "AF_PACKET"), (38, "AF_ALG"), (31, "AF_BLUETOOTH"),
                     (0, "AF_UNSPEC"), (63, "family 63"), (255, "family 255")):
    attempt(name, lambda family=family: socket.socket(family, socket.SOCK_DGRAM).close())
call("AF_VSOCK with high bits", 41, (1 << 32) | 40, 1, 0)
attempt("socketpair AF_NETLINK", lambda: socket.socketpair(16, socket.SOCK_DGRAM))
attempt("AF_UNIX", lambda: socket.socket(socket.AF_UNIX).close())
attempt("AF_INET", lambda: socket.socket(socket.AF_INET).close())
attempt("AF_INET6", lambda: socket.socket(socket.AF_INET6).close())
attempt("socketpair AF_UNIX", lambda: [s.close() for s in socket.socketpair()])
# io_uring
params = ctypes.create_string_buffer(120)
call("io_uring_setup", 425, 4, params)
call("io_uring_register", 427, 0, 0, 0, 0)
# namespaces
for flag, name in ((0x10000000, "unshare NEWUSER"), (0x00020000, "unshare NEWNS"), (0x40000000, "unshare NEWNET")):
    call(name, 272, flag)
call("setns", 308, 0, 0)
call("clone NEWUSER", 56, 0x10000000 | 17, 0, 0, 0, 0)
call("clone NEWPID", 56, 0x20000000 | 17, 0, 0, 0, 0)
call("clone3", 435, 0, 0)
# other processes' memory
call("ptrace TRACEME", 101, 0, 0, 0, 0)
call("ptrace ATTACH 1", 101, 16, 1, 0, 0)
buffer = ctypes.create_string_buffer(8)
iov = struct.pack("QQ", ctypes.addressof(buffer), 8)
call("process_vm_readv", 310, 1, iov, 1, iov, 1, 0)
call("process_vm_writev", 311, 1, iov, 1, iov, 1, 0)
call("kcmp", 312, 1, 1, 0, 0, 0)
# the usual dangerous calls
call("bpf", 321, 0, 0, 0)
call("perf_event_open", 298, 0, 0, -1, -1, 0)
call("userfaultfd", 323, 0)
call("mount", 165, b"none", b"/tmp", b"tmpfs", 0, 0)
call("pivot_root", 155, b"/tmp", b"/tmp")
call("chroot", 161, b"/tmp")
call("kexec_load", 246, 0, 0, 0, 0)
call("init_module", 175, 0, 0, b"")
call("finit_module", 313, 0, b"", 0)
call("fsopen", 430, b"tmpfs", 0)
call("open_by_handle_at", 304, 0, 0, 0)
call("syslog", 103, 3, 0, 0)
call("personality ADDR_NO_RANDOMIZE", 135, 0x0040000)
call("personality query", 135, 0xFFFFFFFF)
call("modify_ldt", 154, 0, 0, 0)
call("mincore", 27, 0, 4096, buffer)
call("ioctl TIOCSTI", 16, 2, 0x5412, b"x")
# what bots need keeps working
thread = threading.Thread(target=lambda: results.__setitem__("thread", "OK"))
thread.start()
thread.join()
memfd = os.memfd_create("ok")
os.write(memfd, b"x" * 4096)
results["memfd"] = "OK"
pid = os.fork()
if pid == 0:
    os._exit(0 if "Seccomp:\t2" in open("/proc/self/status").read() else 1)
results["forked child filtered"] = "OK" if os.waitpid(pid, 0)[1] == 0 else "NO"
results["seccomp mode"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0]
self.state["probe"] = results  # a state, not a reason: reasons are capped at 500 characters
return Decision.hold()
'''

DENIED = {
    "EPERM": ["add_key", "request_key", "keyctl", "flock_shared", "flock_private", "lockf", "F_SETLK", "F_SETLKW",
              "F_GETLK", "F_OFD_SETLK", "F_OFD_SETLKW", "F_SETLEASE", "F_SETLK with high bits",
              "F_OFD_SETLK with high bits", "inotify_init1", "unshare NEWUSER",
              "unshare NEWNS", "unshare NEWNET", "setns", "clone NEWUSER", "clone NEWPID", "ptrace TRACEME",
              "ptrace ATTACH 1", "process_vm_readv", "process_vm_writev", "kcmp", "bpf", "perf_event_open",
              "userfaultfd", "mount", "pivot_root", "chroot", "kexec_load", "init_module", "finit_module", "fsopen",
              "open_by_handle_at", "syslog", "personality ADDR_NO_RANDOMIZE", "modify_ldt", "mincore",
              "ioctl TIOCSTI"],
    "EAFNOSUPPORT": ["AF_VSOCK", "AF_NETLINK", "AF_PACKET", "AF_ALG", "AF_BLUETOOTH", "AF_UNSPEC", "family 63",
                     "family 255", "AF_VSOCK with high bits", "socketpair AF_NETLINK"],
    "ENOSYS": ["io_uring_setup", "io_uring_register", "clone3"],
}
ALLOWED = ["F_GETFL still works", "AF_UNIX", "AF_INET", "AF_INET6", "socketpair AF_UNIX", "personality query",
           "thread", "memfd", "forked child filtered"]


def probe_source(body):
    return PROBE_TEMPLATE.format(body=textwrap.indent(textwrap.dedent(body), " " * 8))


def test_the_seccomp_filter_closes_the_kernels_shared_interfaces(pool, write_bot, candles, still_serves):
    folder = write_bot(probe_source(KERNEL_PROBE))

    with pool.bot("evil", folder) as bot:
        [outcome] = bot.decide([{"id": 1}], candles[-3:])

    assert outcome.ok, outcome.error + outcome.traceback
    seen = dict(outcome.state["probe"])
    assert seen.pop("seccomp mode") == "2"  # SECCOMP_MODE_FILTER
    expected = {name: code for code, names in DENIED.items() for name in names} | dict.fromkeys(ALLOWED, "OK")
    assert seen == expected
    still_serves()


def test_a_call_through_the_x32_abi_kills_the_process(pool, probe_bot, candles, still_serves):
    # The same call with the x32 bit set (getpid, 39): not in the native table, so the filter kills the process
    # instead of letting a second system call table sidestep the deny list.
    folder = probe_bot("""
        import ctypes
        ctypes.CDLL(None).syscall(ctypes.c_long(0x40000000 | 39))
        return Decision.hold(reason="survived")
    """)

    with pytest.raises(SandboxCrashed) as error, pool.bot("evil", folder) as bot:
        bot.decide([{"id": 1}], candles[-3:])

    assert error.value.signal == signal.SIGSYS
    still_serves()


# -- memory: bounded for the whole tree, shared memory included ----------------------------------------------------

TREE_LIMITS = dataclasses.replace(TEST_LIMITS, memory_mb=1024, cpu_seconds=8, wall_timeout_s=20, tmp_size_mb=2048,
                                  file_size_mb=4096)

FORK_AND_TOUCH = """
    import mmap, time
    children = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            {touch}
            time.sleep(0.5)  # hold it while the others touch theirs
            os._exit(0)
        children.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    return Decision.hold(indicators={{"held": sum(s == 0 for s in statuses),
                                      "killed": sum(os.WIFSIGNALED(s) and os.WTERMSIG(s) == 9 for s in statuses)}})
"""
TOUCH = {
    "private": "hoard = b'x' * (300 * 1024 * 1024)",
    # MAP_SHARED | MAP_ANONYMOUS is shmem: it counts against no rlimit beyond the address space, each page touched
    "shared anonymous mmap": "area = mmap.mmap(-1, 300 * 1024 * 1024, flags=mmap.MAP_SHARED)\n"
                             "            for offset in range(0, len(area), 4096): area[offset] = 1",
}


@pytest.mark.parametrize("touch", TOUCH, ids=list(TOUCH))
def test_forked_children_share_one_memory_budget(probe_bot, candles, touch, still_serves):
    # 8 children x 300 MB under a 1 GB limit: each alone fits its own RLIMIT_AS, together they would take 2.4 GB.
    folder = probe_bot(FORK_AND_TOUCH.format(touch=TOUCH[touch]))

    with SandboxedBot(folder, limits=TREE_LIMITS) as bot, ThreadPoolExecutor(1) as executor:
        attack = executor.submit(bot.decide, [{"id": 1}], candles[-3:])
        while not attack.done():  # a second sandbox keeps deciding while the first one hits its limit
            still_serves()
        [outcome] = attack.result()

    assert outcome.ok, outcome.error
    assert outcome.decision.indicators["held"] <= 3  # at most 3 x 300 MB fit in 1 GB beside the interpreter
    assert outcome.decision.indicators["killed"] >= 5  # the kernel's OOM killer, inside the sandbox's cgroup only
    still_serves()


SHARED = {
    "memfd of 2 GB": """
        fd = os.memfd_create("hoard")
        for _ in range(32):
            os.write(fd, b"x" * (64 * 1024 * 1024))  # write(), not mmap: RLIMIT_AS never sees it
    """,
    "2 GB file in /tmp": """
        with open("/tmp/hoard", "wb") as handle:
            for _ in range(32):
                handle.write(b"x" * (64 * 1024 * 1024))
    """,
    "2 GB in /dev/shm-like tmpfs": """
        os.makedirs("/tmp/shm", exist_ok=True)
        for index in range(32):
            with open(f"/tmp/shm/part{index}", "wb") as handle:
                handle.write(b"x" * (64 * 1024 * 1024))
    """,
}


@pytest.mark.parametrize("attack", SHARED, ids=list(SHARED))
def test_shared_memory_and_tmp_files_count_against_the_limit(probe_bot, candles, attack, still_serves):
    folder = probe_bot(textwrap.dedent(SHARED[attack]) + "return Decision.hold(reason='hoarded 2 GB')\n")

    with SandboxedBot(folder, limits=TREE_LIMITS) as bot, pytest.raises(SandboxCrashed) as error:
        bot.decide([{"id": 1}], candles[-3:])

    assert error.value.signal == signal.SIGKILL  # the kernel's OOM killer, inside the sandbox's cgroup
    assert str(error.value) == "the bot's process died of SIGKILL (memory limit of the whole sandbox: 1024 MB)"
    still_serves()


# -- nothing of a bot outlives its call -------------------------------------------------------------------------

def sandbox_cpu_ns(bot):
    return bot._resources.child.cgroup.cpu_ns()


def test_a_daemon_that_escapes_the_childs_reaping_is_killed_with_the_sandbox(pool, probe_bot, candles, still_serves):
    # The bot switches off the child's own clean-up (it runs in the same interpreter) and double-forks a daemon
    # in a session of its own: the host still finds it in the sandbox's cgroup and kills everything.
    folder = probe_bot("""
        import time
        sys.modules["sandbox_child"].reap_strays = lambda: None
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    time.sleep(0.01)
            os._exit(0)
        os.wait()
        return Decision.hold(reason="a daemon keeps running")
    """)

    with pool.bot("evil", folder) as bot, pytest.raises(SandboxStrayError) as error:
        try:
            bot.decide([{"id": 1}], candles[-3:])
        finally:
            uid = bot.uid

    assert error.value.processes == 1
    assert "its sandbox was stopped and the answer discarded" in str(error.value)
    assert wait_until_gone(uid) == []  # the host's process table: nothing of that uid is left
    still_serves()


def test_a_busy_thread_left_running_kills_the_sandbox(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        import threading
        threading.Thread(target=lambda: [None for _ in iter(int, 1)], daemon=True).start()
        return Decision.hold(reason="a thread keeps spinning")
    """)

    with pool.bot("evil", folder) as bot, pytest.raises(SandboxStrayError) as error:
        try:
            bot.decide([{"id": 1}], candles[-3:])
        finally:
            uid = bot.uid

    assert error.value.threads == 1
    assert wait_until_gone(uid) == []
    still_serves()


def test_a_thread_that_waits_for_the_answer_is_frozen_between_calls(pool, probe_bot, candles, still_serves):
    # Idle at the answer (so it passes the check), spinning right after: frozen, it burns nothing between calls;
    # thawed for the next call, it is caught running and the sandbox is stopped.
    folder = probe_bot("""
        import threading, time
        def later():
            time.sleep(0.3)
            while True:
                pass
        if not self.state.get("started"):
            threading.Thread(target=later, daemon=True).start()
        self.state["started"] = True
        return Decision.hold()
    """)

    with pool.bot("evil", folder) as bot:
        [first] = bot.decide([{"id": 1}], candles[-3:])
        assert first.ok
        before = sandbox_cpu_ns(bot)
        time.sleep(1)
        between = sandbox_cpu_ns(bot) - before
        with pytest.raises(SandboxStrayError):
            bot.decide([{"id": 1, "state": {"started": True}}], candles[-3:])

    assert between == 0
    still_serves()


def test_the_cpu_limit_counts_every_process_of_the_tree(probe_bot, candles, still_serves):
    # Each forked child has an RLIMIT_CPU of its own; the cgroup counts them together.
    folder = probe_bot("""
        for _ in range(4):
            if os.fork() == 0:
                while True:
                    pass
        os.wait()
    """)
    limits = dataclasses.replace(TEST_LIMITS, wall_timeout_s=30)

    started = time.monotonic()
    with SandboxedBot(folder, limits=limits) as bot, pytest.raises(SandboxTimeout) as error:
        try:
            bot.decide([{"id": 1}], candles[-3:])
        finally:
            uid = bot.uid

    assert error.value.kind == "cpu"
    assert time.monotonic() - started < 10
    assert wait_until_gone(uid) == []
    still_serves()


def test_a_timer_signal_handler_gets_no_cpu_between_calls(pool, probe_bot, candles, still_serves):
    # No thread, no process: an interval timer whose handler spins interrupts the child's wait for the next request.
    # The frozen cgroup never lets it run; thawed, its spinning counts against the next call's CPU limit.
    folder = probe_bot("""
        import signal
        def spin(*_):
            for _ in range(10 ** 6):
                pass
        signal.signal(signal.SIGALRM, spin)
        signal.setitimer(signal.ITIMER_REAL, 0.3, 0.05)
        return Decision.hold()
    """)

    with pool.bot("evil", folder) as bot:
        [outcome] = bot.decide([{"id": 1}], candles[-3:])
        state = Path(bot._resources.child.cgroup.dirs[2], "freezer.state").read_text().strip()
        before = sandbox_cpu_ns(bot)
        time.sleep(1)
        between = sandbox_cpu_ns(bot) - before

    assert outcome.ok
    assert state == "FROZEN"
    assert between == 0
    still_serves()


def test_an_honest_bot_is_frozen_between_calls_and_thawed_for_each(pool, sma_bot, candles):
    with pool.bot("good", sma_bot) as bot:
        for _ in range(3):
            [outcome] = bot.decide([{"id": 1, "config": {}, "state": {}}], candles[-100:])
            assert outcome.ok
            freezer = Path(bot._resources.child.cgroup.dirs[2], "freezer.state")
            assert freezer.read_text().strip() == "FROZEN"
        pid = bot.pid
    assert bot.starts == 1 and pid is not None


def test_it_removes_the_cgroups_of_dead_host_processes(pool, sma_bot, candles, monkeypatch):
    found = cgroups.backend()
    dead = subprocess.Popen(["true"])  # noqa: S607 - a pid that is surely gone afterwards
    dead.wait()
    stale = [parent / f"{dead.pid}-1" for parent in found.parents]
    for folder in stale:
        folder.mkdir()

    monkeypatch.setattr(cgroups, "_backend", None)  # as in a new host process
    cgroups.backend()

    assert not any(folder.exists() for folder in stale)
    with pool.bot("good", sma_bot) as bot:
        [outcome] = bot.decide([{"id": 1, "config": {}, "state": {}}], candles[-100:])
    assert outcome.ok
    assert all(parent.name == "bot-sandbox" for parent in found.parents)


def test_the_sandbox_runs_in_its_own_cgroup_from_its_first_instruction(pool, probe_bot, candles):
    folder = probe_bot("""
        return Decision.hold(reason=open("/proc/self/cgroup").read())
    """)

    with pool.bot("probe", folder) as bot:
        [outcome] = bot.decide([{"id": 1}], candles[-3:])
        group = bot._resources.child.cgroup
        members = set(group.pids())
        memory_limit = int(Path(group.dirs[0], "memory.limit_in_bytes").read_text())
        tasks_limit = int(Path(group.dirs[1], "pids.max").read_text())

    # Its own cgroup namespace: inside, the sandbox's cgroup is the root and no host path shows.
    assert all(line.endswith(":/") for line in outcome.decision.reason.splitlines())
    assert len(members) == 3  # the launcher (now bwrap), bwrap's PID 1, the child
    assert memory_limit == TEST_LIMITS.memory_mb * 1024 * 1024
    assert tasks_limit == TEST_LIMITS.max_processes + cgroups.OVERHEAD_PROCESSES
    pool.evict("probe")
    assert not any(folder.exists() for folder in group.dirs)  # removed with the process


def test_the_v2_backend_freezes_counts_and_kills_where_a_v2_hierarchy_is_mounted():
    # This machine's cgroup v2 hierarchy has no controllers (they are all bound to v1), so the v2 limits
    # (memory.max, pids.max) cannot be tried here; freezing, CPU time, killing and removal can.
    mounts = [mount for mount, fstype, _ in cgroups._mounts() if fstype == "cgroup2"]
    if not mounts:
        pytest.skip("no cgroup v2 hierarchy mounted")
    parent = Path(mounts[0]) / cgroups._own_paths()[""].lstrip("/") / "bot-sandbox-v2-test"
    parent.mkdir(exist_ok=True)
    group = cgroups.SandboxCgroup(cgroups._V2([parent]), f"{os.getpid()}-1")
    try:
        group.dirs[0].mkdir()
        spinner = subprocess.Popen(  # noqa: S603 - the launcher's way in, then a busy loop
            ["/bin/sh", "-c", 'echo $$ > "$0"; exec sh -c "while :; do :; done"', group.procs_files[0]])
        deadline = time.monotonic() + 5
        while group.cpu_ns() < 50_000_000 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert group.pids() == [spinner.pid]

        assert group.freeze()
        frozen_at = group.cpu_ns()
        time.sleep(0.3)
        assert group.cpu_ns() == frozen_at
        group.thaw()
        time.sleep(0.2)
        assert group.cpu_ns() > frozen_at

        group.freeze()
        group.remove()  # cgroup.kill reaches a frozen process too
        assert spinner.wait(timeout=5) == -signal.SIGKILL
        assert not group.dirs[0].exists()
    finally:
        group.remove()
        parent.rmdir()
