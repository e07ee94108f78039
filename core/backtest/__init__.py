"""Backtests of bots over historical candles (pure Python; no Django). See docs/statistics.md."""
from core.trade_settings import ExecutionSettings, RiskSettings

from .engine import DecisionSource, InsufficientCandles, run_backtest, simulate
from .result import BacktestResult, BacktestStats, EquityPoint, Trade
from .stats import compute_stats

__all__ = [
    "BacktestResult",
    "BacktestStats",
    "DecisionSource",
    "EquityPoint",
    "ExecutionSettings",
    "InsufficientCandles",
    "RiskSettings",
    "Trade",
    "compute_stats",
    "run_backtest",
    "simulate",
]
