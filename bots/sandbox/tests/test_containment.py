"""Hostile bots: each attempt fails inside the sandbox with a clear error, and the pool still serves a good bot."""
import dataclasses
import json
import signal
import socket

import pytest

from bots.sandbox import (
    SandboxBotError,
    SandboxCrashed,
    SandboxedBot,
    SandboxProtocolError,
    SandboxTimeout,
)
from bots.sandbox.command import CHILD_ENV

from .conftest import ROOT, TEST_LIMITS, wait_until_gone

pytestmark = pytest.mark.usefixtures("needs_sandbox")


def decide_once(pool, folder, candles, key="evil"):
    with pool.bot(key, folder) as bot:
        [outcome] = bot.decide([{"id": 1}], candles[-3:])
        return outcome, bot


def reported(outcome):
    """The JSON a probe bot put in its decision's reason."""
    assert outcome.ok, outcome.error + outcome.traceback
    return json.loads(outcome.decision.reason)


def test_it_hides_the_hosts_environment(pool, probe_bot, candles, monkeypatch, still_serves):
    monkeypatch.setenv("SECRET_KEY", "django-secret-do-not-leak")
    monkeypatch.setenv("FERNET_KEYS", "fernet-key-do-not-leak")
    monkeypatch.setenv("DATABASE_URL", "mysql://root:hunter2@db/marketplace")
    folder = probe_bot("""
        try:
            parent = open("/proc/1/environ", "rb").read().decode(errors="replace")
        except OSError as error:
            parent = type(error).__name__
        return Decision.hold(reason=json.dumps({"env": dict(os.environ), "parent": parent}))
    """)

    outcome, _ = decide_once(pool, folder, candles)

    seen = reported(outcome)
    assert set(seen["env"]) <= set(CHILD_ENV) | {"PWD", "LC_CTYPE"}
    assert "do-not-leak" not in outcome.decision.reason
    assert "hunter2" not in outcome.decision.reason
    still_serves()


def test_it_hides_the_project_its_settings_and_its_database(pool, probe_bot, candles, still_serves):
    secrets = [ROOT / "marketplace" / "settings" / "base.py", ROOT / "db.sqlite3", ROOT / ".env", ROOT / "manage.py"]
    folder = probe_bot(f"""
        results = {{}}
        for path in {[str(path) for path in secrets]!r} + ["{ROOT}", "/sandbox/venv/../../{ROOT}/manage.py"]:
            try:
                results[path] = "READ " + str(len(open(path, "rb").read()))
            except OSError as error:
                results[path] = type(error).__name__
        results["/"] = sorted(os.listdir("/"))
        results["/sandbox/lib/bots"] = sorted(os.listdir("/sandbox/lib/bots"))
        return Decision.hold(reason=json.dumps(results))
    """)

    outcome, _ = decide_once(pool, folder, candles)

    seen = reported(outcome)
    root_listing = seen.pop("/")
    assert set(root_listing) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "root", "sandbox", "bot",
                                 "tmp", "proc", "dev"}
    assert ROOT.parts[1] not in root_listing
    assert seen.pop("/sandbox/lib/bots") == ["__init__.py", "sdk"]
    assert seen and all(result == "FileNotFoundError" for result in seen.values()), seen
    still_serves()


def test_a_link_in_the_upload_does_not_reach_the_host(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        try:
            text = open(os.path.join(os.path.dirname(__file__), "settings_link.py")).read()
        except OSError as error:
            text = type(error).__name__
        return Decision.hold(reason=text)
    """)
    (folder / "settings_link.py").symlink_to(ROOT / "marketplace" / "settings" / "base.py")

    outcome, _ = decide_once(pool, folder, candles)

    assert outcome.decision.reason == "FileNotFoundError"
    still_serves()


def test_it_has_no_network(pool, probe_bot, candles, still_serves):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.3)
        port = listener.getsockname()[1]
        folder = probe_bot(f"""
            import socket
            results = {{}}
            for host in ("127.0.0.1", "example.com", "1.1.1.1"):
                try:
                    socket.create_connection((host, {port}), timeout=1).close()
                    results[host] = "CONNECTED"
                except OSError as error:
                    results[host] = type(error).__name__
            return Decision.hold(reason=json.dumps(results))
        """)

        outcome, _ = decide_once(pool, folder, candles)

        with pytest.raises(TimeoutError):
            listener.accept()
    assert reported(outcome) == {
        "127.0.0.1": "ConnectionRefusedError",  # its own, empty loopback: nothing listens there
        "example.com": "gaierror",
        "1.1.1.1": "OSError",  # network unreachable
    }
    still_serves()


def test_it_limits_the_number_of_processes(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        import time
        if self.state.get("count"):
            deadline = time.monotonic() + 1
            while len([p for p in os.listdir("/proc") if p.isdigit()]) > 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            return Decision.hold(indicators={"processes": len([p for p in os.listdir("/proc") if p.isdigit()])})
        forked = 0
        for _ in range(100):
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                forked += 1
            except OSError:
                pass
        return Decision.hold(indicators={"forked": forked})
    """)

    with pool.bot("evil", folder) as bot:
        [forking] = bot.decide([{"id": 1}], candles[-3:])
        [counting] = bot.decide([{"id": 1, "state": {"count": True}}], candles[-3:])

    assert 0 < forking.decision.indicators["forked"] < TEST_LIMITS.max_processes
    # The forked children did not outlive the call: only bwrap's init and the bot's process are left.
    assert counting.decision.indicators == {"processes": 2}
    still_serves()


def test_it_contains_a_fork_bomb(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """)

    with pool.bot("evil", folder) as bot, pytest.raises(SandboxTimeout) as error:
        try:
            bot.decide([{"id": 1}], candles[-3:])
        finally:
            uid = bot.uid

    assert "its process was stopped" in str(error.value)
    assert wait_until_gone(uid) == []
    still_serves()


def test_it_refuses_to_allocate_4_gb(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        hoard = bytearray(4 * 1024 ** 3)
        return Decision.hold(reason=str(len(hoard)))
    """)

    outcome, bot = decide_once(pool, folder, candles)

    assert outcome.error == "MemoryError"
    with pool.bot("evil", folder) as again:
        assert again.pid == bot.pid  # a failed allocation does not cost the warm process
    still_serves()


def test_it_stops_an_infinite_loop_at_the_cpu_limit(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        while True:
            pass
    """)

    # A generous wall clock: RLIMIT_CPU counts whole seconds, so the 1 s allowance ends within 2 s of CPU time,
    # and a busy test machine may take longer than that in wall-clock time.
    limits = dataclasses.replace(TEST_LIMITS, wall_timeout_s=10)

    with SandboxedBot(folder, limits=limits) as bot, pytest.raises(SandboxTimeout) as error:
        bot.decide([{"id": 1}], candles[-3:])

    assert error.value.kind == "cpu"
    assert str(error.value) == "the bot used more than 1 s of CPU time in one call (CPU limit); its process was stopped"
    still_serves()


def test_it_stops_a_call_at_the_wall_clock_limit(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        import time
        time.sleep(60)
    """)

    with pool.bot("evil", folder) as bot, pytest.raises(SandboxTimeout) as error:
        try:
            bot.decide([{"id": 1}], candles[-3:])
        finally:
            uid = bot.uid

    assert error.value.kind == "wall"
    assert str(error.value) == "the bot did not answer within 3 s (wall-clock limit); its process was stopped"
    assert wait_until_gone(uid) == []
    still_serves()


def test_it_cannot_write_outside_its_tmp(pool, probe_bot, candles, still_serves):
    pwned = ROOT / "pwned"
    folder = probe_bot(f"""
        results = {{}}
        for path in ["{pwned}", "/bot/x", "/bot/bot.py", "/sandbox/lib/bots/sdk/bot.py", "/usr/pwned", "/pwned",
                     "/tmp/allowed"]:
            try:
                with open(path, "w") as handle:
                    handle.write("pwned")
                results[path] = "WROTE"
            except OSError as error:
                results[path] = type(error).__name__
        try:
            with open("/tmp/big", "wb") as handle:
                handle.write(b"x" * 6 * 1024 * 1024)
            results["big"] = "WROTE"
        except OSError as error:
            results["big"] = error.strerror
        return Decision.hold(reason=json.dumps(results))
    """)
    before = sorted(path.name for path in folder.iterdir())

    outcome, _ = decide_once(pool, folder, candles)

    seen = reported(outcome)
    assert seen.pop("/tmp/allowed") == "WROTE"  # noqa: S108 - the sandbox's private /tmp
    assert seen.pop("big") == "File too large"  # RLIMIT_FSIZE (4 MB in these tests)
    assert set(seen.values()) <= {"OSError", "PermissionError", "FileNotFoundError"}, seen
    assert not pwned.exists()
    assert sorted(path.name for path in folder.iterdir()) == before
    assert "pwned" not in (folder / "bot.py").read_text().split("\n")[0]
    still_serves()


def test_it_refuses_a_huge_answer(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        self.state["blob"] = "x" * 3 * 1024 * 1024  # a reason that long is refused inside: Decision is bounded
        return Decision.hold()
    """)

    with pytest.raises(SandboxProtocolError) as error:
        decide_once(pool, folder, candles)

    assert str(error.value) == (
        "the bot's answer is larger than 1048576 bytes (output limit); its process was stopped"
    )
    still_serves()


def test_a_bots_print_does_not_corrupt_the_protocol(pool, probe_bot, candles):
    folder = probe_bot("""
        print("hello from the bot")
        sys.stdout.write("not json\\n")
        os.write(1, b"not json either\\n")
        return Decision.hold(reason="fine")
    """)

    outcome, _ = decide_once(pool, folder, candles)

    assert outcome.decision.reason == "fine"


def test_it_refuses_malformed_output(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        for fd in os.listdir("/proc/self/fd"):
            if int(fd) > 2:
                try:
                    os.write(int(fd), b"garbage\\n")
                except OSError:
                    pass
        return Decision.hold()
    """)

    with pytest.raises(SandboxProtocolError) as error:
        decide_once(pool, folder, candles)

    assert str(error.value) == "the bot's process wrote something that is not JSON: b'garbage'"
    still_serves()


def test_it_survives_the_interpreter_aborting(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        os.abort()
    """)

    with pytest.raises(SandboxCrashed) as error:
        decide_once(pool, folder, candles)

    assert error.value.signal == signal.SIGABRT
    assert error.value.signal_name == "SIGABRT"
    assert str(error.value).startswith("the bot's process died of SIGABRT (aborted)")
    assert "Fatal Python error: Aborted" in error.value.stderr_tail
    still_serves()


def test_it_survives_a_segfault(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        import ctypes
        ctypes.string_at(0)
    """)

    with pytest.raises(SandboxCrashed) as error:
        decide_once(pool, folder, candles)

    assert error.value.signal == signal.SIGSEGV
    assert "Segmentation fault" in error.value.stderr_tail
    assert 'File "/bot/bot.py"' in error.value.stderr_tail  # faulthandler's stack points at the bot's line
    still_serves()


def test_it_reports_an_exit_code(pool, probe_bot, candles, still_serves):
    folder = probe_bot("""
        sys.stderr.write("giving up\\n")
        os._exit(3)
    """)

    with pytest.raises(SandboxCrashed) as error:
        decide_once(pool, folder, candles)

    assert error.value.exit_code == 3
    assert str(error.value) == "the bot's process exited with code 3; its last output: giving up"
    still_serves()


def test_sys_exit_is_only_the_bots_error(pool, probe_bot, candles):
    folder = probe_bot("""
        sys.exit(1)
    """)

    outcome, _ = decide_once(pool, folder, candles)

    assert outcome.error == "SystemExit: 1"


def test_an_exception_at_import_is_a_bot_error(pool, write_bot, still_serves):
    folder = write_bot("raise RuntimeError('no luck')\n")

    with pool.bot("evil", folder) as bot, pytest.raises(SandboxBotError) as error:
        bot.load()

    assert str(error.value) == "the bot raised RuntimeError: no luck"
    still_serves()
