"""Curves thinned for the browser: a chart of a year of candles needs a few hundred points, not ten thousand.

Both the backtests (bots.backtest_runs, the bot page's summary) and the track records thin their equity curves here.
"""

from typing import Any

CHART_POINTS = 400


def downsample(points: list[dict[str, Any]], limit: int = CHART_POINTS) -> list[dict[str, Any]]:
    """At most `limit` evenly spaced points for a chart, always keeping the first and the last."""
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]
