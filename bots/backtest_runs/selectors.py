"""Reads of backtest runs. A user sees only their own runs: anyone else's is a 404, as if it did not exist."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from bots.models import BacktestRun, Bot

RECENT_RUNS = 10


def backtest_run_get(*, user: User, bot_slug: str, pk: int) -> BacktestRun:
    """One of `user`'s runs of the bot `bot_slug`, with its bot and version. Raises Http404 for anyone else's."""
    runs = BacktestRun.objects.filter(user=user, bot__slug=bot_slug).select_related("bot", "bot_version")
    return get_object_or_404(runs, pk=pk)


def backtest_runs_recent(*, user: User, bot: Bot, limit: int = RECENT_RUNS) -> QuerySet[BacktestRun]:
    """The user's latest runs of `bot`, newest first (the result JSON is left out: a list does not show it)."""
    if not user.is_authenticated:
        return BacktestRun.objects.none()
    runs = BacktestRun.objects.filter(user=user, bot=bot).select_related("bot_version").defer("result")
    return runs.order_by("-created_at", "-pk")[:limit]


def backtest_run_status(run: BacktestRun) -> dict:
    """What the progress bar polls: status, progress and, once failed, the reason."""
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "finished": run.finished,
        "progress_pct": run.progress_pct,
        "candles_done": run.candles_done,
        "candles_total": run.candles_total,
        "error": run.error,
    }
