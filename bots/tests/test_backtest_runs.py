"""Backtests users run from a bot's page: the service, the worker's task, the pages and the status endpoint."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from bots import tasks
from bots.backtest_runs import services
from bots.backtest_runs.exceptions import BacktestRunInvalid, BacktestRunLimit
from bots.backtest_runs.markets import backtest_markets
from bots.backtest_runs.services import backtest_run_create, backtest_run_execute, backtest_runs_fail_stale
from bots.forms import BacktestRunForm
from bots.models import BacktestRun, BotVersion
from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
from core.builtin.sma_crossover import SmaCrossover

R = BacktestRun.Status


@pytest.fixture
def sma_bot(db):
    bot = ApprovedBotFactory(
        slug="sma-cross", config_schema=SmaCrossover.config_schema, default_config={"fast": 10, "slow": 30}
    )
    BotVersionFactory(bot=bot, builtin_slug="sma-crossover", validation_status=BotVersion.ValidationStatus.PASSED)
    return bot


@pytest.fixture
def enqueued(monkeypatch):
    ids: list[int] = []
    monkeypatch.setattr(tasks.run_backtest, "delay", ids.append)
    return ids


def create(user, bot, **overrides):
    arguments = {
        "user": user,
        "bot": bot,
        "exchange": "BINANCE",
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "candle_count": 1000,
        "strategy_config": {"fast": 8},
        "risk_config": {"stop_loss_percent": 5},
    }
    return backtest_run_create(**arguments | overrides)


# --- the service --------------------------------------------------------------------------------------------------


def test_it_stores_a_queued_run_and_enqueues_it_after_the_commit(
    alice, sma_bot, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = create(alice, sma_bot)
    assert enqueued == []  # nothing is sent while the transaction is open
    for callback in callbacks:
        callback()
    assert enqueued == [run.pk]
    run.refresh_from_db()
    assert run.status == R.QUEUED and run.user == alice
    assert run.bot_version.builtin_slug == "sma-crossover"
    assert run.strategy_config == {"fast": 8, "slow": 30}  # defaults filled
    assert run.risk_config["stop_loss_percent"] == 5
    assert run.fee_rate == Decimal("0.001") and run.slippage_rate == 0
    assert run.progress_pct == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"strategy_config": {"fast": 40, "slow": 30}}, "strategy_config.fast"),
        ({"strategy_config": {"fast": "ten"}}, "strategy_config.fast"),
        ({"risk_config": {"stop_loss_percent": -1}}, "risk_config.stop_loss_percent"),
        ({"execution_config": {"buy_order_type": "EVERYTHING"}}, "execution_config.buy_order_type"),
        ({"symbol": "DOGE/USDT"}, "market"),
        ({"candle_count": 10}, "candle_count"),
        ({"candle_count": 3001}, "candle_count"),
        ({"fee_rate": Decimal("0.2")}, "fee_rate"),
        ({"slippage_rate": Decimal("-0.01")}, "slippage_rate"),
        ({"starting_balance": Decimal("0")}, "starting_balance"),
    ],
)
def test_it_refuses_bad_input_per_field_and_stores_nothing(alice, sma_bot, enqueued, overrides, field):
    with pytest.raises(BacktestRunInvalid) as caught:
        create(alice, sma_bot, **overrides)
    assert field in caught.value.errors
    assert not BacktestRun.objects.exists()


def test_it_refuses_a_bot_without_a_validated_version(alice, enqueued):
    bot = ApprovedBotFactory()
    BotVersionFactory(bot=bot, builtin_slug="", validation_status=BotVersion.ValidationStatus.FAILED)
    with pytest.raises(BacktestRunInvalid) as caught:
        create(alice, bot, strategy_config={})
    assert "bot" in caught.value.errors


def test_it_limits_the_runs_waiting_or_running_per_user(alice, bob, sma_bot, enqueued):
    for _ in range(services.MAX_ACTIVE_RUNS_PER_USER):
        create(alice, sma_bot)
    with pytest.raises(BacktestRunLimit, match="Wait until one finishes"):
        create(alice, sma_bot)
    assert BacktestRun.objects.filter(user=alice).count() == services.MAX_ACTIVE_RUNS_PER_USER
    create(bob, sma_bot)  # another user's queue is their own
    BacktestRun.objects.filter(user=alice).update(status=R.DONE)
    create(alice, sma_bot)  # finished runs do not count


# --- the worker's part --------------------------------------------------------------------------------------------


def test_it_runs_a_queued_run_with_progress_and_stores_the_result(alice, sma_bot, enqueued, monkeypatch):
    run = create(alice, sma_bot, candle_count=3000)
    written = []
    real_call = services._ProgressWriter.__call__

    def recording(self, done, total):
        written.append((done, total))
        real_call(self, done, total)

    monkeypatch.setattr(services._ProgressWriter, "__call__", recording)
    tasks.run_backtest(run.pk)  # the task function, run directly
    run.refresh_from_db()
    assert run.status == R.DONE, run.error
    assert run.started_at and run.finished_at and run.started_at <= run.finished_at
    assert run.candles_total == run.candles_done == 3000 - 30  # the SMA's warm-up (slow=30) is not walked
    assert written[-1] == (run.candles_total, run.candles_total)
    assert run.progress_pct == 100
    assert set(run.result) >= {"stats", "trades", "equity_curve"}
    assert run.result["stats"]["trades"] == len(run.result["trades"]) > 0
    assert len(run.result["equity_curve"]) <= services.CHART_POINTS
    assert run.first_candle_at < run.last_candle_at
    assert run.first_candle_at.tzinfo is not None


def test_it_writes_progress_while_it_runs(alice, sma_bot, enqueued, monkeypatch):
    monkeypatch.setattr(services, "PROGRESS_INTERVAL_S", 0)  # every call of the engine writes
    run = create(alice, sma_bot, candle_count=3000)
    seen = []
    real_call = services._ProgressWriter.__call__

    def spying(self, done, total):
        real_call(self, done, total)
        seen.append(BacktestRun.objects.get(pk=run.pk).candles_done)

    monkeypatch.setattr(services._ProgressWriter, "__call__", spying)
    backtest_run_execute(run_id=run.pk)
    assert len(seen) >= 50
    assert seen == sorted(seen) and 0 < seen[0] < seen[-1]


def test_it_does_not_run_a_run_twice(alice, sma_bot, enqueued):
    run = create(alice, sma_bot)
    backtest_run_execute(run_id=run.pk)
    finished = BacktestRun.objects.get(pk=run.pk)
    again = backtest_run_execute(run_id=run.pk)  # a redelivered task
    assert again.status == R.DONE and again.finished_at == finished.finished_at


def test_it_stores_why_a_run_failed(alice, sma_bot, enqueued):
    run = create(alice, sma_bot, strategy_config={"fast": 100, "slow": 1000}, candle_count=500)
    backtest_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == R.FAILED
    assert "Not enough candles" in run.error and run.result is None


def test_it_stores_a_safe_message_when_the_platform_fails(alice, sma_bot, enqueued, monkeypatch):
    run = create(alice, sma_bot)
    monkeypatch.setattr(services, "market_candles", lambda *a: (_ for _ in ()).throw(OSError("/secret/path")))
    backtest_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == R.FAILED
    assert run.error == "The platform could not run this backtest. Try again later."


def test_it_fails_runs_whose_worker_was_lost(alice, sma_bot, enqueued):
    stuck = create(alice, sma_bot)
    BacktestRun.objects.filter(pk=stuck.pk).update(
        status=R.RUNNING, started_at=timezone.now() - services.RUNNING_STALE_AFTER - timedelta(minutes=1)
    )
    fresh = create(alice, sma_bot)
    tasks.backtest_runs_fail_stale()
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == R.FAILED and "stopped" in stuck.error
    assert fresh.status == R.QUEUED
    assert backtest_runs_fail_stale() == 0


# --- the pages ----------------------------------------------------------------------------------------------------


def form_data(bot, **overrides):
    """What the browser posts: every field's initial value, then the user's changes."""
    form = BacktestRunForm(bot=bot, markets=backtest_markets())
    initial = {field.name: field.value() for field in form if field.value() is not None}
    return (
        initial
        | {
            "market": "BINANCE:ETH/USDT:1h",
            "candle_count": "800",
            "starting_balance": "5000",
            "fee_percent": "0.075",
            "execution__slippage_percent": "0.05",
            "strategy__fast": "12",
            "strategy__slow": "40",
        }
        | overrides
    )


def test_it_starts_a_backtest_from_the_form(client, alice, sma_bot, enqueued, django_capture_on_commit_callbacks):
    client.force_login(alice)
    page = client.get(reverse("bots:backtest_new", args=[sma_bot.slug]))
    assert page.status_code == 200 and "Start the backtest" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("bots:backtest_new", args=[sma_bot.slug]), form_data(sma_bot))
    run = BacktestRun.objects.get(user=alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("bots:backtest_detail", args=[sma_bot.slug, run.pk])
    assert (run.exchange, run.symbol, run.timeframe, run.candle_count) == ("BINANCE", "ETH/USDT", "1h", 800)
    assert run.strategy_config == {"fast": 12, "slow": 40}
    assert run.fee_rate == Decimal("0.00075") and run.slippage_rate == Decimal("0.0005")
    assert run.starting_balance == Decimal("5000")
    assert enqueued == [run.pk]


def test_it_shows_service_errors_next_to_their_fields(client, alice, sma_bot, enqueued):
    client.force_login(alice)
    response = client.post(
        reverse("bots:backtest_new", args=[sma_bot.slug]), form_data(sma_bot, strategy__fast="50", candle_count="3000")
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "must be less than slow" in " ".join(form.errors["strategy__fast"])
    assert not BacktestRun.objects.exists()


def test_it_says_clearly_when_the_user_has_too_many_runs(client, alice, sma_bot, enqueued):
    client.force_login(alice)
    for _ in range(services.MAX_ACTIVE_RUNS_PER_USER):
        create(alice, sma_bot)
    response = client.post(reverse("bots:backtest_new", args=[sma_bot.slug]), form_data(sma_bot))
    assert response.status_code == 400
    assert "Wait until one finishes" in response.content.decode()
    assert BacktestRun.objects.count() == services.MAX_ACTIVE_RUNS_PER_USER


def test_it_shows_the_progress_of_a_running_run(client, alice, sma_bot, enqueued):
    run = create(alice, sma_bot)
    BacktestRun.objects.filter(pk=run.pk).update(status=R.RUNNING, candles_done=485, candles_total=970)
    client.force_login(alice)
    html = client.get(reverse("bots:backtest_detail", args=[sma_bot.slug, run.pk])).content.decode()
    assert '<progress id="backtest-progress" max="100" value="50"' in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html  # works without JavaScript
    assert "js/backtest-progress.js" in html
    status = client.get(reverse("bots:backtest_status", args=[sma_bot.slug, run.pk])).json()
    assert status == {
        "id": run.pk,
        "status": "RUNNING",
        "status_label": "Running",
        "finished": False,
        "progress_pct": 50,
        "candles_done": 485,
        "candles_total": 970,
        "error": "",
    }


def test_it_shows_the_results_of_a_finished_run(client, alice, sma_bot, enqueued):
    run = create(alice, sma_bot)
    backtest_run_execute(run_id=run.pk)
    run.refresh_from_db()
    client.force_login(alice)
    html = client.get(reverse("bots:backtest_detail", args=[sma_bot.slug, run.pk])).content.decode()
    assert 'value="100"' in html and "http-equiv" not in html
    assert 'data-curve="backtest-run"' in html and "chart.umd.min.js" in html
    assert "Max drawdown" in html
    assert f"Trades ({len(run.result['trades'])})" in html
    # The bot's page lists the user's runs.
    bot_page = client.get(reverse("bots:detail", args=[sma_bot.slug])).content.decode()
    assert reverse("bots:backtest_detail", args=[sma_bot.slug, run.pk]) in bot_page


def test_it_hides_a_run_from_another_user(client, alice, bob, sma_bot, enqueued):
    run = create(alice, sma_bot)
    client.force_login(bob)
    assert client.get(reverse("bots:backtest_detail", args=[sma_bot.slug, run.pk])).status_code == 404
    assert client.get(reverse("bots:backtest_status", args=[sma_bot.slug, run.pk])).status_code == 404
    bot_page = client.get(reverse("bots:detail", args=[sma_bot.slug])).content.decode()
    assert reverse("bots:backtest_detail", args=[sma_bot.slug, run.pk]) not in bot_page


def test_it_sends_anonymous_visitors_to_the_login_page(client, alice, sma_bot, enqueued):
    run = create(alice, sma_bot)
    for url in (
        reverse("bots:backtest_new", args=[sma_bot.slug]),
        reverse("bots:backtest_detail", args=[sma_bot.slug, run.pk]),
        reverse("bots:backtest_status", args=[sma_bot.slug, run.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post(reverse("bots:backtest_new", args=[sma_bot.slug]), form_data(sma_bot))
    assert response.status_code == 302
    assert BacktestRun.objects.count() == 1


def test_it_404s_a_run_under_another_bots_address(client, alice, sma_bot, enqueued):
    run = create(alice, sma_bot)
    other = ApprovedBotFactory()
    client.force_login(alice)
    assert client.get(reverse("bots:backtest_detail", args=[other.slug, run.pk])).status_code == 404
