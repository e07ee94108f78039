"""The seccomp filter every sandboxed bot runs under (libseccomp via ``pyseccomp``; loaded by ``bwrap --seccomp``).

A deny list, as Flatpak's: everything the interpreter, numpy, TA-Lib, scikit-learn and onnxruntime need stays
allowed, and the kernel interfaces that would let a bot reach beyond its sandbox fail with an error the bot sees
as an ordinary ``OSError``:

- the kernel keyring (``add_key``, ``request_key``, ``keyctl``): shared with the host and every other sandbox;
- file locks (``flock``, ``fcntl`` ``F_SETLK``/``F_SETLKW``/``F_GETLK``/``F_OFD_*``, leases, ``F_NOTIFY``) and
  inotify/fanotify: every sandbox sees the same read-only inodes of the interpreter and the virtualenv, so a
  lock or a watch on one would be a channel between two developers' bots;
- sockets of any family but ``AF_UNIX``, ``AF_INET`` and ``AF_INET6`` (those meet an empty network namespace):
  no ``AF_VSOCK`` (the hypervisor's sockets are not namespaced), ``AF_NETLINK``, ``AF_PACKET``, ...;
- ``io_uring`` (a large kernel surface that bypasses this very filter for the operations it queues);
- new namespaces: ``unshare``, ``setns``, ``clone`` with any ``CLONE_NEW*`` flag, and ``clone3`` (its flags are in
  memory a filter cannot read; it fails with ``ENOSYS`` so the C library falls back to ``clone``);
- other processes' memory: ``ptrace``, ``process_vm_readv``/``writev``, ``process_madvise``, ``kcmp``,
  ``pidfd_getfd``;
- the usual dangerous calls: ``bpf``, ``perf_event_open``, ``userfaultfd``, mounting (``mount``, ``fsopen`` and
  the new mount API, ``pivot_root``, ``chroot``), ``kexec_*``, module loading, ``swapon``, ``reboot``, clock
  setting, ``quotactl``, ``open_by_handle_at``, ``syslog``, ``personality`` changes (only the query is
  allowed), ``modify_ldt``, ``iopl``, ``mincore`` (page-cache probing of shared files),
  and ``ioctl(TIOCSTI/TIOCLINUX)``.

Only the native architecture's system call table is allowed: a 32-bit (``int 0x80``) or x32 call kills the
process (libseccomp's default for a foreign architecture), so the list cannot be sidestepped by another ABI.
"""
from __future__ import annotations

import contextlib
import errno
import os
import threading

# Denied with EPERM (the caller lacks the permission, which is the truth inside the sandbox).
DENIED = (
    # kernel keyring
    "add_key", "request_key", "keyctl",
    # file locks and file watches (covert channels through shared inodes)
    "flock", "inotify_init", "inotify_init1", "inotify_add_watch", "fanotify_init", "fanotify_mark",
    # namespaces
    "unshare", "setns",
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp", "pidfd_getfd",
    "migrate_pages", "move_pages",
    # kernel extension and introspection
    "bpf", "perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "create_module", "lookup_dcookie", "syslog", "uselib", "nfsservctl", "vm86", "vm86old",
    # mounts and roots
    "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
    "open_tree", "mount_setattr", "open_by_handle_at", "name_to_handle_at", "quotactl", "quotactl_fd",
    # the machine
    "reboot", "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname", "iopl", "ioperm", "modify_ldt", "vhangup", "memfd_secret",
    # page-cache probing of the shared read-only files
    "mincore",
)
# Denied with ENOSYS, so that libraries fall back to the older call (glibc: clone3 -> clone).
UNIMPLEMENTED = ("clone3", "io_uring_setup", "io_uring_enter", "io_uring_register")

ALLOWED_SOCKET_FAMILIES = (1, 2, 10)  # AF_UNIX, AF_INET, AF_INET6
AF_MAX = 64  # every family the kernel knows is below this; larger values are denied as a whole

# fcntl commands: F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLEASE, F_GETLEASE,
# F_NOTIFY.
DENIED_FCNTL = (5, 6, 7, 36, 37, 38, 1024, 1025, 1026)
# clone flags that make a namespace: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
CLONE_NEW_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
# ioctl requests that push input into (or drive) the terminal of another process group.
DENIED_IOCTL = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX
PERSONALITY_QUERY = 0xFFFFFFFF

_lock = threading.Lock()
_bpf: bytes | None = None


class SeccompUnavailable(Exception):
    """libseccomp (``libseccomp2``) or the ``pyseccomp`` package is missing, or the filter could not be built."""


def filter_fd() -> int:
    """A new file descriptor (close-on-exec; hand it to the child with ``pass_fds``) holding the filter at offset
    0, for ``bwrap --seccomp FD``, which reads it to the end. The caller closes it once the child started."""
    data = filter_bpf()
    fd = os.memfd_create("bot-sandbox-seccomp")
    try:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd


def filter_bpf() -> bytes:
    """The compiled filter (classic BPF, as ``bwrap --seccomp`` reads it). Built once per host process.
    Raises ``SeccompUnavailable``."""
    global _bpf
    with _lock:
        if _bpf is None:
            _bpf = _build()
        return _bpf


def _build() -> bytes:
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError, OSError) as error:  # RuntimeError: "Unable to find libseccomp"
        detail = f"libseccomp is not usable (apt-get install libseccomp2; pip install pyseccomp): {error}"
        raise SeccompUnavailable(detail) from None
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        # A call through another ABI (int 0x80, x32) kills the whole process, not just the calling thread.
        rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
        with contextlib.suppress(OSError):  # libseccomp 2.5+: a binary search, not a linear list, per system call
            rules.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)
        eperm, enosys = seccomp.ERRNO(errno.EPERM), seccomp.ERRNO(errno.ENOSYS)
        for name in DENIED:
            _add(seccomp, rules, eperm, name)
        for name in UNIMPLEMENTED:
            _add(seccomp, rules, enosys, name)
        no_family = seccomp.ERRNO(errno.EAFNOSUPPORT)
        for name in ("socket", "socketpair"):
            for family in range(AF_MAX):
                if family not in ALLOWED_SOCKET_FAMILIES:
                    rules.add_rule(no_family, name, seccomp.Arg(0, seccomp.EQ, family))
            rules.add_rule(no_family, name, seccomp.Arg(0, seccomp.GE, AF_MAX))
        for command in DENIED_FCNTL:
            # The kernel reads the command as an unsigned int: compare the low 32 bits only, or a command with
            # garbage in the upper half would pass the filter and still lock.
            rules.add_rule(eperm, "fcntl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, command))
        for flag in CLONE_NEW_FLAGS:
            rules.add_rule(eperm, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        for request in DENIED_IOCTL:
            # The request is an unsigned int: compare its low 32 bits only, whatever the upper half holds.
            rules.add_rule(eperm, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, request))
        # personality(): only the query (0xffffffff); a change could, e.g., turn address randomisation off.
        rules.add_rule(eperm, "personality", seccomp.Arg(0, seccomp.NE, PERSONALITY_QUERY))
        read, write = os.pipe()
        try:
            rules.export_bpf(os.fdopen(os.dup(write), "wb"))
            os.close(write)
            write = -1
            data = b""
            while chunk := os.read(read, 65536):
                data += chunk
        finally:
            os.close(read)
            if write != -1:
                os.close(write)
    except OSError as error:
        raise SeccompUnavailable(f"the seccomp filter could not be built: {error}") from None
    if not data or len(data) % 8:
        raise SeccompUnavailable("libseccomp exported an empty or malformed filter")
    return data


def _add(seccomp, rules, action: int, name: str) -> None:
    """Deny ``name`` when this architecture has it (``vm86`` and ``create_module`` exist on some only)."""
    try:
        number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
    except (OSError, ValueError):
        return
    if number < 0:
        return
    rules.add_rule(action, number)

