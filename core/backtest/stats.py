"""Backtest statistics from the closed trades and the marked-to-market equity curve (docs/statistics.md).

Amounts stay ``Decimal``; ratios are fractions as floats. Sharpe and Sortino are computed on the
per-candle returns of the equity curve, annualised with the number of candles in a 365-day year
(crypto markets never close), risk-free rate 0.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from .result import BacktestStats, EquityPoint, Trade

MS_PER_YEAR = 365 * 24 * 60 * 60 * 1000


def periods_per_year(timeframe_ms: int | None) -> float | None:
    """Candles in a 365-day year for a timeframe (8760 for 1h); None when the timeframe is unknown."""
    if not timeframe_ms or timeframe_ms <= 0:
        return None
    return MS_PER_YEAR / timeframe_ms


def drawdown(starting_balance: Decimal, curve: Sequence[EquityPoint]) -> tuple[Decimal, float, int, int]:
    """``(max_drawdown, max_drawdown_pct, duration_candles, duration_ms)`` of an equity curve.

    The running peak starts at ``starting_balance``. Drawdown at a point = peak − equity (a quote amount) and
    (peak − equity) / peak (a fraction); both maxima are reported (they can come from different points).
    A drawdown lasts from the candle that set the peak to the first candle back at or above it, or to the
    last candle if it never recovers; the longest such stretch is reported in candles and ms.
    """
    if not curve:
        return Decimal(0), 0.0, 0, 0
    peak = starting_balance
    peak_index = 0
    in_drawdown = False
    worst_amount = Decimal(0)
    worst_fraction = Decimal(0)
    longest_candles = 0
    longest_ms = 0
    for index, point in enumerate(curve):
        if point.equity >= peak:
            if in_drawdown:  # recovered: the drawdown lasted from peak_index to here
                if index - peak_index > longest_candles:
                    longest_candles = index - peak_index
                    longest_ms = point.time_ms - curve[peak_index].time_ms
                in_drawdown = False
            peak = point.equity
            peak_index = index
            continue
        in_drawdown = True
        amount = peak - point.equity
        worst_amount = max(worst_amount, amount)
        if peak > 0:
            worst_fraction = max(worst_fraction, amount / peak)
    last = len(curve) - 1
    if in_drawdown and last - peak_index > longest_candles:  # never recovered: it lasts to the end
        longest_candles = last - peak_index
        longest_ms = curve[last].time_ms - curve[peak_index].time_ms
    return worst_amount, float(worst_fraction), longest_candles, longest_ms


def risk_adjusted_returns(curve: Sequence[EquityPoint], timeframe_ms: int | None) -> tuple[float | None, float | None]:
    """``(sharpe, sortino)``, annualised, from the per-candle returns ``r_t = equity_t / equity_{t-1} - 1``.

    Sharpe = mean(r) / std(r, sample, ddof=1) × sqrt(periods per year).
    Sortino = mean(r) / downside deviation × sqrt(periods per year), where the downside deviation is
    sqrt(mean(min(r_t, 0)²)) over *all* returns (target 0). Either is None when its denominator is 0,
    when there are fewer than two returns or when the timeframe is unknown.
    """
    per_year = periods_per_year(timeframe_ms)
    if per_year is None or len(curve) < 3:
        return None, None
    equity = np.array([float(point.equity) for point in curve], dtype=np.float64)
    if (equity[:-1] <= 0).any():
        return None, None  # a wiped-out account has no meaningful return series
    returns = equity[1:] / equity[:-1] - 1.0
    mean = float(returns.mean())
    annualise = math.sqrt(per_year)
    std = float(returns.std(ddof=1))
    sharpe = mean / std * annualise if std > 0 else None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    sortino = mean / downside * annualise if downside > 0 else None
    return sharpe, sortino


def compute_stats(
    trades: Sequence[Trade],
    equity_curve: Sequence[EquityPoint],
    *,
    starting_balance: Decimal,
    timeframe_ms: int | None,
) -> BacktestStats:
    """All statistics of one backtest. ``equity_curve`` ends at the final balance (every position closed)."""
    final_balance = equity_curve[-1].equity if equity_curve else starting_balance
    net_profit = final_balance - starting_balance
    wins = [trade.pnl for trade in trades if trade.pnl > 0]
    losses = [trade.pnl for trade in trades if trade.pnl < 0]
    gross_profit = sum(wins, Decimal(0))
    gross_loss = -sum(losses, Decimal(0))
    max_dd, max_dd_pct, dd_candles, dd_ms = drawdown(starting_balance, equity_curve)
    sharpe, sortino = risk_adjusted_returns(equity_curve, timeframe_ms)
    exposed = sum(1 for point in equity_curve if point.in_position)
    return BacktestStats(
        starting_balance=starting_balance,
        final_balance=final_balance,
        net_profit=net_profit,
        roi=float(net_profit / starting_balance) if starting_balance else 0.0,
        trades=len(trades),
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / len(trades) if trades else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=float(gross_profit / gross_loss) if gross_loss > 0 else None,
        avg_trade=sum((trade.pnl for trade in trades), Decimal(0)) / len(trades) if trades else None,
        total_fees=sum((trade.fee for trade in trades), Decimal(0)),
        max_drawdown=max_dd,
        max_drawdown_pct=max_dd_pct,
        max_drawdown_duration_candles=dd_candles,
        max_drawdown_duration_ms=dd_ms,
        sharpe=sharpe,
        sortino=sortino,
        exposure=exposed / len(equity_curve) if equity_curve else 0.0,
        candles=len(equity_curve),
        timeframe_ms=timeframe_ms,
        periods_per_year=periods_per_year(timeframe_ms),
    )
