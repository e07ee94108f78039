"""Backtests over the shipped real candles: invariants and speed."""
import json
import time
from decimal import Decimal

import pytest

from bots.sdk import Candles
from core.backtest import run_backtest
from core.builtin import BUILTIN_BOTS
from core.fill_model import ExitReason

from .helpers import DATA


@pytest.fixture(scope="module")
def btc_1h():
    return Candles.from_csv(DATA / "binance" / "BTC_USDT-1h.csv")


@pytest.fixture(scope="module")
def coinbase_btc_1h():
    return Candles.from_csv(DATA / "coinbase" / "BTC_USD-1h.csv")


def check_invariants(result, starting_balance=Decimal("10000")):
    stats = result.stats
    assert stats.final_balance == starting_balance + sum((t.pnl for t in result.trades), Decimal(0))
    assert result.equity_curve[-1].equity == stats.final_balance
    assert all(t.entry_index <= t.exit_index for t in result.trades)
    # One position at a time: a trade opens only after the previous one closed (partial exits share an entry).
    for before, after in zip(result.trades, result.trades[1:], strict=False):
        assert after.entry_index == before.entry_index or after.entry_index >= before.exit_index
    assert 0 <= stats.max_drawdown_pct < 1
    assert 0 <= stats.exposure <= 1
    json.dumps(result.to_json(), allow_nan=False)


@pytest.mark.parametrize("slug", sorted(BUILTIN_BOTS))
def test_a_3000_candle_backtest_takes_well_under_a_second(slug, btc_1h):
    assert len(btc_1h) == 3000
    started = time.perf_counter()

    result = run_backtest(slug, btc_1h)

    elapsed_s = time.perf_counter() - started
    assert elapsed_s < 0.5, f"{slug}: {elapsed_s:.3f} s"
    assert result.trades
    check_invariants(result)


@pytest.mark.parametrize("slug", sorted(BUILTIN_BOTS))
def test_risk_and_partial_sells_keep_the_books_balanced(slug, btc_1h):
    result = run_backtest(
        slug,
        btc_1h,
        slippage_rate=Decimal("0.0005"),
        execution_config={"buy_order_type": "PERCENTAGE", "buy_order_value": 80,
                          "sell_order_type": "PERCENTAGE", "sell_order_value": 50, "quantity_step": "0.00001"},
        risk_config={"stop_loss_percent": 2, "take_profit_percent": 4, "max_position_size": 5000},
    )

    check_invariants(result)
    reasons = {t.exit_reason for t in result.trades}
    assert ExitReason.STOP_LOSS in reasons
    assert all(t.quantity == t.quantity.quantize(Decimal("0.00001")) for t in result.trades)
    assert all(t.quantity * t.entry_price <= Decimal("5000") for t in result.trades)


def test_it_backtests_the_coinbase_history(coinbase_btc_1h):
    result = run_backtest("macd-trend", coinbase_btc_1h, starting_balance=Decimal("1000"))

    assert result.stats.candles == len(coinbase_btc_1h) - 87
    assert result.stats.timeframe_ms == 3_600_000
    check_invariants(result, Decimal("1000"))
