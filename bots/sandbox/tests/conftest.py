"""Fixtures for the sandbox tests: small limits, bot files written to tmp_path, a pool that is always closed.

No database: these tests start real sandboxed processes and nothing else.
"""
import os
import textwrap
import time
from pathlib import Path

import pytest

from bots.sandbox import SandboxLimits, SandboxPool
from bots.sdk import Candles

ROOT = Path(__file__).resolve().parents[3]

# Small enough to keep the whole folder fast, large enough for numpy + TA-Lib and a cold start.
TEST_LIMITS = SandboxLimits(
    cpu_seconds=1,
    memory_mb=512,
    max_processes=16,
    file_size_mb=4,
    wall_timeout_s=3,
    max_output_bytes=1024 * 1024,
    tmp_size_mb=8,
    process_cpu_seconds=30,
)

PROBE_TEMPLATE = '''\
import json
import os
import sys

from bots.sdk import Bot, Decision


class Probe(Bot):
    slug = "probe"
    name = "Probe"

    def decide(self, candles):
{body}
'''


@pytest.fixture
def candles():
    return Candles.from_csv(ROOT / "data" / "candles" / "binance" / "BTC_USDT-1h.csv")


@pytest.fixture
def write_bot(tmp_path):
    """write_bot(source, name="probe") -> a code folder holding bot.py with ``source``."""

    def write(source, name="probe"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "bot.py").write_text(textwrap.dedent(source))
        return folder

    return write


@pytest.fixture
def probe_bot(write_bot):
    """probe_bot(body, name) -> a code folder whose bot runs ``body`` (Python, the inside of decide())."""

    def write(body, name="probe"):
        return write_bot(PROBE_TEMPLATE.format(body=textwrap.indent(textwrap.dedent(body), " " * 8)), name)

    return write


@pytest.fixture
def sma_bot(tmp_path):
    """The built-in SMA crossover's source file, uploaded as if it were a developer's bot.py."""
    folder = tmp_path / "sma"
    folder.mkdir()
    (folder / "bot.py").write_text((ROOT / "core" / "builtin" / "sma_crossover.py").read_text())
    return folder


@pytest.fixture
def pool():
    pool = SandboxPool(max_size=4, limits=TEST_LIMITS)
    yield pool
    pool.close()


@pytest.fixture
def still_serves(pool, sma_bot, candles):
    """still_serves() asserts the pool still runs a good bot: whatever the last test did stayed contained."""

    def check():
        with pool.bot("good-sma", sma_bot) as bot:
            [outcome] = bot.decide([{"id": 1, "config": {}, "state": {}}], candles[-100:])
        assert outcome.ok, outcome.error
        assert set(outcome.decision.indicators) == {"sma_fast", "sma_slow"}

    return check


def processes_of(uid):
    """Host pids of the processes running as ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path("/proc", entry, "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) == uid:
                pids.append(int(entry))
    return pids


def wait_until_gone(uid, timeout_s=3.0):
    """The processes of ``uid`` left after ``timeout_s`` (an empty list once the sandbox is fully gone)."""
    deadline = time.monotonic() + timeout_s
    while (left := processes_of(uid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
