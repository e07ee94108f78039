"""End to end: a real Celery worker and beat on Redis, MariaDB, real ccxt against the fake Binance server.

The engine's clock (trading.clock, ENGINE_CLOCK=cache) is moved candle by candle by this test, so hours of
hourly candles pass in seconds while every process (beat, worker, this test) agrees on the time. Half-way, the
worker is killed while it is placing an order (the exchange has accepted it, the answer has not arrived), then
restarted: the order is found by its client id, recorded once, and its trade is not lost.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.services import credential_create
from subscriptions.models import PerformanceLog, Subscription, Trade
from trading import clock
from trading.models import Order
from trading.tests.conftest import API_KEY, API_SECRET, START, make_testnet_subscription

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[3]
BROKER_URL = "redis://127.0.0.1:6379/5"
HOURS = 36
KILL_AT_HOUR = 14


def _require_services():
    problems = []
    if connection.vendor != "mysql":
        problems.append("the database is not MariaDB/MySQL (a worker process cannot share an in-memory SQLite test DB)")
    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        problems.append("CACHE_URL is not Redis (the worker and this test share the engine clock through it)")
    if problems:
        if os.environ.get("CI"):
            pytest.fail("end-to-end test needs its services: " + "; ".join(problems))
        pytest.skip("end-to-end test runs on MariaDB + Redis (as in .ci/run): " + "; ".join(problems))


class Worker:
    """`celery worker --beat` in its own process group, with this test's database, cache and fake exchange."""

    def __init__(self, tmp_path: Path, fake_url: str) -> None:
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
            "DATABASE_URL": f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "ENGINE_CLOCK": "cache",
            "SCHEDULER_TICK_SECONDS": "1",
            "ORDER_RECONCILE_AFTER_S": "2",
            "CELERY_VISIBILITY_TIMEOUT_S": "3600",  # recovery must not depend on the broker redelivering
            "RUN_LEASE_S": "5",
            "EXCHANGE_API_BASE_URLS": json.dumps({"BINANCE": fake_url}),
            "EXCHANGE_TIMEOUT_MS": "4000",
        }
        self.tmp_path = tmp_path
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.tmp_path / f"worker-{self.starts}.log", "w")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/celery"),
                "-A",
                "marketplace",
                "worker",
                "--beat",
                "-Q",
                "live,maintenance,backtests,celery",
                "--concurrency",
                "2",
                "-l",
                "INFO",
                "--schedule",
                str(self.tmp_path / "beat-schedule"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the worker, its pool and beat: no warm shutdown, nothing acknowledged."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return "\n".join(p.read_text()[-4000:] for p in sorted(self.tmp_path.glob("worker-*.log")))


def _wait_for(condition, *, timeout_s: float, what: str, worker: Worker) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    sys.stderr.write(worker.logs())
    state = list(
        Subscription.objects.values(
            "pk", "status", "last_candle_at", "completed_candle_at", "next_run_at", "last_error"
        )
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW FULL PROCESSLIST")
        processes = [row for row in cursor.fetchall() if row[4] != "Sleep"]
    pytest.fail(f"timed out waiting for {what}; subscriptions: {state}; database: {processes}")


def _hung_orders(fake) -> int:
    return len([r for r in fake.requests(method="POST", path="/api/v3/order") if r.fault])


def _all_ran(subscription_ids, run_at) -> bool:
    done = Subscription.objects.filter(pk__in=subscription_ids, completed_candle_at__gte=run_at).count()
    return done == len(subscription_ids)


def test_it_trades_through_real_workers_and_survives_a_kill_mid_order(alice, bob, sma_bot, fake_binance, tmp_path):
    _require_services()
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    fake_binance.add_account("bobKey0123456789abcdef", "bobSecret0123456789abcdef", {"USDT": "5000"})
    credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=API_SECRET, is_testnet=True)
    credential_create(
        user=bob,
        exchange="BINANCE",
        api_key="bobKey0123456789abcdef",
        api_secret="bobSecret0123456789abcdef",
        is_testnet=True,
    )
    subscriptions = [
        make_testnet_subscription(alice, sma_bot),
        make_testnet_subscription(bob, sma_bot, strategy_config={"fast": 3, "slow": 12}),
        make_testnet_subscription(bob, sma_bot, trading_pair="ETH/USDT", strategy_config={"fast": 4, "slow": 15}),
        make_testnet_subscription(alice, sma_bot, is_paper=True, network_type="testnet"),
    ]
    ids = [s.pk for s in subscriptions]
    worker = Worker(tmp_path, fake_binance.base_url)
    killed_order = None
    try:
        worker.start()
        for hour in range(HOURS):
            moment = START + timedelta(hours=hour)
            run_at = moment.replace(second=0)
            fake_binance.set_time(int(moment.timestamp() * 1000))
            if hour >= KILL_AT_HOUR and killed_order is None:
                # The next order is accepted by the exchange, whose answer then never comes.
                fake_binance.arm_fault("timeout_after_accept", count=1, delay_s=60)
            clock.set_simulated_now(moment)
            if hour >= KILL_AT_HOUR and killed_order is None:
                before = _hung_orders(fake_binance)
                try:
                    _wait_for(
                        lambda b=before: _hung_orders(fake_binance) > b,
                        timeout_s=8,
                        what="an order to hang",
                        worker=worker,
                    )
                except pytest.fail.Exception:
                    fake_binance.clear_faults()  # no order this candle; try the next one
                    _wait_for(lambda r=run_at: _all_ran(ids, r), timeout_s=60, what=f"runs for {run_at}", worker=worker)
                    continue
                worker.kill()
                fake_binance.clear_faults()
                killed_order = [r for r in fake_binance.requests(method="POST", path="/api/v3/order") if r.fault][
                    -1
                ].client_order_id
                row = Order.objects.get(client_order_id=killed_order)
                assert row.status in ("SENT", "PENDING"), "the worker died before recording the answer"
                assert len(fake_binance.orders(client_order_id=killed_order)) == 1
                worker.start()
            _wait_for(lambda r=run_at: _all_ran(ids, r), timeout_s=60, what=f"runs for {run_at}", worker=worker)
        _wait_for(
            lambda: not Order.objects.filter(status__in=["PENDING", "SENT"]).exists(),
            timeout_s=30,
            what="in-flight orders to settle",
            worker=worker,
        )
    finally:
        worker.stop()

    assert killed_order is not None, "no order was placed after the kill point"
    recovered = Order.objects.get(client_order_id=killed_order)
    assert recovered.status == "FILLED" and recovered.trade is not None
    # The exchange's books and ours match one to one: no duplicate, no lost order.
    on_exchange = Counter(order.client_order_id for order in fake_binance.orders())
    assert all(count == 1 for count in on_exchange.values())
    ours = {o.client_order_id: o for o in Order.objects.filter(subscription__is_paper=False)}
    assert set(on_exchange) == {cid for cid, o in ours.items() if o.status == "FILLED"}
    assert not [o for o in ours.values() if o.status == "LOST"]
    for subscription in subscriptions:
        subscription.refresh_from_db()
        closed = Trade.objects.filter(subscription=subscription, status="CLOSED")
        assert subscription.total_trades == closed.count()
        assert subscription.total_pnl == sum((t.pnl for t in closed), start=0)
        logged_candles = PerformanceLog.objects.filter(subscription=subscription).values("timestamp").distinct()
        assert logged_candles.count() >= HOURS - 1
        # Every filled order is booked on a trade; each filled buy opened exactly one (sells close all).
        filled = Order.objects.filter(subscription=subscription, status="FILLED")
        assert not filled.filter(trade__isnull=True).exists()
        assert Trade.objects.filter(subscription=subscription).count() == filled.filter(side="BUY").count()
    assert Trade.objects.filter(subscription__is_paper=False).count() >= 4
