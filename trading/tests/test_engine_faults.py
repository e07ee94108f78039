"""Engine faults seen under test, each reproduced against the fake exchange with the real ccxt classes and real
services: two workers on one batch, a connection lost mid-run, the clock stepping back, dust left by a partial fill.
"""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from subscriptions.models import PerformanceLog
from trading.engine.batch import run_batch
from trading.engine.live import reconcile_orders
from trading.exchanges.base import ExchangeAdapter
from trading.models import Order
from trading.tests.conftest import API_KEY, API_SECRET, START, make_testnet_subscription, run_tick

pytestmark = pytest.mark.django_db(transaction=True)


def _run_until_first_order(fake, subscription, hours=120):
    """Tick hour by hour until the subscription has placed an order; returns the tick time."""
    for hour in range(hours):
        now = START + timedelta(hours=hour)
        run_tick(now, fake)
        if Order.objects.filter(subscription=subscription).exists():
            return now
    raise AssertionError("the bot never traded")


# --- a. two workers running the same batch ---------------------------------------------------------------------


@pytest.mark.parametrize("second_worker", ["after_the_exchange_took_it", "before_the_exchange_saw_it"])
def test_it_logs_a_decision_once_when_two_workers_run_the_same_batch(
    alice, sma_bot, fake_binance, alice_key, monkeypatch, second_worker
):
    """The broker redelivers a batch while the first worker is placing its order: the second worker runs the same
    subscriptions for the same candle at that very moment (here: from inside the first worker's order call)."""
    subscription = make_testnet_subscription(alice, sma_bot)
    real_create_order = ExchangeAdapter.create_order
    second_reports = []

    def create_order(self, symbol, order_type, side, amount, price, client_order_id):
        order = Order.objects.get(client_order_id=client_order_id)
        run_second = lambda: second_reports.extend(  # noqa: E731
            run_batch(subscription_ids=[subscription.pk], run_at=order.candle_at, now=order.candle_at)
        )
        if second_worker == "before_the_exchange_saw_it" and not second_reports:
            run_second()
        result = real_create_order(self, symbol, order_type, side, amount, price, client_order_id)
        if second_worker == "after_the_exchange_took_it" and not second_reports:
            run_second()
        return result

    monkeypatch.setattr(ExchangeAdapter, "create_order", create_order)
    _run_until_first_order(fake_binance, subscription)
    order = Order.objects.get(subscription=subscription)
    assert order.status == "FILLED"
    assert len(fake_binance.orders(client_order_id=order.client_order_id)) == 1
    # One decision log for that candle, with the fill in it; one trade.
    logs = PerformanceLog.objects.filter(subscription=subscription, timestamp=order.candle_at)
    assert [log.action for log in logs] == ["BUY"]
    assert subscription.trades.count() == 1
    subscription.refresh_from_db()
    assert subscription.last_error == "" and subscription.completed_candle_at == order.candle_at
    expected = "BUY" if second_worker == "after_the_exchange_took_it" else "skipped"
    assert [report.outcome for report in second_reports] == [expected]


def test_it_clears_an_unknown_outcome_once_the_order_is_found_filled(alice, sma_bot, fake_binance, alice_key):
    from testsupport.fake_exchange import make_binance_client

    subscription = make_testnet_subscription(alice, sma_bot)
    run_tick(START, fake_binance)
    moment = START + timedelta(hours=1)
    fake_binance.set_time(int(moment.timestamp() * 1000))
    order = Order.objects.create(
        subscription=subscription,
        candle_at=moment.replace(second=0),
        side="BUY",
        purpose="ENTRY",
        status="SENT",
        client_order_id="bm-unknown-outcome",
        requested_quantity=Decimal("0.01"),
    )
    # The exchange took it; the worker that sent it never heard back, and its run showed the outcome as unknown.
    make_binance_client(fake_binance.base_url, API_KEY, API_SECRET).create_order(
        "BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": order.client_order_id}
    )
    subscription.last_error = f"BUY order {order.client_order_id}: Sent, outcome unknown"
    subscription.save(update_fields=["last_error"])
    Order.objects.filter(pk=order.pk).update(updated_at=START - timedelta(hours=1))
    reconcile_orders(older_than_s=0)
    order.refresh_from_db()
    subscription.refresh_from_db()
    assert order.status == "FILLED" and subscription.last_error == ""


# --- c. the clock steps back -------------------------------------------------------------------------------------


@pytest.fixture
def one_clock(settings, monkeypatch):
    """The engine clock (trading.clock) pinned through the cache, and the wall clock following it, as they are one
    clock in production: `move(moment)` steps both, forward or back."""
    from django.core.cache import cache
    from django.utils import timezone

    from trading import clock

    settings.ENGINE_CLOCK = "cache"
    clock.set_simulated_now(START)
    wall_now = timezone.now

    def move(moment):
        clock.set_simulated_now(moment)

    def now():
        stored = cache.get(clock.CLOCK_KEY)
        return datetime.fromisoformat(stored) if stored else wall_now()

    monkeypatch.setattr(timezone, "now", now)
    yield move
    cache.delete(clock.CLOCK_KEY)


def _tick():
    from trading import clock
    from trading.scheduler import claim_due

    reports = []
    now = clock.now()
    for batch in claim_due(now):
        reports += run_batch(subscription_ids=list(batch.subscription_ids), run_at=batch.run_at, now=now)
    return reports


def _paper(owner, bot):
    from marketplace.tests.pages import paper_subscription

    return paper_subscription(owner, bot)


def test_it_runs_a_claimed_run_promptly_after_the_clock_steps_back(alice, sma_bot, one_clock):
    from trading import clock
    from trading.scheduler import claim_due

    subscription = _paper(alice, sma_bot)
    one_clock(START + timedelta(hours=2))
    claimed = claim_due(clock.now())
    assert [batch.subscription_ids for batch in claimed] == [(subscription.pk,)]
    claimed_run = claimed[0].run_at
    # The task is lost with its worker; then the clock steps back two hours (NTP, a restored VM).
    one_clock(START)
    reports = _tick()
    assert [(r.subscription_id, r.run_at, r.outcome) for r in reports] == [(subscription.pk, claimed_run, "HOLD")]
    subscription.refresh_from_db()
    assert subscription.completed_candle_at == claimed_run
    assert PerformanceLog.objects.filter(subscription=subscription, timestamp=claimed_run).count() == 1
    # As the clock walks forward again, the candles before the one already run are not run again, and the next
    # new one is.
    for minutes in range(5, 181, 5):
        one_clock(START + timedelta(minutes=minutes))
        _tick()
    logs = PerformanceLog.objects.filter(subscription=subscription)
    assert sorted(log.timestamp for log in logs) == [claimed_run, claimed_run + timedelta(hours=1)]


def test_it_does_not_rerun_a_finished_run_after_the_clock_steps_back(alice, sma_bot, one_clock):
    subscription = _paper(alice, sma_bot)
    one_clock(START + timedelta(hours=2))
    assert [r.outcome for r in _tick()] == ["HOLD"]
    one_clock(START)
    for minutes in range(0, 121, 10):
        one_clock(START + timedelta(minutes=minutes))
        assert _tick() == []
    assert PerformanceLog.objects.filter(subscription=subscription).count() == 1


# --- d. dust left by a partial fill ------------------------------------------------------------------------------


@pytest.fixture
def fake_binance_min_100(settings):
    """The fake Binance with BTCUSDT's minimum order value raised to 100 USDT: a few tenths of a percent of a
    10,000 USDT position left over is below it."""
    from dataclasses import replace

    from testsupport.fake_exchange import FakeBinance
    from testsupport.fake_exchange.markets import default_markets

    markets = [replace(spec, min_notional=Decimal("100")) for spec in default_markets()]
    with FakeBinance.start(markets=markets) as fake:
        fake.load_project_candles("BTC/USDT", "1h")
        settings.EXCHANGE_API_BASE_URLS = {"BINANCE": fake.base_url}
        settings.EXCHANGE_TIMEOUT_MS = 1000
        yield fake
        assert fake.internal_errors == []


LIMIT = {"order_type": "limit", "limit_offset_percent": 0.3, "limit_expiry_candles": 1}


def test_it_books_dust_left_by_a_partial_fill_and_trades_again(alice, sma_bot, fake_binance_min_100):
    from accounts.services import credential_create
    from subscriptions.models import Trade

    fake = fake_binance_min_100
    fake.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=API_SECRET, is_testnet=True)
    subscription = make_testnet_subscription(alice, sma_bot, execution_config=LIMIT)
    fake.set_partial_fills("0.995")
    for hour in range(240):
        run_tick(START + timedelta(hours=hour), fake)
    trades = Trade.objects.filter(subscription=subscription)
    dust = trades.filter(exit_reason="DUST")
    assert dust.exists() and all(t.exit_fee == 0 and t.quantity * t.exit_price < 100 for t in dust)
    # After the dust was booked, the bot bought again.
    first_dust = dust.order_by("exit_time").first()
    assert trades.filter(entry_time__gt=first_dust.exit_time).exists()
    assert trades.values("entry_time").distinct().count() >= 3
    # Nothing too small to sell is left open.
    assert all(t.quantity * t.entry_price >= 100 for t in trades.filter(status="OPEN"))
    subscription.refresh_from_db()
    assert subscription.status == "ACTIVE"
    note_logs = PerformanceLog.objects.filter(subscription=subscription, signal_data__notes__icontains="dust")
    assert note_logs.exists() or "dust" in subscription.last_error


def test_it_shows_why_a_subscription_cannot_trade_instead_of_a_silent_active(alice, sma_bot, fake_binance_min_100):
    from accounts.services import credential_create

    fake = fake_binance_min_100
    fake.add_account(API_KEY, API_SECRET, {"USDT": "50"})  # below the market's 100 USDT minimum order value
    credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=API_SECRET, is_testnet=True)
    subscription = make_testnet_subscription(alice, sma_bot)
    for hour in range(120):
        run_tick(START + timedelta(hours=hour), fake)
        subscription.refresh_from_db()
        if subscription.last_error:
            break
    assert "BUY skipped" in subscription.last_error and "minimum order value 100" in subscription.last_error
    assert not Order.objects.filter(subscription=subscription).exists()
    log = PerformanceLog.objects.filter(subscription=subscription).latest("timestamp")
    assert log.signal_data["decided"] == "BUY" and "BUY skipped" in log.signal_data["notes"][0]


# --- b. a connection lost mid-run --------------------------------------------------------------------------------


def _bobs_testnet_subscription(bob, sma_bot, fake):
    from accounts.services import credential_create

    fake.add_account("bobKey0123456789abcdef", "bobSecret0123456789abcdef", {"USDT": "5000"})
    credential_create(
        user=bob,
        exchange="BINANCE",
        api_key="bobKey0123456789abcdef",
        api_secret="bobSecret0123456789abcdef",
        is_testnet=True,
    )
    return make_testnet_subscription(bob, sma_bot)


def test_it_records_a_cache_that_went_away_on_the_run_and_retries_it(alice, bob, sma_bot, fake_binance, alice_key):
    """Redis goes away during alice's run: her run is retried and shows why; bob's, in the same batch, goes on."""
    from django.core.cache.backends.redis import RedisCache

    from trading import ratelimit
    from trading.engine import batch

    alices = make_testnet_subscription(alice, sma_bot)
    bobs = _bobs_testnet_subscription(bob, sma_bot, fake_binance)
    # A real Redis client, pointed at a port where nothing listens, for the length of alice's run.
    gone = RedisCache("redis://127.0.0.1:9/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    real_live_run, real_cache = batch.live_run, ratelimit.cache

    def live_run(*, subscription, **kwargs):
        if subscription.pk != alices.pk:
            return real_live_run(subscription=subscription, **kwargs)
        ratelimit.cache = gone
        try:
            return real_live_run(subscription=subscription, **kwargs)
        finally:
            ratelimit.cache = real_cache

    batch.live_run = live_run
    try:
        fake_binance.set_time(int(START.timestamp() * 1000))
        from trading.scheduler import claim_due

        (claimed,) = claim_due(START)
        reports = {r.subscription_id: r.outcome for r in run_batch(**_batch_args(claimed, START))}
    finally:
        batch.live_run = real_live_run
    assert reports == {alices.pk: "retry", bobs.pk: "HOLD"}
    alices.refresh_from_db()
    bobs.refresh_from_db()
    assert "cache was unavailable" in alices.last_error and alices.completed_candle_at is None
    assert bobs.completed_candle_at == claimed.run_at and bobs.last_error == ""
    # The task's retry, with the cache back.
    reports = run_batch(subscription_ids=[alices.pk], run_at=claimed.run_at, now=START)
    assert [r.outcome for r in reports] == ["HOLD"]
    alices.refresh_from_db()
    assert alices.last_error == "" and alices.completed_candle_at == claimed.run_at


def _batch_args(claimed, now):
    return {"subscription_ids": list(claimed.subscription_ids), "run_at": claimed.run_at, "now": now}


@pytest.mark.skipif(
    "mysql" not in __import__("os").environ.get("DATABASE_URL", ""),
    reason="kills a MariaDB connection from another one (CI runs on MariaDB)",
)
def test_it_records_a_database_connection_killed_mid_run_and_retries_it(alice, bob, sma_bot):
    """The database drops alice's run's connection (a server restart, a killed connection): her run is retried and
    shows why, once a fresh connection is open; bob's, in the same batch, goes on."""
    import MySQLdb
    from django.db import connection

    from marketplace.tests.pages import paper_subscription
    from trading.engine import batch
    from trading.scheduler import claim_due

    alices = paper_subscription(alice, sma_bot)
    bobs = paper_subscription(bob, sma_bot)
    real_paper_run = batch.paper_run
    killed = []

    def paper_run(*, subscription, **kwargs):
        if subscription.pk == alices.pk and not killed:
            with connection.cursor() as cursor:
                cursor.execute("SELECT CONNECTION_ID()")
                (connection_id,) = cursor.fetchone()
            params = connection.settings_dict
            other = MySQLdb.connect(
                host=params["HOST"] or "127.0.0.1",
                port=int(params["PORT"] or 3306),
                user=params["USER"],
                password=params["PASSWORD"],
            )
            other.cursor().execute(f"KILL CONNECTION {int(connection_id)}")
            other.close()
            killed.append(connection_id)
        return real_paper_run(subscription=subscription, **kwargs)

    batch.paper_run = paper_run
    try:
        (claimed,) = claim_due(START)
        reports = {r.subscription_id: r.outcome for r in run_batch(**_batch_args(claimed, START))}
    finally:
        batch.paper_run = real_paper_run
    assert killed and reports == {alices.pk: "retry", bobs.pk: "HOLD"}
    alices.refresh_from_db()
    bobs.refresh_from_db()
    assert "database was unavailable" in alices.last_error and alices.completed_candle_at is None
    assert bobs.completed_candle_at == claimed.run_at
    reports = run_batch(subscription_ids=[alices.pk], run_at=claimed.run_at, now=START)
    assert [r.outcome for r in reports] == ["HOLD"]
    alices.refresh_from_db()
    assert alices.last_error == "" and alices.completed_candle_at == claimed.run_at


def _kill_own_connection():
    import MySQLdb
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        (connection_id,) = cursor.fetchone()
    params = connection.settings_dict
    other = MySQLdb.connect(
        host=params["HOST"] or "127.0.0.1",
        port=int(params["PORT"] or 3306),
        user=params["USER"],
        password=params["PASSWORD"],
    )
    other.cursor().execute(f"KILL CONNECTION {int(connection_id)}")
    other.close()


@pytest.mark.skipif(
    "mysql" not in __import__("os").environ.get("DATABASE_URL", ""),
    reason="kills a MariaDB connection from another one (CI runs on MariaDB)",
)
def test_it_retries_a_batch_whose_database_went_away_before_it_was_read(alice, sma_bot, one_clock, caplog):
    from marketplace.tests.pages import paper_subscription
    from trading import tasks

    subscription = paper_subscription(alice, sma_bot)
    run_at = START.replace(second=0)
    _kill_own_connection()
    # Eagerly run, the task's retry runs at once, on the fresh connection the task opened.
    tasks.run_subscription_batch.apply(args=[[subscription.pk], run_at.isoformat()])
    assert "Retry in 5s: OperationalError" in caplog.text
    subscription.refresh_from_db()
    assert subscription.completed_candle_at == run_at and subscription.last_error == ""
