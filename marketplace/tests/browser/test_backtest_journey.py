"""A trader backtests a bot in a real browser: the form, then a progress bar that a real Celery worker moves to done,
then the statistics, the equity chart and the trades.

The worker is Celery's own (celery.contrib.testing.worker.start_worker: a real consumer in a thread of this
process) on kombu's in-memory broker, not a `celery worker` subprocess: the test database is SQLite in memory,
which another process cannot open. The run still goes through the broker and the worker's task execution, not
CELERY_TASK_ALWAYS_EAGER. On MariaDB + Redis (CI), trading/tests/e2e shows the subprocess form.
"""

import kombu.pools
import pytest
from django.db import connections
from django.urls import reverse

from accounts.tests.factories import PASSWORD, UserFactory
from bots.models import BacktestRun
from marketplace.celery import app as celery_app
from marketplace.tests.pages import builtin_bot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def _pools_reset() -> None:
    """Close every kombu pool and let the app build fresh ones for its current broker on next use.

    The worker thread closes the pools it used when it stops, and the kombu pools are process-wide: without this,
    a later test that publishes to the project's broker acquires a closed pool ("Acquire on closed pool")."""
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def celery_broker():
    """Send tasks to kombu's in-memory broker instead of running them eagerly."""
    saved = {name: celery_app.conf[name] for name in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url="memory://")
    _pools_reset()
    yield
    celery_app.conf.update(saved)
    _pools_reset()


@pytest.fixture
def start_celery_worker(celery_broker):
    """start() runs a real worker thread (queues `backtests` and `celery`) until the test ends."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_prerun

    # The worker thread must use this thread's connection: the test database only exists in it (in-memory SQLite,
    # shared the same way with the live server's thread).
    shared = connections["default"]
    shared.inc_thread_sharing()

    def share_connection(**kwargs):
        connections["default"] = shared

    task_prerun.connect(share_connection, weak=False)
    workers = []

    def start():
        context = start_worker(
            celery_app, pool="solo", perform_ping_check=False, queues=["backtests", "celery"], shutdown_timeout=10
        )
        context.__enter__()
        workers.append(context)

    yield start
    for context in workers:
        context.__exit__(None, None, None)
    task_prerun.disconnect(share_connection)
    shared.dec_thread_sharing()


def test_it_runs_a_backtest_from_the_bot_page_with_a_progress_bar(web, start_celery_worker):
    from playwright.sync_api import expect  # here: the `web` fixture has checked that Playwright is installed

    bot = builtin_bot("sma-crossover")
    UserFactory(email="tess@example.com")
    page = web.page

    web.goto("/accounts/login/?next=" + reverse("bots:detail", args=[bot.slug]))
    page.get_by_label("Email").fill("tess@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    web.remember()

    # From the bot's page to the form: Coinbase's 20 000 hourly candles, a faster SMA and a stop loss.
    page.get_by_role("link", name="Run a backtest").click()
    web.remember()
    page.get_by_label("Market and timeframe").select_option(label="Coinbase BTC/USD, 1h (20111 candles)")
    page.get_by_label("Candles", exact=True).fill("20000")
    page.get_by_label("Fast period").fill("12")
    page.get_by_label("Stop loss (%)").fill("4")
    web.screenshot("40-backtest-form")
    page.get_by_role("button", name="Start the backtest").click()
    html = web.remember()

    # No worker yet: the run waits in the queue, the bar at zero.
    run = BacktestRun.objects.get()
    assert run.status == BacktestRun.Status.QUEUED and run.candle_count == 20000
    assert page.locator("#backtest-progress").get_attribute("value") == "0"
    assert "Waiting for a worker" in html
    web.screenshot("41-backtest-queued")

    # A worker takes it; the page's poll follows the run to the end and then shows the results.
    start_celery_worker()
    expect(page.locator("[data-status-label]")).to_have_text("Done", timeout=60_000)
    expect(page.locator("#backtest-progress")).to_have_attribute("value", "100")
    expect(page.get_by_role("heading", name="Results")).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-backtest-run'))")
    html = web.remember()
    assert "Max drawdown" in html and "Sharpe" in html
    run.refresh_from_db()
    assert run.status == BacktestRun.Status.DONE
    assert run.candles_done == run.candles_total > 19_000
    assert f"Trades ({len(run.result['trades'])})" in html
    assert run.strategy_config["fast"] == 12 and run.risk_config["stop_loss_percent"] == 4
    web.screenshot("42-backtest-done")
