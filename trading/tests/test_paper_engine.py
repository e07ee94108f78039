"""Paper subscriptions trade on replayed candles through the scheduler, exactly as a backtest would."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from bots.sdk import Candles
from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
from core.backtest import run_backtest
from subscriptions.models import PerformanceLog, Trade
from subscriptions.tests.factories import SubscriptionFactory
from trading.engine.batch import run_batch
from trading.models import Order
from trading.scheduler import claim_due

CSV = "data/candles/binance/BTC_USDT-1h.csv"
START = datetime(2021, 5, 1, 0, 0, 30, tzinfo=UTC)
STRATEGY = {"fast": 5, "slow": 20}
RISK = {"stop_loss_percent": 3, "take_profit_percent": 6}


@pytest.fixture
def sma_bot(db):
    bot = ApprovedBotFactory(slug="sma-crossover", name="SMA crossover")
    BotVersionFactory(bot=bot, version="1.0.0", builtin_slug="sma-crossover", validation_status="PASSED")
    return bot


def _paper_subscription(owner, bot, **fields):
    return SubscriptionFactory(
        user=owner,
        bot=bot,
        is_paper=True,
        exchange_type="BINANCE",
        trading_pair="BTC/USDT",
        timeframe="1h",
        strategy_config=STRATEGY,
        execution_config={},
        risk_config=RISK,
        started_at=START - timedelta(hours=1),
        **fields,
    )


def _tick(now):
    for batch in claim_due(now):
        run_batch(subscription_ids=list(batch.subscription_ids), run_at=batch.run_at, now=now)


def test_it_runs_once_per_closed_candle_and_logs_every_decision(alice, sma_bot):
    subscription = _paper_subscription(alice, sma_bot)
    for hour in range(6):
        now = START + timedelta(hours=hour)
        _tick(now)
        _tick(now + timedelta(seconds=20))  # a second tick in the same candle claims nothing
    logs = PerformanceLog.objects.filter(subscription=subscription)
    decisions = logs.filter(action="HOLD").count() + logs.exclude(action="HOLD").values("timestamp").distinct().count()
    assert decisions == 6
    assert sorted({log.timestamp for log in logs}) == [START.replace(second=0) + timedelta(hours=h) for h in range(6)]
    subscription.refresh_from_db()
    assert subscription.completed_candle_at == START.replace(second=0) + timedelta(hours=5)
    assert subscription.next_run_at == START.replace(second=0) + timedelta(hours=6)
    first = logs.order_by("timestamp").first()
    assert {"sma_fast", "sma_slow"} <= set(first.signal_data["indicators"])


LIMIT_ORDERS = {"order_type": "limit", "limit_offset_percent": 0.2, "limit_expiry_candles": 1}
SLOW_LIMIT_ORDERS = {"order_type": "limit", "limit_offset_percent": 0.3, "limit_expiry_candles": 3}


@pytest.mark.parametrize(
    "execution_config", [{}, LIMIT_ORDERS, SLOW_LIMIT_ORDERS], ids=["market", "limit", "limit-3-candles"]
)
def test_it_trades_on_paper_exactly_as_the_backtest_does(alice, sma_bot, execution_config):
    subscription = _paper_subscription(alice, sma_bot)
    subscription.execution_config = execution_config
    subscription.save(update_fields=["execution_config"])
    hours = 300
    for hour in range(hours):
        _tick(START + timedelta(hours=hour))

    rows = Candles.from_csv(CSV).to_rows()
    first_close_ms = int((START.replace(second=0)).timestamp() * 1000)
    # The first decided candle closed at START (opened an hour earlier); the bot needs `slow` candles of warm-up.
    first_index = next(i for i, row in enumerate(rows) if row[0] == first_close_ms - 3_600_000)
    last_index = first_index + hours - 1
    warmup = STRATEGY["slow"]
    window = Candles.from_rows(rows[first_index - warmup : last_index + 2])
    result = run_backtest("sma-crossover", window, config=STRATEGY, risk_config=RISK, execution_config=execution_config)

    backtest_closed = [t for t in result.trades if t.exit_reason != "END"]
    paper_closed = list(Trade.objects.filter(subscription=subscription, status="CLOSED").order_by("entry_time", "id"))
    assert len(paper_closed) == len(backtest_closed) > 3
    for paper, backtest in zip(paper_closed, backtest_closed, strict=True):
        assert int(paper.entry_time.timestamp() * 1000) == backtest.entry_time_ms
        assert int(paper.exit_time.timestamp() * 1000) == backtest.exit_time_ms
        assert paper.quantity == backtest.quantity.quantize(Decimal("1e-8"))
        assert paper.entry_price == backtest.entry_price.quantize(Decimal("1e-8"))
        assert paper.exit_price == backtest.exit_price.quantize(Decimal("1e-8"))
        assert abs(paper.pnl - backtest.pnl) < Decimal("1e-7")
        assert paper.exit_reason == str(backtest.exit_reason)
    subscription.refresh_from_db()
    assert subscription.total_trades == len(backtest_closed)
    assert subscription.winning_trades == sum(1 for t in backtest_closed if t.pnl > 0)
    assert abs(subscription.total_pnl - sum(t.pnl for t in backtest_closed)) < Decimal("1e-6")
    assert (
        not Order.objects.filter(subscription=subscription, status="PENDING")
        .exclude(candle_at=START.replace(second=0) + timedelta(hours=hours - 1))
        .exists()
    )
    if execution_config:
        # Limit orders fill at their own price (no slippage), some never fill and are cancelled, and each of those
        # runs says so in its log.
        orders = Order.objects.filter(subscription=subscription, order_type="limit")
        filled = orders.filter(status="FILLED")
        assert filled.exists() and orders.filter(status="CANCELLED").exists()
        assert all(order.average_price == order.limit_price for order in filled)
        if execution_config["limit_expiry_candles"] > 1:
            # Some orders rested past their first candle and filled on a later one.
            assert any((o.trade.entry_time if o.side == "BUY" else o.trade.exit_time) > o.candle_at for o in filled)
        expired = orders.filter(status="CANCELLED", error__contains="not reached").first()
        assert PerformanceLog.objects.filter(
            subscription=subscription, signal_data__notes__icontains="expired unfilled"
        ).exists(), expired


def test_it_prints_what_one_tick_ran(alice, sma_bot, capsys):
    subscription = _paper_subscription(alice, sma_bot)
    call_command("run_due_subscriptions", "--now", START.isoformat())
    output = capsys.readouterr().out
    assert f"subscription {subscription.pk}: HOLD" in output or f"subscription {subscription.pk}: BUY" in output
    call_command("run_due_subscriptions", "--now", START.isoformat())
    assert "nothing due" in capsys.readouterr().out


def test_it_refuses_stale_candles_and_places_nothing(alice, sma_bot):
    subscription = _paper_subscription(alice, sma_bot)
    after_the_data = datetime(2021, 6, 12, 0, 0, 30, tzinfo=UTC)  # the file ends on 2021-06-10
    subscription.started_at = after_the_data - timedelta(days=1)
    subscription.save()
    _tick(after_the_data)
    subscription.refresh_from_db()
    assert "No closed 1h candles" in subscription.last_error or "more than two candles ago" in subscription.last_error
    assert not Order.objects.exists() and not PerformanceLog.objects.exists()


def test_it_refuses_margin_and_futures_with_a_clear_message(alice, sma_bot):
    subscription = _paper_subscription(alice, sma_bot, trade_mode="Futures")
    _tick(START)
    subscription.refresh_from_db()
    assert subscription.status == "ERROR"
    assert "Futures trading is not supported yet" in subscription.last_error
