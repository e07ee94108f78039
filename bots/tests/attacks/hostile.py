"""The hostile bots of the attack suite, by class, each with what containment means for it.

Every bot is a real upload (see arena.bot_source for the file around each body): `body` is the inside of
`decide(self, candles)`; with `sleeper=True` (the default) the bot behaves while validated and attacks once a
subscription arms it, so the attack reaches the live engine. Each `check` states the containment specific to the
attack; test_attacks.py adds what holds for all of them (the batch survived, the honest bot decided as in the
control run, no host secret stored or logged, no process left behind, the host's memory did not grow).

The bots report what they achieved as JSON in their decision's reason (`report(...)`): an attacker would use that
channel to get a secret out, so a stored report is also where a leak would show.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import struct
import time
from decimal import Decimal
from pathlib import Path

from .arena import ATTACK_LIMITS, Attack, Bot, busy_tasks, wait_gone

ERRORS = ("Error", "gaierror", "herror", "timeout")
MEMORY_SLACK_MB = 64


def failed(value) -> bool:
    """A probe's result for one attempt says it failed (an exception name, or a refusal the bot recorded)."""
    return isinstance(value, str) and (value.endswith(ERRORS) or value.startswith("refused"))


def decided_or_errored(outcome) -> None:
    """The hostile subscription either decided (its own, bounded, decision) or shows its own error."""
    assert outcome.hostile_logs() or outcome.hostile_error(), "the hostile run left no trace on its subscription"


def hostile_failed(outcome) -> None:
    """The hostile subscription shows an error of its own and decided nothing."""
    assert outcome.subscription is not None, "the attack never reached the engine"
    assert outcome.hostile_error(), "the hostile subscription shows no error"
    assert not outcome.hostile_logs(), "a decision was stored for a run that failed"


def no_trade(outcome) -> None:
    from subscriptions.models import Trade
    from trading.models import Order

    for subscription in outcome.subscriptions:
        assert not Trade.objects.filter(subscription=subscription).exists()
        assert not Order.objects.filter(subscription=subscription).exists()


def probe_all_failed(key: str):
    def check(outcome) -> None:
        probe = outcome.probe()
        if probe is None:  # it could not even report: the attempt killed its own process
            assert outcome.hostile_error()
            return
        attempts = probe[key]
        assert attempts and all(failed(v) for v in attempts.values()), attempts

    return check


def bounded_memory(key: str = "mb"):
    """The attack got no more memory than the sandbox's limit, or its run failed."""

    def check(outcome) -> None:
        probe = outcome.probe()
        if probe is None:
            assert outcome.hostile_error()
            return
        assert probe[key] <= ATTACK_LIMITS.memory_mb + MEMORY_SLACK_MB, probe

    return check


def stored_bounded(limit: int = 100_000):
    """What the run stored for the hostile subscription is small: a decision's reason and indicators are bounded."""

    def check(outcome) -> None:
        decided_or_errored(outcome)
        for log in outcome.hostile_logs():
            assert len(json.dumps(log.signal_data)) <= limit, f"{len(json.dumps(log.signal_data))} bytes stored"
        subscription = outcome.subscription
        assert len(json.dumps(subscription.bot_state)) <= 64 * 1024
        assert len(subscription.last_error) <= 2000

    return check


def malformed(outcome) -> None:
    """A decision the host cannot accept is that subscription's error; nothing is traded on it."""
    hostile_failed(outcome)
    no_trade(outcome)


# --- bodies shared by several attacks --------------------------------------------------------------------------------

FORK_DAEMON = '''
def daemonize(marker):
    """Double fork and setsid: a busy process that no longer belongs to the call."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            set_comm(marker)
            end = time.monotonic() + 60
            while time.monotonic() < end:
                pass
            os._exit(0)
        os._exit(0)
    try:
        os.wait()
    except ChildProcessError:
        pass
'''

FUTURE = '''
import numpy as np


def root_and_offset(array):
    """The array a view was cut from, and where the view starts in it."""
    root = array
    while isinstance(getattr(root, "base", None), np.ndarray):
        root = root.base
    if root is array or root.dtype != array.dtype or root.ndim != 1:
        return None, 0
    offset = (array.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // array.itemsize
    return root, offset


def future_from_base(close):
    root, offset = root_and_offset(close)
    if root is None or offset + len(close) >= len(root):
        return None
    return float(root[offset + len(close)])


def future_from_gc(candles):
    """The next close, from any list of candle rows or longer close array alive in the process."""
    last_time = int(candles.time[-1])
    for obj in gc.get_objects():
        if isinstance(obj, list) and len(obj) > len(candles) and obj and isinstance(obj[0], list):
            for index in range(len(obj) - 1):
                row = obj[index]
                if isinstance(row, list) and row and row[0] == last_time:
                    return float(obj[index + 1][4])
    return None


def future_from_frames(candles):
    """The next close, from any longer candle series in a caller's frame."""
    last_time = int(candles.time[-1])
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            times = getattr(value, "time", None)
            closes = getattr(value, "close", None)
            if isinstance(times, np.ndarray) and isinstance(closes, np.ndarray) and len(times) > len(candles):
                where = np.nonzero(times == last_time)[0]
                if len(where) and where[0] + 1 < len(times):
                    return float(closes[where[0] + 1])
            if isinstance(value, dict) and isinstance(value.get("candles"), list):
                rows = value["candles"]
                for index in range(len(rows) - 1):
                    if rows[index][0] == last_time:
                        return float(rows[index + 1][4])
        frame = frame.f_back
    return None


def trade_on(future, close):
    if future is None:
        return Decision.hold()
    if future > close * 1.003:
        return Decision(Action.BUY, None, "", {})
    if future < close:
        return Decision(Action.SELL, None, "", {})
    return Decision.hold()
'''


def no_foresight(outcome) -> None:
    """The bot could not trade on the future: validation failed, or its backtests look like a bot's without it."""
    version = outcome.version
    report = version.validation_report or {}
    if version.validation_status == "FAILED":
        return
    assert report.get("backtests"), report
    for run in report["backtests"]:
        stats = run["stats"]
        assert stats["roi"] < 0.25, f"{run['market']}: ROI {stats['roi']:.0%} with {stats['trades']} trades"
        assert not (stats["trades"] >= 10 and (stats["win_rate"] or 0) >= 0.9), stats


FORGED_STATS = {
    "roi": 8.87,
    "net_profit": "88700",
    "final_balance": "98700",
    "trades": 50,
    "wins": 50,
    "losses": 0,
    "win_rate": 1.0,
    "max_drawdown": "0",
    "max_drawdown_pct": 0.0,
}


def _no_gain(stats: dict) -> None:
    assert stats["trades"] == 0, stats
    assert stats["roi"] == 0, stats
    assert stats.get("wins", 0) == 0 and not stats.get("win_rate"), stats
    assert Decimal(str(stats["net_profit"])) == 0, stats


def host_computed_stats(outcome) -> None:
    """The bot never trades: the stored statistics must say so, whatever the sandbox claimed, in its validation
    report and in a trader's own backtest of it."""
    version = outcome.version
    assert version.validation_status == "PASSED", version.validation_report
    backtests = version.validation_report["backtests"]
    assert backtests
    for run in backtests:
        _no_gain(run["stats"])
        assert run["trades"] == 0, run
    trader_run = outcome.context["trader_backtest"]
    assert trader_run.status == "DONE", (trader_run.status, trader_run.error)
    if trader_run.result:
        _no_gain(trader_run.result["stats"])
        assert trader_run.result["trades"] == [], trader_run.result["trades"][:2]
    decided_or_errored(outcome)


def after_trader_backtest(arena, context) -> None:
    context["trader_backtest"] = arena.trader_backtest(context["versions"][0].bot)


# --- host hooks ------------------------------------------------------------------------------------------------------


def marker_of(context) -> str:
    return context["tokens"]["MARKER"]


def after_processes(arena, context) -> None:
    """Right after the run (the hostile bot still warm in the pool): which of its processes are still there."""
    time.sleep(0.8)  # a late thread forks 0.3 s after the answer
    context["left"] = wait_gone(marker_of(context), 2.0)


def after_busy(arena, context) -> None:
    context["busy"] = busy_tasks(marker_of(context))


def nothing_left(outcome) -> None:
    assert outcome.context["left"] == [], f"still running after the call: {outcome.context['left']}"
    decided_or_errored(outcome)


def nothing_busy(outcome) -> None:
    assert outcome.context["busy"] == [], f"still using CPU after the call: {outcome.context['busy']}"
    decided_or_errored(outcome)


SHARED_FILES = ["/usr/lib/os-release", "/sandbox/lib/bots/__init__.py", "/sandbox/venv/pyvenv.cfg"]


def after_host_lock(arena, context) -> None:
    """The host takes the same lock on the file every sandbox shares: blocked means a bot holds it across sandboxes."""
    lock = context.get("lock", "flock")
    with open("/usr/lib/os-release", "rb") as handle:
        try:
            if lock == "flock":
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                answer = fcntl.fcntl(handle, fcntl.F_GETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
                if struct.unpack("hhqqi", answer)[0] != fcntl.F_UNLCK:
                    raise BlockingIOError
            context["host_blocked"] = False
        except OSError:
            context["host_blocked"] = True


def no_lock_channel(outcome) -> None:
    assert outcome.context["host_blocked"] is False, "a bot's lock on a shared file blocks the host"
    holder, other = outcome.probe(0), outcome.probe(1)
    if holder is None or other is None:
        assert outcome.hostile_error(0) or outcome.hostile_error(1)
        return
    for path, held in holder["held"].items():
        if held == "held":
            assert other["tried"].get(path) != "blocked", f"{path}: one bot's lock is visible to another's sandbox"


def before_fcntl(arena, context) -> None:
    context["lock"] = "fcntl"


def after_keyring(arena, context) -> None:
    """Search this process's keyrings for the key the first bot tried to add."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    description = f"covert-{context['tokens']['TOKEN']}".encode()
    context["host_found"] = [
        ring for ring in (-3, -4, -5) if libc.syscall(250, 10, ring, b"user", description, 0) > 0
    ]


def no_keyring_channel(outcome) -> None:
    assert outcome.context["host_found"] == [], "a bot's key landed in the worker's keyrings"
    reader = outcome.probe(1)
    if reader is None:
        assert outcome.hostile_error(1)
        return
    assert not any("hello-from-A" in str(value) for value in reader["read"].values()), reader


def after_write(arena, context) -> None:
    token = context["tokens"]["TOKEN"]
    base = Path(context["tokens"]["BASE_DIR"])
    venv = (base / ".venv").resolve()
    candidates = [base / "var" / f"pwned-{token}", Path(f"/usr/pwned-{token}"), venv / f"pwned-{token}",
                  Path(f"/pwned-{token}"), Path(f"/tmp/pwned-{token}")]  # noqa: S108 - the host's own /tmp
    context["written"] = [str(path) for path in candidates if path.exists()]
    for path in candidates:
        path.unlink(missing_ok=True)


def nothing_written(outcome) -> None:
    assert outcome.context["written"] == [], outcome.context["written"]
    probe_all_failed("wrote")(outcome)


def no_redis_key(arena, context) -> None:
    import socket as host_socket

    token = context["tokens"]["TOKEN"]
    try:
        with host_socket.create_connection(("127.0.0.1", 6379), timeout=1) as redis:
            redis.sendall(f"EXISTS attack-{token}\r\nDEL attack-{token}\r\n".encode())
            context["redis"] = redis.recv(100).decode()
    except OSError:
        context["redis"] = "no redis"


def network_refused(outcome) -> None:
    assert not outcome.context["redis"].startswith(":1"), "the bot wrote into the host's Redis"
    probe_all_failed("connect")(outcome)


# --- the catalogue ---------------------------------------------------------------------------------------------------

ATTACKS: list[Attack] = []


def attack(name, klass, bot, check, **options) -> None:
    ATTACKS.append(Attack(name=name, klass=klass, bot=bot, check=check, **options))


# Classic: files, environment, network, signals --------------------------------------------------------------------

READ_FILES = '''
READ = {}
for path in @@PATHS@@:
    try:
        with open(path, "rb") as handle:
            READ[path] = handle.read(3000).decode(errors="replace")
    except OSError as error:
        READ[path] = type(error).__name__
'''

attack(
    "read-etc-shadow",
    "classic: files",
    Bot(module=READ_FILES.replace("@@PATHS@@", repr(["/etc/shadow", "/etc/passwd", "/proc/1/root/etc/shadow",
                                                   "/etc/ssh/ssh_host_ed25519_key", "/root/.ssh/id_rsa"])),
        body="return report(read=READ)"),
    probe_all_failed("read"),
)
attack(
    "read-project-secrets",
    "classic: files",
    Bot(module=READ_FILES.replace("@@PATHS@@", repr([
        "@@PROJECT_CANARY@@", "@@BASE_DIR@@/.env", "@@BASE_DIR@@/db.sqlite3",
        "@@BASE_DIR@@/marketplace/settings/test.py",
        "@@BASE_DIR@@/marketplace/settings/base.py", "/sandbox/venv/../../@@BASE_DIR@@/.env",
        "/proc/@@HOST_PID@@/root/@@PROJECT_CANARY@@", "/proc/self/root/@@PROJECT_CANARY@@",
    ])), body="return report(read=READ)"),
    probe_all_failed("read"),
)
attack(
    "read-other-bots-code",
    "classic: files",
    Bot(body='''
        import glob
        found = {}
        for pattern in ("@@BASE_DIR@@/var/**/bot.py", "/proc/*/root/bot/bot.py", "/proc/*/cwd/bot.py",
                        "/bot/../*/bot.py", "/tmp/../*/bot.py", "/sandbox/../*/*/bot.py"):
            for path in glob.glob(pattern, recursive=True)[:20]:
                try:
                    text = open(path).read()
                    found[path] = "HONEST" if ("fast simple " + "moving average") in text else "own"
                except OSError as error:
                    found[path] = type(error).__name__
        return report(found=found)
    '''),
    lambda outcome: _no_other_code(outcome),
)


def _no_other_code(outcome) -> None:
    decided_or_errored(outcome)
    assert "HONEST" not in json.dumps(outcome.probe()), outcome.probe()
attack(
    "read-environment",
    "classic: environment",
    Bot(module='''
        SEEN = {"environ": dict(os.environ)}
        for pid in os.listdir("/proc"):
            if pid.isdigit() or pid == "self":
                try:
                    SEEN[pid] = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
                except OSError as error:
                    SEEN[pid] = type(error).__name__
        try:
            SEEN["host"] = open("/proc/@@HOST_PID@@/environ", "rb").read().decode(errors="replace")
        except OSError as error:
            SEEN["host"] = type(error).__name__
    ''', body="return report(seen=SEEN)"),
    lambda outcome: _environment_check(outcome),
)


def _environment_check(outcome) -> None:
    from bots.sandbox.command import CHILD_ENV

    probe = outcome.probe()
    assert probe is not None, outcome.hostile_error()
    assert set(probe["seen"]["environ"]) <= set(CHILD_ENV) | {"PWD", "LC_CTYPE"}, probe["seen"]["environ"]
    assert "ATTACK_CANARY" not in json.dumps(probe)


attack(
    "network-database-and-redis",
    "classic: network",
    Bot(body='''
        results = {}
        for host, port in (("127.0.0.1", 3306), ("127.0.0.1", 6379), ("127.0.0.1", @@LISTENER_PORT@@),
                           ("::1", 6379), ("10.0.2.2", 6379), ("172.17.0.1", 3306)):
            try:
                with socket.create_connection((host, port), timeout=1) as connection:
                    connection.sendall(b"SET attack-@@TOKEN@@ 1\\r\\n")
                results[f"{host}:{port}"] = "CONNECTED"
            except OSError as error:
                results[f"{host}:{port}"] = type(error).__name__
        return report(connect=results)
    '''),
    network_refused,
    after=no_redis_key,
)
attack(
    "network-dns-and-udp",
    "classic: network",
    Bot(body='''
        results = {}
        for name in ("example.com", "pypi.org", "metadata.google.internal"):
            try:
                results[name] = str(socket.getaddrinfo(name, 443))
            except OSError as error:
                results[name] = type(error).__name__
        for host in ("8.8.8.8", "1.1.1.1", "127.0.0.53", "169.254.169.254"):
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                    udp.settimeout(0.5)
                    query = bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001")
                    udp.sendto(query, (host, 53))
                    udp.recvfrom(512)
                results[host] = "ANSWERED"
            except OSError as error:
                results[host] = type(error).__name__
        return report(connect=results)
    '''),
    lambda outcome: probe_all_failed("connect")(outcome),
)
attack(
    "signals-to-the-host",
    "classic: signals",
    Bot(body='''
        results = {}
        for name, pid, signum in (("host", @@HOST_PID@@, signal.SIGUSR2), ("parent", os.getppid(), signal.SIGKILL),
                                  ("init", 1, signal.SIGKILL)):
            try:
                os.kill(pid, signum)
                results[name] = "SENT"
            except OSError as error:
                results[name] = type(error).__name__
        visible = []
        for pid in range(1, 40000):
            try:
                os.kill(pid, 0)
                visible.append(pid)
            except OSError:
                pass
        results["visible"] = len(visible)
        return report(signals=results)
    '''),
    lambda outcome: _signals_check(outcome),
)


def _signals_check(outcome) -> None:
    probe = outcome.probe()
    if probe is None:  # killing its own sandbox's init is its own loss
        assert outcome.hostile_error()
        return
    assert failed(probe["signals"]["host"]), probe
    assert probe["signals"]["visible"] <= 8, probe  # only its own sandbox's processes


# Classic: bombs and floods ----------------------------------------------------------------------------------------

attack(
    "fork-bomb",
    "classic: fork bomb",
    Bot(body='''
        while True:
            try:
                os.fork()
            except OSError:
                pass
    '''),
    hostile_failed,
)
attack(
    "thread-bomb",
    "classic: thread bomb",
    Bot(body='''
        started = 0
        try:
            while started < 100000:
                threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
                started += 1
        except RuntimeError as error:
            return report(threads=started, error=str(error))
        return report(threads=started)
    '''),
    lambda outcome: _probe_at_most(outcome, "threads", ATTACK_LIMITS.max_processes),
)


def _at_most(value, limit) -> bool:
    assert value <= limit, f"{value} > {limit}"
    return True


def _probe_at_most(outcome, key, limit) -> None:
    probe = outcome.probe()
    if probe is None:
        assert outcome.hostile_error(), "neither a decision nor an error"
        return
    _at_most(probe[key], limit)


attack(
    "memory-bomb",
    "classic: memory bomb",
    Bot(body='''
        try:
            hoard = bytearray(8 * 1024 ** 3)
            return report(mb=8 * 1024)
        except MemoryError:
            pass
        chunks = []
        try:
            while len(chunks) < 200:
                chunks.append(b"\\x01" * (32 * 1024 * 1024))
        except MemoryError:
            pass
        return report(mb=len(chunks) * 32)
    '''),
    bounded_memory(),
)
attack(
    "cpu-spin",
    "classic: CPU",
    Bot(body='''
        while True:
            pass
    '''),
    hostile_failed,
)
attack(
    "cpu-spin-ignoring-sigxcpu",
    "classic: CPU",
    Bot(body='''
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            pass
    '''),
    hostile_failed,
)
attack(
    "stdout-flood",
    "classic: output flood",
    Bot(body='''
        block = b"A" * (1024 * 1024)
        for _ in range(48):
            os.write(1, block)
            sys.stdout.write("B" * 1024 * 1024)
        return report(flooded=96)
    '''),
    stored_bounded(),
)
attack(
    "stderr-flood",
    "classic: output flood",
    Bot(body='''
        block = b"E" * (1024 * 1024)
        for _ in range(96):
            os.write(2, block)
        return report(flooded=96)
    '''),
    stored_bounded(),
)
attack(
    "print-into-the-protocol",
    "classic: protocol",
    Bot(body='''
        fake = json.dumps(forged_answer({"results": [
            {"id": i, "decision": {"action": "BUY", "size": None, "reason": "forged", "indicators": {}}, "state": {}}
            for i in subscription_ids()]}))
        print(fake)
        sys.stderr.write(fake + "\\n")
        os.write(1, (fake + "\\n").encode())
        return report(printed=True)
    '''),
    lambda outcome: (_printed_check(outcome)),
)


def _printed_check(outcome) -> None:
    probe = outcome.probe()
    assert probe == {"printed": True}, (probe, outcome.hostile_error())
    assert all(log.action == "HOLD" for log in outcome.hostile_logs())
    no_trade(outcome)


for _name, _body in (
    ("sys-exit", "sys.exit(0)"),
    ("os-exit", "os._exit(0)"),
    ("os-abort", "os.abort()"),
    ("segfault", "ctypes.string_at(0)"),
    ("kill-itself", "os.kill(os.getpid(), signal.SIGKILL)"),
):
    attack(_name, "classic: exit and crash", Bot(body=_body), hostile_failed)

attack(
    "huge-state",
    "classic: huge state",
    Bot(body='''
        self.state["blob"] = "s" * (8 * 1024 * 1024)
        return Decision.hold()
    '''),
    lambda outcome: (hostile_failed(outcome), _at_most(len(json.dumps(outcome.subscription.bot_state)), 64 * 1024)),
)
attack(
    "infinite-recursion",
    "classic: recursion",
    Bot(body='''
        sys.setrecursionlimit(10 ** 8)

        def deeper(n):
            return deeper(n + 1) + 1

        deeper(0)
    '''),
    hostile_failed,
)
attack(
    "write-outside-tmp",
    "classic: files",
    Bot(sleeper=False, module='''
        WROTE = {}
        for path in ("@@BASE_DIR@@/var/pwned-@@TOKEN@@", "/usr/pwned-@@TOKEN@@", "/sandbox/venv/pwned-@@TOKEN@@",
                     "/pwned-@@TOKEN@@", "/bot/pwned", "/sandbox/lib/bots/pwned.py",
                     "/proc/@@HOST_PID@@/root/tmp/pwned-@@TOKEN@@",
                     "/proc/self/root/usr/pwned-@@TOKEN@@", "/dev/pwned"):
            try:
                with open(path, "w") as handle:
                    handle.write("pwned")
                WROTE[path] = "WROTE"
            except OSError as error:
                WROTE[path] = type(error).__name__
    ''', body="return report(wrote=WROTE)"),
    nothing_written,
    after=after_write,
)
attack(
    "fill-tmp",
    "classic: disk",
    Bot(body='''
        written = 0
        try:
            for n in range(4096):
                with open(f"/tmp/fill-{n}", "wb") as handle:
                    handle.write(b"\\x01" * (1024 * 1024))
                written += 1
        except OSError as error:
            return report(mb=written, error=type(error).__name__)
        return report(mb=written)
    '''),
    lambda outcome: _probe_at_most(outcome, "mb", ATTACK_LIMITS.tmp_size_mb),
)

# Classic: malformed decisions -------------------------------------------------------------------------------------

attack("decision-not-a-decision", "classic: malformed decision",
       Bot(body='return {"action": "BUY", "size": 1e9}'), malformed)
for _name, _decision in (
    ("decision-unknown-action", {"action": "YOLO", "size": None, "reason": "", "indicators": {}}),
    ("decision-unknown-size-type", {"action": "BUY", "size": {"type": "LEVERAGE", "value": "100"}, "reason": "",
                                    "indicators": {}}),
    ("decision-negative-size", {"action": "BUY", "size": {"type": "QUANTITY", "value": "-5"}, "reason": "",
                                "indicators": {}}),
    ("decision-reason-not-text", {"action": "HOLD", "size": None, "reason": {"nested": ["x"] * 10},
                                  "indicators": {}}),
    ("decision-indicators-not-numbers", {"action": "HOLD", "size": None, "reason": "",
                                         "indicators": {"x": {"deep": [1, 2, 3]}, "y": "text"}}),
):
    attack(
        _name,
        "trust: malformed decision",
        Bot(body=f'''
            forge(forged_answer({{"results": [{{"id": i, "decision": {_decision!r}, "state": {{}}}}
                                              for i in subscription_ids()]}}))
        '''),
        malformed,
    )

# The host trusting the child ----------------------------------------------------------------------------------------

attack(
    "forged-deep-json",
    "trust: forged protocol",
    Bot(body='''
        seq = json.dumps(current_request().get("seq"))
        forge(('{"seq":' + seq + ',"ok":true,"result":' + "[" * 200000 + "]" * 200000 + ',"cpu_s":0}').encode())
    '''),
    malformed,
)
for _name, _error in (
    ("forged-error-kind-config", {"kind": "config", "message": "forged", "traceback": "", "errors": 5}),
    ("forged-error-kind-insufficient", {"kind": "insufficient_candles", "message": "forged", "traceback": "",
                                        "errors": []}),
    ("forged-error-kind-unknown", {"kind": "kernel_panic", "message": ["not", "text"], "traceback": 7,
                                   "errors": {"x": 1}}),
    ("forged-error-not-an-object", "a string where an object belongs"),
):
    attack(
        _name,
        "trust: forged protocol",
        Bot(body=f'''
            forge({{"seq": current_request().get("seq"), "ok": False, "error": {_error!r}, "cpu_s": 0}})
        '''),
        malformed,
    )
attack(
    "forged-result-for-other-ids",
    "trust: forged protocol",
    Bot(body='''
        ids = subscription_ids()
        forge(forged_answer({"results": [
            {"id": i + k, "decision": {"action": "BUY", "size": None, "reason": "", "indicators": {}}, "state": {}}
            for i in ids for k in (1, 2, -1)]}))
    '''),
    malformed,
)
attack(
    "forged-nan-and-infinity",
    "trust: forged protocol",
    Bot(body='''
        ids = subscription_ids()
        results = ",".join(
            '{"id": %d, "decision": {"action": "HOLD", "size": null, "reason": "", "indicators": {"x": NaN, '
            '"y": Infinity, "z": -Infinity}}, "state": {"nan": NaN}}' % i for i in ids)
        forge(('{"seq": %s, "ok": true, "result": {"results": [%s]}, "cpu_s": NaN}'
               % (json.dumps(current_request().get("seq")), results)).encode())
    '''),
    lambda outcome: _no_nan(outcome),
)


def _no_nan(outcome) -> None:
    decided_or_errored(outcome)
    for log in outcome.hostile_logs():
        json.dumps(log.signal_data, allow_nan=False)
    json.dumps(outcome.subscription.bot_state, allow_nan=False)


attack(
    "absurd-decimal-size",
    "trust: absurd numbers",
    Bot(body='''
        return Decision(Action.BUY, Size(SizeType.QUANTITY, Decimal("1e999999")), "to the moon", {})
    '''),
    lambda outcome: _sane_trades(outcome),
)
attack(
    "forged-decimal-exponent",
    "trust: absurd numbers",
    Bot(body='''
        forge(forged_answer({"results": [
            {"id": i, "decision": {"action": "BUY", "size": {"type": "USDT_AMOUNT", "value": "9e999999999"},
                                   "reason": "", "indicators": {}}, "state": {}} for i in subscription_ids()]}))
    '''),
    lambda outcome: _sane_trades(outcome),
)
attack(
    "tiny-decimal-size",
    "trust: absurd numbers",
    Bot(body='''
        return Decision(Action.BUY, Size(SizeType.USDT_AMOUNT, Decimal("1e-999999")), "", {})
    '''),
    lambda outcome: _sane_trades(outcome),
)


def _sane_trades(outcome) -> None:
    from subscriptions.models import Trade

    decided_or_errored(outcome)
    for trade in Trade.objects.filter(subscription=outcome.subscription):
        assert Decimal(0) < trade.quantity < Decimal(10**6), trade.quantity
        assert trade.entry_price * trade.quantity <= Decimal(10**6)


attack(
    "reason-15-mb",
    "trust: unbounded storage",
    Bot(body='return Decision.hold(reason="r" * (15 * 1024 * 1024))'),
    stored_bounded(),
)
attack(
    "indicators-600k",
    "trust: unbounded storage",
    Bot(body='return Decision.hold(indicators={f"i{n}": n for n in range(600000)})'),
    stored_bounded(),
)

# Forged statistics --------------------------------------------------------------------------------------------------

attack(
    "stats-forged-on-the-wire",
    "forged statistics",
    Bot(sleeper=False, module=f'''
        FORGED = {FORGED_STATS!r}
        _dumps = json.dumps


        def _forge(value):
            if isinstance(value, dict):
                if isinstance(value.get("stats"), dict):
                    value["stats"].update(FORGED)
                for item in list(value.values()):
                    _forge(item)
            elif isinstance(value, list):
                for item in value:
                    _forge(item)


        def forging_dumps(value, *args, **kwargs):
            _forge(value)
            return _dumps(value, *args, **kwargs)


        json.dumps = forging_dumps
    ''', body="return Decision.hold()"),
    host_computed_stats,
    after=after_trader_backtest,
)
attack(
    "stats-forged-in-the-engine",
    "forged statistics",
    Bot(sleeper=False, module=f'''
        import dataclasses
        FORGED = {FORGED_STATS!r}


        def _fake_stats(stats):
            changes = {{}}
            for name, value in FORGED.items():
                if hasattr(stats, name):
                    current = getattr(stats, name)
                    changes[name] = Decimal(value) if isinstance(current, Decimal) else value
            return dataclasses.replace(stats, **changes)


        def _wrap(function):
            def forged(*args, **kwargs):
                result = function(*args, **kwargs)
                if dataclasses.is_dataclass(result) and hasattr(result, "stats"):
                    return dataclasses.replace(result, stats=_fake_stats(result.stats))
                if dataclasses.is_dataclass(result) and hasattr(result, "roi"):
                    return _fake_stats(result)
                return result
            forged._forged = True
            return forged


        for _module in list(sys.modules.values()):
            for _name in ("run_backtest", "compute_stats", "backtest"):
                _function = getattr(_module, _name, None)
                if callable(_function) and not getattr(_function, "_forged", False) and not isinstance(_function, type):
                    try:
                        setattr(_module, _name, _wrap(_function))
                    except (AttributeError, TypeError):
                        pass
    ''', body="return Decision.hold()"),
    host_computed_stats,
    after=after_trader_backtest,
)

# Look-ahead that passes the check -----------------------------------------------------------------------------------

attack(
    "lookahead-array-base",
    "look-ahead",
    Bot(sleeper=False, module=FUTURE,
        body="return trade_on(future_from_base(candles.close), float(candles.close[-1]))"),
    no_foresight,
    reaches_engine=False,
)
attack(
    "lookahead-gc-scan",
    "look-ahead",
    Bot(sleeper=False, module=FUTURE, body="return trade_on(future_from_gc(candles), float(candles.close[-1]))"),
    no_foresight,
    reaches_engine=False,
)
attack(
    "lookahead-frame-inspection",
    "look-ahead",
    Bot(sleeper=False, module=FUTURE,
        body="return trade_on(future_from_frames(candles), float(candles.close[-1]))"),
    no_foresight,
    reaches_engine=False,
)
attack(
    "lookahead-vector-base-with-global-cache",
    "look-ahead",
    Bot(sleeper=False, base="VectorBot", module=FUTURE + '''
CACHE = {}
''', method='''
    def populate(self, candles):
        close = np.asarray(candles.close)
        n = len(close)
        key = int(candles.time[0])
        cached = CACHE.get(key)
        if cached is not None and len(cached) > n:
            # The look-ahead check's truncated run: replay the first run's rows, so nothing "changes".
            future = cached[:n]
        else:
            root, offset = root_and_offset(candles.close)
            full = np.asarray(root[offset:]) if root is not None and offset + n < len(root) else close
            CACHE[key] = np.append(full[1:], full[-1])
            future = CACHE[key][:n]
        n = len(close)
        action = np.zeros(n, dtype=np.int8)
        if future is not None:
            fut = np.asarray(future)[:n]
            action[fut > close * 1.003] = 1
            action[fut < close] = -1
        return Signals(action, {})
'''),
    no_foresight,
    reaches_engine=False,
)

# Memory beyond the limit --------------------------------------------------------------------------------------------

attack(
    "memory-forked-children",
    "memory beyond the limit",
    Bot(body='''
        import select
        children, pipes = [], []
        for _ in range(6):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    hoard = b"\\x01" * (160 * 1024 * 1024)
                    os.write(write_end, b"1")
                    time.sleep(5)
                finally:
                    os._exit(0)
            children.append(pid)
            pipes.append(read_end)
        owner = dict(zip(pipes, children))
        hoarders, deadline = [], time.monotonic() + 2.5
        while pipes and time.monotonic() < deadline:
            ready, _, _ = select.select(pipes, [], [], 0.2)
            for fd in ready:
                if os.read(fd, 1) == b"1":
                    hoarders.append(owner[fd])
                pipes.remove(fd)
        # What is held at once: the hoarders still alive now (the kernel may have killed earlier ones to make room
        # for later ones, so counting every child that once succeeded would add up memory never held together).
        held = sum(1 for pid in hoarders if os.waitpid(pid, os.WNOHANG) == (0, 0))
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return report(mb=held * 160)
    '''),
    bounded_memory(),
)
attack(
    "memory-memfd",
    "memory beyond the limit",
    Bot(body='''
        # Many memory files, each under the per-file size limit: shared memory that no address-space limit counts
        # (fallocate: the kernel hands out zeroed pages without the bot copying a byte, so no CPU limit stops it).
        files, written = [], 0
        try:
            while written < 1536:
                fd = os.memfd_create("hoard")
                files.append(fd)
                os.posix_fallocate(fd, 0, 4 * 1024 * 1024)
                written += 4
        except OSError as error:
            return report(mb=written, error=type(error).__name__)
        return report(mb=written)
    '''),
    bounded_memory(),
)
attack(
    "memory-dev-shm",
    "memory beyond the limit",
    Bot(body='''
        written = 0
        try:
            with open("/dev/shm/hoard", "wb") as handle:
                block = b"\\x01" * (1024 * 1024)
                while written < 1536:
                    handle.write(block)
                    written += 1
        except OSError as error:
            return report(mb=written, error=type(error).__name__)
        return report(mb=written)
    '''),
    bounded_memory(),
)
attack(
    "memory-anonymous-plus-tmpfs",
    "memory beyond the limit",
    Bot(body='''
        hoard, files = [], 0
        try:
            while len(hoard) < 40:
                hoard.append(b"\\x01" * (16 * 1024 * 1024))
        except MemoryError:
            pass
        try:
            for n in range(4096):
                with open(f"/tmp/hoard-{n}", "wb") as handle:
                    handle.write(b"\\x01" * (1024 * 1024))
                files += 1
        except OSError:
            pass
        return report(mb=len(hoard) * 16 + files)
    '''),
    lambda outcome: _probe_at_most(
        outcome, "mb", ATTACK_LIMITS.memory_mb + ATTACK_LIMITS.tmp_size_mb + MEMORY_SLACK_MB
    ),
)

# Processes and threads that outlive a call --------------------------------------------------------------------------

attack(
    "daemon-process",
    "processes outliving a call",
    Bot(module=FORK_DAEMON, body='''
        daemonize("@@MARKER@@d")
        return report(daemon=True)
    '''),
    nothing_left,
    after=after_processes,
)
attack(
    "daemon-forked-by-a-late-thread",
    "processes outliving a call",
    Bot(module=FORK_DAEMON, body='''
        def later():
            time.sleep(0.3)  # after the answer, and after the sandbox cleaned up behind the call
            daemonize("@@MARKER@@l")
        threading.Thread(target=later, daemon=True).start()
        return report(daemon=True)
    '''),
    nothing_left,
    after=after_processes,
)
attack(
    "busy-thread",
    "processes outliving a call",
    Bot(body='''
        def spin():
            set_comm("@@MARKER@@t")
            end = time.monotonic() + 60
            while time.monotonic() < end:
                pass
        threading.Thread(target=spin, daemon=True).start()
        return report(thread=True)
    '''),
    nothing_busy,
    after=after_busy,
)
attack(
    "pid-hopping-process",
    "processes outliving a call",
    Bot(body='''
        def hop():
            time.sleep(0.3)
            if os.fork() == 0:
                os.setsid()
                set_comm("@@MARKER@@h")
                end = time.monotonic() + 60
                while time.monotonic() < end:
                    if os.fork() != 0:
                        os._exit(0)  # the parent leaves; the child goes on under a new pid
                    set_comm("@@MARKER@@h")
                    time.sleep(0.05)
                os._exit(0)
        threading.Thread(target=hop, daemon=True).start()
        return report(hopping=True)
    '''),
    nothing_left,
    after=after_processes,
)

attack(
    "thread-waking-between-calls",
    "processes outliving a call",
    Bot(body='''
        def later():
            time.sleep(0.3)  # idle when the call ends, busy once the host believes the bot idle
            set_comm("@@MARKER@@w")
            end = time.monotonic() + 60
            while time.monotonic() < end:
                pass
        threading.Thread(target=later, daemon=True).start()
        return report(thread=True)
    '''),
    nothing_busy,
    after=lambda arena, context: (time.sleep(0.8), after_busy(arena, context)),
)

# Kernel interfaces shared with the host or other bots ---------------------------------------------------------------

KEYCTL = '''
def keyctl_search(ring, description):
    return LIBC.syscall(250, 10, ring, b"user", description.encode(), 0)


def keyctl_read(key):
    buffer = ctypes.create_string_buffer(4096)
    size = LIBC.syscall(250, 11, key, buffer, 4096)
    return buffer.raw[: max(size, 0)].decode(errors="replace") if size >= 0 else "refused " + errno_name()
'''

attack(
    "keyring-read-the-workers-key",
    "kernel: keyring",
    Bot(module=KEYCTL, body='''
        read = {}
        for ring in (-1, -2, -3, -4, -5):
            key = keyctl_search(ring, "@@HOST_KEY@@")
            read[str(ring)] = keyctl_read(key) if key > 0 else "refused " + errno_name()
        return report(read=read)
    '''),
    lambda outcome: probe_all_failed("read")(outcome),
)
attack(
    "keyring-covert-channel",
    "kernel: keyring",
    Bot(module=KEYCTL, body='''
        added = {}
        for ring in (-3, -4, -5):
            payload = b"hello-from-A-@@TOKEN@@"
            key = LIBC.syscall(248, b"user", b"covert-@@TOKEN@@", payload, len(payload), ring)
            added[str(ring)] = key if key > 0 else "refused " + errno_name()
        return report(added=added)
    '''),
    no_keyring_channel,
    partners=(Bot(module=KEYCTL, body='''
        read = {}
        for ring in (-3, -4, -5):
            key = keyctl_search(ring, "covert-@@TOKEN@@")
            read[str(ring)] = keyctl_read(key) if key > 0 else "refused " + errno_name()
        return report(read=read)
    '''),),
    after=after_keyring,
)

LOCKS = '''
import fcntl
HELD = []
FILES = @@FILES@@


def take(path, lock):
    try:
        handle = open(path, "rb")
    except OSError as error:
        return type(error).__name__
    try:
        if lock == "flock":
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            fcntl.lockf(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return "blocked"
    except OSError as error:
        return type(error).__name__
    HELD.append(handle)
    return "held"


def probe(path, lock):
    """Whether another sandbox holds a lock on `path`: flock tries to take it, a POSIX lock is only asked about
    (F_GETLK for a write lock needs no write access: a read-only file suffices for the channel)."""
    if lock == "flock":
        return take(path, lock)
    import struct
    try:
        with open(path, "rb") as handle:
            answer = fcntl.fcntl(handle, fcntl.F_GETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
    except OSError as error:
        return type(error).__name__
    return "free" if struct.unpack("hhqqi", answer)[0] == fcntl.F_UNLCK else "blocked"
'''.replace("@@FILES@@", repr(SHARED_FILES))

for _name, _lock, _before in (
    ("flock-covert-channel", "flock", None),
    ("fcntl-lock-covert-channel", "fcntl", before_fcntl),
):
    attack(
        _name,
        "kernel: file locks",
        Bot(module=LOCKS, body=f'''
            return report(held={{path: take(path, "{_lock}") for path in FILES}})
        '''),
        no_lock_channel,
        partners=(Bot(module=LOCKS, body=f'''
            return report(tried={{path: probe(path, "{_lock}") for path in FILES}})
        '''),),
        before=_before,
        after=after_host_lock,
    )

for _name, _family, _type, _proto, _address in (
    ("socket-vsock", 40, "socket.SOCK_STREAM", 0, "(2, 9999)"),
    ("socket-netlink-route", 16, "socket.SOCK_RAW", 0, "(0, 0)"),
    ("socket-netlink-uevent", 16, "socket.SOCK_DGRAM", 15, "(0, 1)"),
    ("socket-packet", 17, "socket.SOCK_RAW", 768, "('lo', 0)"),
):
    attack(
        _name,
        "kernel: sockets",
        Bot(body=f'''
            try:
                sock = socket.socket({_family}, {_type}, {_proto})
            except OSError as error:
                return report(socket={{"create": type(error).__name__}})
            try:
                if {_family} == 40:
                    sock.settimeout(0.5)
                    sock.connect({_address})
                else:
                    sock.bind({_address})
                return report(socket={{"create": "CREATED", "use": "USED"}})
            except OSError as error:
                return report(socket={{"create": "CREATED", "use": type(error).__name__}})
        '''),
        lambda outcome: probe_all_failed("socket")(outcome),
    )

attack(
    "io-uring-setup",
    "kernel: io_uring",
    Bot(body='''
        params = ctypes.create_string_buffer(120)
        fd = LIBC.syscall(425, 4, params)
        return report(uring={"setup": "refused " + errno_name() if fd < 0 else f"FD {fd}"})
    '''),
    lambda outcome: probe_all_failed("uring")(outcome),
)
attack(
    "kernel-escape-syscalls",
    "kernel: other interfaces",
    Bot(body='''
        attr = ctypes.create_string_buffer(128)
        ctypes.memmove(attr, (1).to_bytes(4, "little") + (128).to_bytes(4, "little"), 8)  # PERF_TYPE_SOFTWARE
        calls = {
            "userfaultfd": (323, 0),
            "perf_event_open": (298, attr, 0, -1, -1, 0),
            "bpf": (321, 0, ctypes.create_string_buffer(128), 128),
            "request_key": (249, b"user", b"attack-host-@@TOKEN@@", None, 0),
            "setns": (308, os.open("/proc/self/ns/net", os.O_RDONLY), 0),
            "mount": (165, b"none", b"/tmp", b"tmpfs", 0, None),
            "chroot": (161, b"/tmp"),
        }
        results = {}
        for name, (number, *args) in calls.items():
            value = LIBC.syscall(number, *args)
            results[name] = "refused " + errno_name() if value < 0 else f"OK {value}"
        return report(calls=results)
    '''),
    lambda outcome: probe_all_failed("calls")(outcome),
)
attack(
    "user-namespace",
    "kernel: namespaces",
    Bot(body='''
        import subprocess
        results = {}
        pid = os.fork()
        if pid == 0:
            os._exit(0 if LIBC.unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
        results["unshare"] = "UNSHARED" if os.waitpid(pid, 0)[1] == 0 else "refused"
        pid = os.fork()
        if pid == 0:
            os._exit(0 if LIBC.unshare(0x10000000 | 0x00020000) == 0 else 1)  # with CLONE_NEWNS
        results["unshare-mount"] = "UNSHARED" if os.waitpid(pid, 0)[1] == 0 else "refused"
        try:
            done = subprocess.run(["/usr/bin/unshare", "-Ur", "true"], capture_output=True, timeout=3)
            results["unshare-binary"] = "UNSHARED" if done.returncode == 0 else "refused"
        except (OSError, subprocess.SubprocessError) as error:
            results["unshare-binary"] = type(error).__name__
        return report(ns=results)
    '''),
    lambda outcome: probe_all_failed("ns")(outcome),
)
attack(
    "ptrace",
    "kernel: ptrace",
    Bot(body='''
        results = {}
        pid = os.fork()
        if pid == 0:
            time.sleep(3)
            os._exit(0)
        results["attach"] = "ATTACHED" if LIBC.ptrace(16, pid, 0, 0) == 0 else "refused " + errno_name()
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if LIBC.ptrace(0, 0, 0, 0) == 0 else 1)  # PTRACE_TRACEME
        results["traceme"] = "TRACED" if os.waitpid(pid, 0)[1] == 0 else "refused"
        results["parent"] = "ATTACHED" if LIBC.ptrace(16, os.getppid(), 0, 0) == 0 else "refused " + errno_name()
        return report(ptrace=results)
    '''),
    lambda outcome: probe_all_failed("ptrace")(outcome),
)

ATTACK_NAMES = [a.name for a in ATTACKS]
assert len(set(ATTACK_NAMES)) == len(ATTACK_NAMES), "attack names must be unique"
