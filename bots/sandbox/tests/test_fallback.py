"""The sandbox fails closed: when any part of it is missing, an uploaded bot is refused and none of its code runs.

There is no unsandboxed mode in any configuration (no ``require_sandbox``, no ``BOT_SANDBOX_REQUIRED``).
"""
import pytest

from bots.sandbox import SandboxedBot, SandboxPool, SandboxUnavailable, cgroups, command, sandbox_check, seccomp
from bots.sandbox.cgroups import CgroupUnavailable
from bots.sandbox.seccomp import SeccompUnavailable

from .conftest import TEST_LIMITS


@pytest.fixture
def marker_bot(write_bot, tmp_path):
    """A bot whose import writes a file on the host, were it ever run outside the sandbox."""
    marker = tmp_path / "it-ran"
    folder = write_bot(f"""
        open({str(marker)!r}, "w").write("uploaded code ran on the host")
        from bots.sdk import Bot, Decision

        class Marker(Bot):
            slug = "marker"
            name = "Marker"

            def decide(self, candles):
                return Decision.hold()
    """)
    return folder, marker


@pytest.fixture
def fresh_check(monkeypatch):
    """Let the test re-run the sandbox check under its breakage; the real result comes back afterwards."""
    monkeypatch.setattr(command, "_check", None)


def no_bwrap(monkeypatch):
    monkeypatch.setattr(command, "find_bwrap", lambda: None)
    return "bubblewrap (bwrap) is not installed; on Debian: apt-get install bubblewrap"


def no_setpriv(monkeypatch):
    monkeypatch.setattr(command, "SETPRIV", "/nonexistent/setpriv")
    return "/nonexistent/setpriv is missing (Debian package util-linux)"


def no_seccomp(monkeypatch):
    def broken():
        raise SeccompUnavailable("libseccomp is not usable (apt-get install libseccomp2): gone")

    monkeypatch.setattr(seccomp, "filter_bpf", broken)
    return "libseccomp is not usable (apt-get install libseccomp2): gone"


def no_cgroups(monkeypatch):
    def broken():
        raise CgroupUnavailable("no usable cgroups: cgroup v1 lacks memory, and no cgroup v2 hierarchy offers memory")

    monkeypatch.setattr(cgroups, "_backend", None)
    monkeypatch.setattr(cgroups, "_detect", broken)
    return "no usable cgroups: cgroup v1 lacks memory, and no cgroup v2 hierarchy offers memory"


def broken_bwrap(monkeypatch):
    monkeypatch.setattr(command, "find_bwrap", lambda: "/bin/false")
    return "bubblewrap failed (exit 1): "


BREAKAGES = {"no bwrap": no_bwrap, "no setpriv": no_setpriv, "no seccomp": no_seccomp, "no cgroups": no_cgroups,
             "bwrap fails": broken_bwrap}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=list(BREAKAGES))
def test_it_refuses_an_uploaded_bot_when_part_of_the_sandbox_is_missing(fresh_check, monkeypatch, marker_bot,
                                                                         breakage):
    folder, marker = marker_bot
    reason = BREAKAGES[breakage](monkeypatch)

    check = sandbox_check(refresh=True)
    with pytest.raises(SandboxUnavailable) as refused:
        SandboxedBot(folder, limits=TEST_LIMITS)
    pool = SandboxPool(limits=TEST_LIMITS)
    with pytest.raises(SandboxUnavailable), pool.bot("v1", folder):
        pass
    pool.close()

    assert check.available is False
    assert check.reason == reason
    assert str(refused.value) == f"the bot sandbox is required but unavailable: {reason}"
    assert not marker.exists()


def test_it_refuses_to_start_when_the_cgroup_cannot_be_made_after_a_good_check(needs_sandbox, monkeypatch, marker_bot):
    folder, marker = marker_bot

    def broken(limits):
        raise CgroupUnavailable("cannot set up the sandbox's cgroup: [Errno 28] No space left on device")

    with SandboxedBot(folder, limits=TEST_LIMITS) as bot:
        monkeypatch.setattr(command, "new_cgroup", broken)
        with pytest.raises(SandboxUnavailable) as refused:
            bot.load()

    assert "cannot set up the sandbox's cgroup" in str(refused.value)
    assert bot.starts == 0
    assert not marker.exists()


def test_there_is_no_unsandboxed_mode_left():
    import inspect

    assert "require_sandbox" not in inspect.signature(SandboxedBot).parameters
    assert "require_sandbox" not in inspect.signature(SandboxPool).parameters
    assert not hasattr(command, "plain_command")
