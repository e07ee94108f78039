"""Backtests users ask for on a bot's page: run by a Celery worker with a progress bar (docs/statistics.md).

`markets` lists the shipped candle files, `services` writes (create, execute, fail stale runs), `selectors` reads.
The engine itself is core.backtest.
"""
