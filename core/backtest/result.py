"""What a backtest returns: closed trades, the marked-to-market equity curve and the statistics.

JSON convention (``BacktestResult.to_json``): every *amount* (price, quantity, fee, P&L, balance,
equity — ``Decimal`` in Python) is a **string** in plain notation without trailing zeros, so no digit
is lost; every *ratio* (``roi``, ``win_rate``, ``pnl_pct``, drawdown fraction, Sharpe ...) is a JSON
**number**, and every ratio is a fraction (0.05 means 5 %), including those whose name ends in
``_pct``. Times are integers, epoch milliseconds; ``null`` means "not defined" (e.g. a profit factor
without losing trades).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from core.fill_model import ExitReason


def amount_json(value: Decimal | None) -> str | None:
    """A Decimal as a plain-notation string without trailing zeros ("100", "0.5"; never "1E+2"), or None."""
    return None if value is None else format(value.normalize(), "f")


@dataclass(frozen=True)
class Trade:
    """One closed (part of a) position. ``pnl`` = exit proceeds − entry cost, both net of fees.

    ``entry_time_ms``/``exit_time_ms`` are the open times of the candles in which the fills happened;
    ``fee`` is the entry fee share of this quantity plus the exit fee; ``pnl_pct`` = ``pnl`` / (entry
    notional + entry fee), a fraction.
    """

    entry_time_ms: int
    exit_time_ms: int
    entry_price: Decimal
    exit_price: Decimal
    quantity: Decimal
    fee: Decimal
    pnl: Decimal
    pnl_pct: float
    exit_reason: ExitReason
    entry_index: int
    exit_index: int

    def to_json(self) -> dict[str, Any]:
        return {
            "entry_time_ms": self.entry_time_ms,
            "exit_time_ms": self.exit_time_ms,
            "entry_price": amount_json(self.entry_price),
            "exit_price": amount_json(self.exit_price),
            "quantity": amount_json(self.quantity),
            "fee": amount_json(self.fee),
            "pnl": amount_json(self.pnl),
            "pnl_pct": self.pnl_pct,
            "exit_reason": self.exit_reason.value,
        }


@dataclass(frozen=True)
class EquityPoint:
    """Equity at the close of one candle: free quote balance + open quantity × close (floating P&L included).

    ``time_ms`` is that candle's open time; ``in_position`` says whether a position was open at its close.
    """

    time_ms: int
    equity: Decimal
    in_position: bool

    def to_json(self) -> dict[str, Any]:
        return {"time_ms": self.time_ms, "equity": amount_json(self.equity)}


@dataclass(frozen=True)
class BacktestStats:
    """See docs/statistics.md for each definition. Amounts are ``Decimal``, ratios are fractions (float)."""

    starting_balance: Decimal
    final_balance: Decimal
    net_profit: Decimal
    roi: float
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    gross_profit: Decimal
    gross_loss: Decimal
    profit_factor: float | None
    avg_trade: Decimal | None
    total_fees: Decimal
    max_drawdown: Decimal
    max_drawdown_pct: float
    max_drawdown_duration_candles: int
    max_drawdown_duration_ms: int
    sharpe: float | None
    sortino: float | None
    exposure: float
    candles: int
    timeframe_ms: int | None
    periods_per_year: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            f.name: amount_json(value) if isinstance(value := getattr(self, f.name), Decimal) else value
            for f in fields(self)
        }


@dataclass(frozen=True)
class BacktestResult:
    trades: list[Trade]
    equity_curve: list[EquityPoint]
    stats: BacktestStats

    def to_json(self) -> dict[str, Any]:
        """``{"stats": {...}, "trades": [...], "equity_curve": [...]}``, JSON-safe (see the module docstring)."""
        return {
            "stats": self.stats.to_json(),
            "trades": [trade.to_json() for trade in self.trades],
            "equity_curve": [point.to_json() for point in self.equity_curve],
        }
