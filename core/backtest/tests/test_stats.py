import math
import statistics
from decimal import Decimal

import pytest

from core.backtest import EquityPoint, Trade, compute_stats
from core.backtest.stats import drawdown, periods_per_year
from core.fill_model import ExitReason

D = Decimal
HOUR_MS = 3_600_000


def curve(values, in_position=None):
    in_position = in_position or [False] * len(values)
    pairs = zip(values, in_position, strict=True)
    return [EquityPoint(i * HOUR_MS, D(str(value)), flag) for i, (value, flag) in enumerate(pairs)]


def trade(pnl, fee="1"):
    return Trade(0, HOUR_MS, D("100"), D("100"), D("1"), D(fee), D(str(pnl)), 0.0, ExitReason.SIGNAL, 0, 1)


def test_drawdown_uses_the_running_peak_and_reports_the_longest_stretch():
    # Peak 110 → trough 99 (−10 %), recovered at 121 three candles later; then 121 → 110 (−9.1 %) to the end.
    amount, fraction, candles, duration_ms = drawdown(D("100"), curve([100, 110, 99, 104.5, 121, 110]))

    assert amount == D("11")
    assert fraction == pytest.approx(0.1)
    assert (candles, duration_ms) == (3, 3 * HOUR_MS)


def test_a_drawdown_that_never_recovers_lasts_to_the_end():
    amount, fraction, candles, duration_ms = drawdown(D("100"), curve([100, 90, 95, 97, 98]))

    assert (amount, fraction) == (D("10"), pytest.approx(0.1))
    assert (candles, duration_ms) == (4, 4 * HOUR_MS)


def test_a_rising_curve_has_no_drawdown():
    assert drawdown(D("100"), curve([100, 101, 101, 102])) == (D("0"), 0.0, 0, 0)


def test_trade_statistics():
    stats = compute_stats(
        [trade(10), trade(-5), trade(20), trade(-5)],
        curve([100, 110, 99, 104.5, 121, 120], in_position=[False, True, True, True, False, False]),
        starting_balance=D("100"),
        timeframe_ms=HOUR_MS,
    )

    assert stats.trades == 4
    assert (stats.wins, stats.losses) == (2, 2)
    assert stats.win_rate == 0.5
    assert (stats.gross_profit, stats.gross_loss) == (D("30"), D("10"))
    assert stats.profit_factor == 3.0
    assert stats.avg_trade == D("5")
    assert stats.total_fees == D("4")
    assert stats.final_balance == D("120")
    assert stats.net_profit == D("20")
    assert stats.roi == 0.2
    assert stats.exposure == 0.5
    assert stats.candles == 6
    assert stats.periods_per_year == 8760


def test_sharpe_and_sortino_are_annualised_per_candle_returns():
    values = [100, 110, 99, 104.5, 121, 110]
    returns = [b / a - 1 for a, b in zip(values, values[1:], strict=False)]

    stats = compute_stats([], curve(values), starting_balance=D("100"), timeframe_ms=HOUR_MS)

    mean = statistics.mean(returns)
    assert stats.sharpe == pytest.approx(mean / statistics.stdev(returns) * math.sqrt(8760))
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / len(returns))
    assert stats.sortino == pytest.approx(mean / downside * math.sqrt(8760))


def test_undefined_ratios_are_none():
    stats = compute_stats([], curve([100, 100, 100]), starting_balance=D("100"), timeframe_ms=HOUR_MS)

    assert stats.win_rate is None
    assert stats.avg_trade is None
    assert stats.profit_factor is None
    assert stats.sharpe is None  # a flat curve has no volatility
    assert stats.sortino is None
    no_losses = compute_stats([trade(5)], curve([100, 105, 105]), starting_balance=D("100"), timeframe_ms=HOUR_MS)
    assert no_losses.profit_factor is None
    assert no_losses.sortino is None  # no negative return
    only_losses = compute_stats([trade(-5)], curve([100, 95, 95]), starting_balance=D("100"), timeframe_ms=HOUR_MS)
    assert only_losses.profit_factor == 0.0
    assert only_losses.win_rate == 0.0


def test_periods_per_year_counts_a_365_day_year():
    assert periods_per_year(HOUR_MS) == 8760
    assert periods_per_year(24 * HOUR_MS) == 365
    assert periods_per_year(None) is None
