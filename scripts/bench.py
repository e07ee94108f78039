"""Benchmarks (`make bench`): wall-clock costs of the hot paths, printed as a table. Not a test: numbers to watch.

- backtest of 3000 hourly candles, per built-in bot (vectorized path);
- one scheduler tick running N paper subscriptions that share a market (one candle fetch, one bot call, N
  transactions), on a throw-away SQLite database;
- the sandbox (when bubblewrap is usable): cold start + load, a warm decision (1 and 100 subscriptions), and a
  3000-candle backtest in the sandbox vs in process, for a VectorBot (populated in the warm process, then verified
  by a fresh one) and a per-candle bot (streamed candle by candle to a fresh one). "fresh ready" means the fresh
  process was prepared beforehand (``SandboxedBot.prepare_fresh``), as a worker running backtests back to back
  does; "cold" includes starting it.
"""
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = Path(tempfile.mkdtemp()) / "bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.test")
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

CANDLES = ROOT / "data/candles/binance/BTC_USDT-1h.csv"


def timed(function, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench_backtests() -> list[tuple[str, float]]:
    from bots.sdk import Candles
    from core.backtest import run_backtest
    from core.builtin import BUILTIN_BOTS

    candles = Candles.from_csv(CANDLES)
    return [(f"backtest 3000 candles, {slug}", timed(lambda s=slug: run_backtest(s, candles))) for slug in BUILTIN_BOTS]


def bench_tick(subscriptions: int) -> float:
    from accounts.tests.factories import UserFactory
    from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
    from subscriptions.tests.factories import SubscriptionFactory
    from trading.engine.batch import run_batch
    from trading.scheduler import claim_due

    start = datetime(2021, 5, 1, 0, 0, 30, tzinfo=UTC)
    bot = ApprovedBotFactory(slug=f"sma-bench-{subscriptions}")
    BotVersionFactory(bot=bot, builtin_slug="sma-crossover", validation_status="PASSED")
    owner = UserFactory()
    for _ in range(subscriptions):
        SubscriptionFactory(user=owner, bot=bot, is_paper=True, strategy_config={"fast": 5, "slow": 20},
                            execution_config={}, risk_config={}, started_at=start - timedelta(hours=1))
    samples = []
    for hour in range(5):
        now = start + timedelta(hours=hour)
        started = time.perf_counter()
        for batch in claim_due(now):
            run_batch(subscription_ids=list(batch.subscription_ids), run_at=batch.run_at, now=now)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


PER_CANDLE_BOT = """
from bots.sdk import Action, Bot, Decision


class Momentum(Bot):
    slug = "momentum"
    name = "Momentum"
    startup_candles = 20

    def decide(self, candles):
        close = candles.close
        change = close[-1] / close[-21] - 1
        if change > 0.02:
            return Decision(Action.BUY, reason="up", indicators={"change": change})
        if change < -0.02:
            return Decision(Action.SELL, reason="down", indicators={"change": change})
        return Decision.hold(indicators={"change": change})
"""


def bench_sandbox() -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Timings, and the sandbox's cost as a multiple of the same backtest in process."""
    from bots.sandbox import SandboxedBot, sandbox_available
    from bots.sdk import Candles
    from core.backtest import run_backtest
    from core.builtin import SmaCrossover

    if not sandbox_available():
        return [("sandbox (bubblewrap unavailable here)", float("nan"))], []
    root = Path(tempfile.mkdtemp())
    sma, momentum = root / "sma", root / "momentum"
    sma.mkdir()
    momentum.mkdir()
    (sma / "bot.py").write_text((ROOT / "core/builtin/sma_crossover.py").read_text())
    (momentum / "bot.py").write_text(PER_CANDLE_BOT)
    candles = Candles.from_csv(CANDLES)
    recent = candles[-300:]
    subs = [{"id": i, "config": {"fast": 5, "slow": 20}, "state": {}} for i in range(100)]
    rows, ratios = [], []

    started = time.perf_counter()
    bot = SandboxedBot(sma)
    bot.load()
    rows.append(("sandbox cold start + load", time.perf_counter() - started))
    rows.append(("sandbox warm decide, 1 subscription", timed(lambda: bot.decide(subs[:1], recent), repeat=50)))
    rows.append(("sandbox warm decide, 100 subscriptions", timed(lambda: bot.decide(subs, recent))))

    def sandboxed(target: SandboxedBot, ready: bool) -> float:
        if ready:
            target.prepare_fresh(wait=True)
        started = time.perf_counter()
        target.backtest(candles, timeout_s=120)
        return time.perf_counter() - started

    def median_of(function, repeat: int = 5) -> float:
        return statistics.median(function() for _ in range(repeat))

    in_process = timed(lambda: run_backtest(SmaCrossover, candles))
    ready = median_of(lambda: sandboxed(bot, True))
    cold = median_of(lambda: sandboxed(bot, False), repeat=3)
    bot.close()
    rows += [
        ("backtest 3000 candles, VectorBot (sma-crossover), in process", in_process),
        ("backtest 3000 candles, VectorBot, sandbox, fresh ready", ready),
        ("backtest 3000 candles, VectorBot, sandbox, cold fresh", cold),
    ]
    ratios += [("VectorBot backtest, sandbox (fresh ready) / in process", ready / in_process),
               ("VectorBot backtest, sandbox (cold fresh) / in process", cold / in_process)]

    namespace: dict = {}
    exec(PER_CANDLE_BOT, namespace)  # noqa: S102 - the benchmark's own bot
    in_process = timed(lambda: run_backtest(namespace["Momentum"], candles), repeat=3)
    bot = SandboxedBot(momentum)
    bot.load()
    ready = median_of(lambda: sandboxed(bot, True), repeat=3)
    bot.close()
    rows += [
        ("backtest 3000 candles, per-candle bot, in process", in_process),
        ("backtest 3000 candles, per-candle bot, sandbox (streamed), fresh ready", ready),
    ]
    ratios.append(("per-candle backtest, sandbox (fresh ready) / in process", ready / in_process))
    return rows, ratios


def main() -> None:
    call_command("migrate", verbosity=0)
    rows = bench_backtests()
    for count in (1, 50):
        rows.append((f"scheduler tick, {count} paper subscription(s) on one market", bench_tick(count)))
    sandbox_rows, ratios = bench_sandbox()
    rows += sandbox_rows
    width = max(len(name) for name, _ in rows + ratios)
    print(f"{'benchmark':<{width}}  median")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1000:8.1f} ms")
    for name, ratio in ratios:
        print(f"{name:<{width}}  {ratio:8.1f} x")


if __name__ == "__main__":
    main()
