"""What the sandbox's seccomp filter and cgroup (limits, freezing between calls, per-call checks) cost.

    .venv/bin/python scripts/bench_isolation.py [--starts 10] [--calls 50]

Runs the built-in SMA crossover, uploaded as bot.py, in the sandbox twice: as it runs in production, and with the
launcher, the cgroup and ``--seccomp`` stripped from the same command line (everything else equal). Prints medians
for the cold start (bwrap + interpreter + imports + ``load``), a warm ``ping``, and a warm ``decide`` for 1 and for
100 subscriptions on 200 candles. No Django; figures go to docs/sandbox.md ("Measured costs").
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bots.sandbox import SandboxedBot, process  # noqa: E402
from bots.sdk import Candles  # noqa: E402

CANDLES = ROOT / "data" / "candles" / "binance" / "BTC_USDT-1h.csv"


def without_isolation(real):
    """``sandbox_command`` minus the cgroup launcher and the seccomp filter (for comparison only)."""

    def bare(*args, **kwargs):
        command = real(*args, **kwargs)
        command.close_fds()
        command.cgroup.remove()
        argv = command.argv[command.argv.index("--") + 1:]  # the launcher's arguments end at its first "--"
        at = argv.index("--seccomp")
        del argv[at:at + 2]
        return dataclasses.replace(command, argv=argv, pass_fds=(), cgroup=None)

    return bare


def measure(code: Path, candles: Candles, starts: int, calls: int) -> dict[str, float]:
    one = [{"id": 1, "config": {"fast": 5, "slow": 20}, "state": {}}]
    hundred = [{"id": i, "config": {"fast": 5, "slow": 20}, "state": {}} for i in range(100)]
    cold = []
    for _ in range(starts):
        started = time.perf_counter()
        with SandboxedBot(code) as bot:
            bot.load()
            cold.append(time.perf_counter() - started)
    figures = {"cold start + load": statistics.median(cold)}
    with SandboxedBot(code) as bot:
        bot.load()
        for name, call in (("warm ping", bot.ping),
                           ("warm decide, 1 subscription", lambda: bot.decide(one, candles)),
                           ("warm decide, 100 subscriptions", lambda: bot.decide(hundred, candles))):
            samples = []
            for _ in range(calls):
                started = time.perf_counter()
                call()
                samples.append(time.perf_counter() - started)
            figures[name] = statistics.median(samples)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    code = Path(tempfile.mkdtemp())
    (code / "bot.py").write_text((ROOT / "core/builtin/sma_crossover.py").read_text())
    candles = Candles.from_csv(CANDLES)[-200:]
    full = measure(code, candles, args.starts, args.calls)
    real = process.sandbox_command
    process.sandbox_command = without_isolation(real)
    try:
        bare = measure(code, candles, args.starts, args.calls)
    finally:
        process.sandbox_command = real
    print(f"{'median':<32} {'seccomp + cgroup':>18} {'without':>10}")
    for name in full:
        print(f"{name:<32} {full[name] * 1000:15.2f} ms {bare[name] * 1000:7.2f} ms")


if __name__ == "__main__":
    main()
