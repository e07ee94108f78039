"""Benchmarks (`make bench`): wall-clock costs of the hot paths, printed as a table. Not a test: numbers to watch.

- backtest of 3000 hourly candles, per built-in bot (vectorized path);
- one scheduler tick running N paper subscriptions that share a market (one candle fetch, one bot call, N
  transactions), on a throw-away SQLite database;
- a sandboxed decision: cold start + load, then a warm call for 100 subscriptions (when bubblewrap is usable).
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
    from bots.backtest import run_backtest
    from bots.builtin import BUILTIN_BOTS
    from bots.sdk import Candles

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


def bench_sandbox() -> list[tuple[str, float]]:
    from bots.sandbox import SandboxedBot, sandbox_available
    from bots.sdk import Candles

    if not sandbox_available():
        return [("sandbox (bubblewrap unavailable here)", float("nan"))]
    code = Path(tempfile.mkdtemp())
    (code / "bot.py").write_text((ROOT / "bots/builtin/sma_crossover.py").read_text())
    candles = Candles.from_csv(CANDLES)[-300:]
    subs = [{"id": i, "config": {"fast": 5, "slow": 20}, "state": {}} for i in range(100)]
    started = time.perf_counter()
    bot = SandboxedBot(code)
    bot.load()
    cold = time.perf_counter() - started
    warm = timed(lambda: bot.decide(subs, candles))
    bot.close()
    return [("sandbox cold start + load", cold), ("sandbox warm decide, 100 subscriptions", warm)]


def main() -> None:
    call_command("migrate", verbosity=0)
    rows = bench_backtests()
    for count in (1, 50):
        rows.append((f"scheduler tick, {count} paper subscription(s) on one market", bench_tick(count)))
    rows += bench_sandbox()
    width = max(len(name) for name, _ in rows)
    print(f"{'benchmark':<{width}}  median")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
