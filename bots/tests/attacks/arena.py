"""The arena: one hostile bot (or a few) and one honest bot taken through the platform's real path.

For each attack, `Arena.run(attack)`:

1. uploads the hostile bot's code with `bots.services.bot_create` (a developer of its own), which enqueues its
   validation after the commit; Celery is eager, so `bots.validation.bot_version_validate` runs right there, in the
   sandbox, exactly as a worker would;
2. when validation passed, approves the bot with `bots.services.bot_approve` (staff) and subscribes a paper
   subscription to it, armed (`{"armed": true}`: most hostile bots behave while validated and attack once live,
   the sleeper an attacker would upload);
3. subscribes a fresh paper subscription to the honest bot (the built-in SMA crossover's source, uploaded like any
   developer's code, validated and approved once per module) and runs the engine, `trading.engine.batch.run_batch`,
   on both for one candle: the hostile subscriptions first, then the honest one, in the worker's own sandbox pool
   (`bots.runtime`), so the honest bot decides in the same pool right after the attack;
4. records what the host can see: the reports (or the exception, if the batch died), every stored row, the log
   records, the host process table, this process's memory.

Everything runs inside one module-wide transaction that is rolled back at the end (like Django's TestCase), with
the files in an in-memory storage and var/ (the code cache) in a temporary folder. The sandbox limits are the
defaults with shorter clocks and less memory (ATTACK_LIMITS), and validation backtests 150 candles with a 6 s
limit per call, so the whole suite stays within a couple of minutes on two cores.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import resource
import shutil
import signal
import socket
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import TestCase, override_settings

from bots.sandbox import SandboxLimits

ROOT = Path(__file__).resolve().parents[3]
HONEST_SOURCE = (ROOT / "core" / "builtin" / "sma_crossover.py").read_text()
HONEST_CONFIG = {"fast": 5, "slow": 20}
# A closed 1h candle inside the shipped BTC/USDT history (2021-01 .. 2021-06).
RUN_AT = datetime(2021, 5, 10, 12, 0, tzinfo=UTC)
NOW = RUN_AT + timedelta(seconds=30)

ATTACK_LIMITS = SandboxLimits(
    cpu_seconds=1,
    memory_mb=512,
    max_processes=32,
    file_size_mb=8,
    wall_timeout_s=4,
    tmp_size_mb=16,
    process_cpu_seconds=60,
)
VALIDATION_CANDLES = 150
VALIDATION_TIMEOUT_S = 6.0

ARMED_SCHEMA = {
    "type": "object",
    "properties": {"armed": {"type": "boolean", "default": False}},
    "additionalProperties": False,
}

# --- the hostile bot's source ----------------------------------------------------------------------------------------

PRELUDE = '''\
import ctypes
import gc
import json
import os
import signal
import socket
import sys
import threading
import time
from decimal import Decimal

from bots.sdk import Action, Bot, Decision, Signals, Size, SizeType, VectorBot

SCHEMA = {"type": "object", "properties": {"armed": {"type": "boolean", "default": False}},
          "additionalProperties": False}
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long


REPORT = []


def report(**values):
    """What the attack achieved, kept in the subscription's state (the attacker's own channel out; decide() moves
    it there) with a short reason: the platform bounds reasons, and a probe can be long."""
    text = json.dumps(values, default=str)
    if len(text) > 30000:
        values = {key: str(value)[:3000] for key, value in values.items()}
    REPORT.append(json.loads(json.dumps(values, default=str)))
    return Decision.hold(reason="reported")


def errno_name():
    import errno
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def set_comm(name):
    LIBC.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME: what the host's /proc shows


def current_request():
    """The request being answered, found in the caller frames (the sandbox's own loop)."""
    frame = sys._getframe()
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, dict) and "seq" in value and "op" in value:
                return value
        frame = frame.f_back
    return {}


def answer_fds():
    """Every descriptor that could carry an answer to the host (pipes and sockets but stdin/out/err)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2:
            continue
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(("pipe:", "socket:")):
            found.append(fd)
    return found


def forge(line):
    """Write `line` (bytes or a JSON-able object) where the real answer goes, then vanish."""
    if not isinstance(line, bytes):
        line = json.dumps(line).encode()
    for fd in answer_fds():
        try:
            os.write(fd, line + b"\\n")
        except OSError:
            pass
    os._exit(0)


def forged_answer(result):
    request = current_request()
    return {"seq": request.get("seq"), "ok": True, "result": result, "cpu_s": 0.01}


def subscription_ids():
    return [s.get("id") for s in current_request().get("subscriptions", []) if isinstance(s, dict)]
'''

CLASS = '''

class Hostile(@@BASE@@):
    slug = "hostile"
    name = "Hostile"
    description = "@@NAME@@"
    config_schema = SCHEMA
    startup_candles = 2

@@METHOD@@
'''

DECIDE = '''\
    def decide(self, candles):
        if @@SLEEPER@@ and not self.config.get("armed"):
            return Decision.hold(reason="behaving")
        decision = self.attack(candles)
        if REPORT:
            self.state["probe"] = REPORT.pop()
        return decision

    def attack(self, candles):
@@BODY@@
'''


@dataclass(frozen=True)
class Bot:
    """One hostile upload: `body` is the inside of `decide(self, candles)` (or the whole class body when
    `method` is given), `module` runs at import; with `sleeper`, the body runs only once subscribed (armed)."""

    body: str = "return Decision.hold()"
    module: str = ""
    sleeper: bool = True
    method: str = ""  # replaces decide(): the methods of the class, indented by 4
    base: str = "Bot"


@dataclass(frozen=True)
class Attack:
    name: str
    klass: str
    bot: Bot
    check: Callable[[Outcome], None]
    partners: tuple[Bot, ...] = ()  # more hostile bots of other developers, run in the same batch after `bot`
    reaches_engine: bool = True  # validation must pass: the attack is meant for the live engine
    before: Callable[[Arena, dict], None] | None = None  # host hook before the engine run (fills `context`)
    after: Callable[[Arena, dict], None] | None = None  # host hook right after the run, before eviction
    doc: str = ""


def bot_source(bot: Bot, name: str, tokens: dict[str, str]) -> str:
    method = bot.method or DECIDE.replace("@@SLEEPER@@", str(bot.sleeper)).replace(
        "@@BODY@@", textwrap.indent(textwrap.dedent(bot.body).strip("\n"), " " * 8)
    )
    source = (
        PRELUDE
        + "\n"
        + textwrap.dedent(bot.module)
        + CLASS.replace("@@BASE@@", bot.base).replace("@@METHOD@@", textwrap.indent(textwrap.dedent(method), "    "))
    ).replace("@@NAME@@", name)
    for token, value in tokens.items():
        source = source.replace(f"@@{token}@@", value)
    return source


# --- what the host can see ------------------------------------------------------------------------------------------


def proc_table() -> dict[int, dict]:
    """Every process of this machine: ppid, uid, comm and CPU ticks used (user + system)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
            status = Path("/proc", entry, "status").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        uid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:"))
        ticks = int(fields[11]) + int(fields[12])
        table[int(entry)] = {"ppid": int(fields[1]), "uid": uid, "comm": comm, "ticks": ticks}
    return table


def descendants(root: int | None = None) -> set[int]:
    """The pids below `root` (this process by default) in the host's process tree."""
    root = root or os.getpid()
    table = proc_table()
    children: dict[int, list[int]] = {}
    for pid, row in table.items():
        children.setdefault(row["ppid"], []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def tasks_named(marker: str) -> list[tuple[int, int, int]]:
    """(pid, tid, CPU ticks) of every thread on this machine whose name starts with `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            tids = os.listdir(f"/proc/{entry}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                stat = Path(f"/proc/{entry}/task/{tid}/stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            if comm.startswith(marker):
                fields = stat[stat.rindex(")") + 2 :].split()
                found.append((int(entry), int(tid), int(fields[11]) + int(fields[12])))
    return found


def busy_tasks(marker: str, window_s: float = 0.6) -> list[tuple[int, int]]:
    """The threads named `marker*` that used CPU during `window_s` (running while the host thinks it idle)."""
    before = {(pid, tid): ticks for pid, tid, ticks in tasks_named(marker)}
    if not before:
        return []
    time.sleep(window_s)
    after = {(pid, tid): ticks for pid, tid, ticks in tasks_named(marker)}
    return [key for key, ticks in after.items() if ticks > before.get(key, ticks)]


def wait_gone(marker: str, timeout_s: float = 3.0) -> list[tuple[int, int, int]]:
    deadline = time.monotonic() + timeout_s
    while (left := tasks_named(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# The kernel keyring (x86_64 syscall numbers): the host stores a key the way a worker library might.
SYS_ADD_KEY, SYS_KEYCTL = 248, 250
KEY_SPEC_SESSION_KEYRING = -3
KEYCTL_UNLINK = 9


def host_key_add(description: str, payload: bytes) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(
        SYS_ADD_KEY, b"user", description.encode(), payload, len(payload), KEY_SPEC_SESSION_KEYRING
    )


def host_key_remove(key_id: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.syscall(SYS_KEYCTL, KEYCTL_UNLINK, key_id, KEY_SPEC_SESSION_KEYRING)


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.records.append(self.format(record))


# --- one attack's outcome --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    attack: Attack
    versions: list  # the hostile BotVersions (the attack's bot first, then its partners), refreshed
    subscriptions: list  # their armed subscriptions (only those whose bot passed validation), refreshed
    honest: Any  # the honest subscription of this run, refreshed
    reports: list = field(default_factory=list)
    batch_error: BaseException | None = None
    logs: dict = field(default_factory=dict)  # subscription id -> its PerformanceLog rows of this run
    log_records: list[str] = field(default_factory=list)
    stored: str = ""  # every stored row of the database after the run, as text
    context: dict = field(default_factory=dict)  # what the attack's host hooks recorded
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    leftover: set[int] = field(default_factory=set)  # processes below this one left after the hostile one's eviction

    def summary(self) -> str:
        """A short account of the run, for assertion messages."""
        lines = [f"attack {self.attack.name}:"]
        for version in self.versions:
            report = version.validation_report or {}
            failed = [c for c in report.get("checks", []) if not c.get("passed")]
            lines.append(f"  version {version.pk}: {version.validation_status} {json.dumps(failed)[:600]}")
        for subscription in self.subscriptions:
            logs = self.logs.get(subscription.pk, [])
            reason = (logs[0].signal_data or {}).get("reason", "")[:300] if logs else None
            probe = json.dumps((subscription.bot_state or {}).get("probe"))[:400]
            lines.append(
                f"  subscription {subscription.pk}: error={subscription.last_error[:300]!r} reason={reason!r} "
                f"probe={probe}"
            )
        lines.append(f"  reports: {[(r.subscription_id, r.outcome, r.detail[:200]) for r in self.reports]}")
        lines.append(f"  batch error: {self.batch_error!r}"[:600])
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    @property
    def version(self):
        return self.versions[0]

    @property
    def subscription(self):
        return self.subscriptions[0] if self.subscriptions else None

    def passed_validation(self, index: int = 0) -> bool:
        return self.versions[index].validation_status == "PASSED"

    def report_of(self, subscription) -> Any:
        return next((r for r in self.reports if r.subscription_id == subscription.pk), None)

    def hostile_logs(self, index: int = 0) -> list:
        return self.logs.get(self.subscriptions[index].pk, []) if len(self.subscriptions) > index else []

    def probe(self, index: int = 0) -> dict | None:
        """What the hostile bot reported (None if it decided nothing): in its stored state, or in its reason."""
        if not self.hostile_logs(index):
            return None
        state = self.subscriptions[index].bot_state or {}
        if isinstance(state.get("probe"), dict):
            return state["probe"]
        for log in self.hostile_logs(index):
            reason = (log.signal_data or {}).get("reason") or ""
            with contextlib.suppress(ValueError):
                value = json.loads(reason)
                if isinstance(value, dict):
                    return value
        return None

    def hostile_error(self, index: int = 0) -> str:
        """What the hostile subscription shows as its last error (empty when its run succeeded)."""
        subscription = self.subscriptions[index] if len(self.subscriptions) > index else None
        return subscription.last_error if subscription else ""

    def validation_text(self) -> str:
        return json.dumps([v.validation_report for v in self.versions], default=str)


# --- the arena -------------------------------------------------------------------------------------------------------


class Arena:
    """Module-wide state: users, the honest bot, its expected decision, the canaries planted on the host."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex[:12]
        self.canaries: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        self.handler = ListHandler()
        self.expected_honest: dict = {}
        self.keep_keys: list = []
        self._stack = contextlib.ExitStack()
        self._counter = 0

    # -- set-up -------------------------------------------------------------------------------------------------------

    def start(self, tmp: Path) -> None:
        from accounts.tests.factories import DeveloperFactory, StaffFactory, UserFactory
        from bots import runtime as bot_runtime
        from bots import validation
        from bots.sandbox import pool as pool_module
        from bots.sandbox import process as process_module

        stack = self._stack
        var = tmp / "var"
        var.mkdir()
        stack.enter_context(
            override_settings(
                STORAGES={**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}},
                VAR_DIR=var,
                BOT_SANDBOX_REQUIRED=True,  # never run hostile code unsandboxed (test_fail_closed tests the default)
                CELERY_TASK_ALWAYS_EAGER=True,
            )
        )
        patch = stack.enter_context(_monkeypatch())

        def attack_limits(*args, **kwargs):
            return replace(ATTACK_LIMITS, **kwargs) if not args else SandboxLimits(*args, **kwargs)

        for module in (process_module, pool_module):
            if hasattr(module, "SandboxLimits"):
                patch.setattr(module, "SandboxLimits", attack_limits)
        patch.setattr(validation, "BACKTEST_CANDLES", VALIDATION_CANDLES)
        patch.setattr(validation, "BACKTEST_TIMEOUT_S", VALIDATION_TIMEOUT_S)
        # The worker's pool, created afresh with the limits above and closed at the end.
        patch.setattr(bot_runtime, "_pool", None)
        stack.callback(self._close_pool)

        self._plant_canaries(tmp, patch)
        logging.getLogger().addHandler(self.handler)
        stack.callback(logging.getLogger().removeHandler, self.handler)

        # One transaction around everything, rolled back at the end; marked as a test case's so that the uploads'
        # durable blocks may nest in it (as under pytest's `db` fixture).
        outer = transaction.atomic()
        outer._from_testcase = True
        outer.__enter__()

        def rollback():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)

        stack.callback(rollback)

        self.staff = StaffFactory(email=f"staff-{self.token}@example.com")
        self.trader = UserFactory(email=f"trader-{self.token}@example.com")
        self.honest_dev = DeveloperFactory(email=f"honest-{self.token}@example.com")
        self.developer_factory = DeveloperFactory
        from core.sdk.candles import Candles  # noqa: F401 - imported here so a broken SDK fails the set-up clearly

        honest_version = self.upload(self.honest_dev, HONEST_SOURCE, schema=_honest_schema(), default={}, name="Honest")
        assert honest_version.validation_status == "PASSED", honest_version.validation_report
        self.approve(honest_version)
        self.honest_bot = honest_version.bot
        control = self.subscribe(self.honest_bot, HONEST_CONFIG)
        from trading.engine.batch import run_batch

        [report] = run_batch(subscription_ids=[control.pk], run_at=RUN_AT, now=NOW)
        assert report.outcome != "error", report
        self.expected_honest = self.decision_of(control)
        self.keep_keys = list(bot_runtime._sandbox_pool().keys())

    def stop(self) -> None:
        self._stack.close()

    def _close_pool(self) -> None:
        from bots import runtime as bot_runtime

        if bot_runtime._pool is not None:
            bot_runtime._pool.close()
            bot_runtime._pool = None

    def _plant_canaries(self, tmp: Path, patch) -> None:
        """Secrets on the host that no bot may ever read: if one shows up in anything stored or logged, it leaked."""
        env_value = f"env-canary-{self.token}"
        patch.setenv("ATTACK_CANARY", env_value)
        patch.setenv("DATABASE_PASSWORD_CANARY", env_value)
        self.canaries["environment"] = env_value
        # A file in the project folder (where .env, settings and db.sqlite3 live), named as a bot would guess.
        var = Path(settings.BASE_DIR) / "var"
        var.mkdir(exist_ok=True)
        project_file = var / f"attack-canary-{self.token}.env"
        project_file.write_text(f"SECRET=file-canary-{self.token}\n")
        self._stack.callback(project_file.unlink, missing_ok=True)
        self.canaries["project file"] = f"file-canary-{self.token}"
        self.tokens["PROJECT_CANARY"] = str(project_file)
        self.canaries["settings SECRET_KEY"] = settings.SECRET_KEY
        with contextlib.suppress(OSError):
            first = Path("/etc/shadow").read_text().splitlines()[0]
            if len(first) > 8:
                self.canaries["/etc/shadow"] = first
        key = host_key_add(f"attack-host-{self.token}", f"key-canary-{self.token}".encode())
        if key > 0:
            self.canaries["host keyring"] = f"key-canary-{self.token}"
            self._stack.callback(host_key_remove, key)
        self.tokens.update(
            {
                "TOKEN": self.token,
                "HOST_PID": str(os.getpid()),
                "BASE_DIR": str(settings.BASE_DIR),
                "HOST_KEY": f"attack-host-{self.token}",
            }
        )
        # A host listener nothing may reach.
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        self._stack.callback(listener.close)
        self.listener = listener
        self.tokens["LISTENER_PORT"] = str(listener.getsockname()[1])
        # Signals a bot might send to this process.
        self.signals_received: list[int] = []
        previous = signal.signal(signal.SIGUSR2, lambda signum, frame: self.signals_received.append(signum))
        self._stack.callback(signal.signal, signal.SIGUSR2, previous)

    # -- the platform's own path ---------------------------------------------------------------------------------------

    def upload(self, developer, source: str, *, schema: dict, default: dict, name: str):
        """bot_create, as the developer portal calls it; validation runs eagerly once the upload commits."""
        from bots.models import Bot as BotModel
        from bots.models import BotVersion
        from bots.services import bot_create

        with TestCase.captureOnCommitCallbacks(execute=True):
            bot = bot_create(
                developer=developer,
                name=name,
                description="An uploaded bot.",
                category=None,
                bot_type=BotModel.Type.TECHNICAL,
                price_per_month=Decimal("0"),
                trial_days=0,
                code_file=SimpleUploadedFile("bot.py", source.encode()),
                config_schema=schema,
                default_config=default,
            )
        return BotVersion.objects.select_related("bot").get(bot=bot)

    def trader_backtest(self, bot, candle_count: int = 150):
        """A trader's own backtest of `bot` (bots.backtest_runs.services), run by the eager worker after the commit."""
        from bots.backtest_runs.services import backtest_run_create
        from bots.models import BacktestRun

        with TestCase.captureOnCommitCallbacks(execute=True):
            run = backtest_run_create(
                user=self.trader, bot=bot, exchange="BINANCE", symbol="BTC/USDT", timeframe="1h",
                candle_count=candle_count,
            )
        return BacktestRun.objects.get(pk=run.pk)

    def approve(self, version) -> None:
        from bots.services import bot_approve

        with TestCase.captureOnCommitCallbacks(execute=True):
            bot_approve(bot=version.bot, actor=self.staff)

    def subscribe(self, bot, config: dict):
        from subscriptions.tests.factories import SubscriptionFactory

        return SubscriptionFactory(
            user=self.trader,
            bot=bot,
            is_paper=True,
            exchange_type="BINANCE",
            trading_pair="BTC/USDT",
            timeframe="1h",
            strategy_config=config,
            execution_config={},
            risk_config={"stop_loss_percent": 5, "take_profit_percent": 10},
            started_at=RUN_AT - timedelta(days=1),
        )

    # -- one attack ----------------------------------------------------------------------------------------------------

    def run(self, attack: Attack) -> Outcome:
        from bots.models import BotVersion
        from subscriptions.models import PerformanceLog, Subscription
        from trading.engine.batch import run_batch

        self._counter += 1
        tokens = dict(self.tokens, MARKER=f"atk{self._counter:03d}", NAME=attack.name)
        versions = []
        for index, bot in enumerate((attack.bot, *attack.partners)):
            developer = self.developer(f"{index}-{attack.name}")
            versions.append(
                self.upload(
                    developer,
                    bot_source(bot, attack.name, tokens),
                    schema=ARMED_SCHEMA,
                    default={},
                    name=f"{attack.name} {index}",
                )
            )
        subscriptions = []
        for version in versions:
            if version.validation_status == "PASSED":
                self.approve(version)
                subscriptions.append(self.subscribe(version.bot, {"armed": True}))
        honest = self.subscribe(self.honest_bot, HONEST_CONFIG)
        outcome = Outcome(attack=attack, versions=versions, subscriptions=subscriptions, honest=honest)
        outcome.context["tokens"] = tokens
        outcome.context["versions"] = versions
        if attack.before:
            attack.before(self, outcome.context)
        baseline = descendants()
        start = len(self.handler.records)
        outcome.rss_before_mb = rss_mb()
        try:
            outcome.reports = run_batch(
                subscription_ids=[s.pk for s in subscriptions] + [honest.pk], run_at=RUN_AT, now=NOW
            )
        except BaseException as error:  # noqa: BLE001 - a dead batch is what some attacks aim for; tests assert it
            if isinstance(error, KeyboardInterrupt):
                raise
            outcome.batch_error = error
        outcome.rss_after_mb = rss_mb()
        if attack.after:
            attack.after(self, outcome.context)
        self.evict_hostile()
        deadline = time.monotonic() + 3
        while (left := descendants() - baseline) and time.monotonic() < deadline:
            time.sleep(0.05)
        outcome.leftover = left
        outcome.log_records = self.handler.records[start:]
        outcome.versions = [BotVersion.objects.select_related("bot").get(pk=v.pk) for v in versions]
        outcome.subscriptions = [Subscription.objects.get(pk=s.pk) for s in subscriptions]
        outcome.honest = Subscription.objects.get(pk=honest.pk)
        for subscription in (*outcome.subscriptions, outcome.honest):
            logs = PerformanceLog.objects.filter(subscription=subscription).order_by("pk")
            outcome.logs[subscription.pk] = list(logs)
        outcome.stored = stored_text()
        self.clear_code_cache()
        return outcome

    def evict_hostile(self, *, everything: bool = False) -> None:
        """Stop the hostile bots' processes in the worker's pool; the honest one stays warm unless `everything`."""
        from bots import runtime as bot_runtime

        pool = bot_runtime._sandbox_pool()
        for key in list(pool.keys()):
            if everything or key not in self.keep_keys:
                pool.evict(key)

    def clear_code_cache(self) -> None:
        """Version ids come back after each test's rollback (SQLite), and the worker's code cache may be keyed by
        them: start the next attack without this one's files (test_stale_code attacks that cache on purpose)."""
        var = Path(settings.VAR_DIR)
        for child in var.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def engine(self, subscriptions, *, run_at: datetime = RUN_AT) -> list:
        """run_batch on `subscriptions` for the candle closing at `run_at`, as a worker's task would."""
        from trading.engine.batch import run_batch

        ids = [s.pk for s in subscriptions]
        return run_batch(subscription_ids=ids, run_at=run_at, now=run_at + timedelta(seconds=30))

    def developer(self, label: str):
        self._counter += 1
        return self.developer_factory(email=f"dev-{label}-{self._counter}-{self.token}@example.com")

    def decision_of(self, subscription) -> dict:
        from subscriptions.models import PerformanceLog

        logs = list(PerformanceLog.objects.filter(subscription=subscription).order_by("pk"))
        assert logs, f"subscription {subscription.pk} logged no decision"
        signal_data = logs[0].signal_data
        return {
            "decided": signal_data.get("decided"),
            "reason": signal_data.get("reason"),
            "indicators": signal_data.get("indicators"),
            "actions": [log.action for log in logs],
        }

    def honest_decision(self, outcome: Outcome) -> dict:
        return self.decision_of(outcome.honest)


def _honest_schema() -> dict:
    from core.builtin.sma_crossover import SmaCrossover

    return SmaCrossover.config_schema


def stored_text() -> str:
    """Every row of every table, as text: what a leak would have to end up in to be seen by anyone."""
    parts = []
    for model in apps.get_models():
        with contextlib.suppress(Exception):
            parts.extend(str(row) for row in model.objects.values_list())
    return "\n".join(parts)


@contextlib.contextmanager
def _monkeypatch():
    import pytest

    patch = pytest.MonkeyPatch()
    try:
        yield patch
    finally:
        patch.undo()


def memory_limit_mb() -> int:
    return ATTACK_LIMITS.memory_mb


def json_size(value: Any) -> int:
    return len(json.dumps(value, default=str))


def tmpdir_factory() -> Path:
    return Path(tempfile.mkdtemp(prefix="attacks-"))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
