"""Celery tasks of the bots app: thin shells that take ids and call one service (queues `backtests` and
`maintenance`, see CELERY_TASK_ROUTES)."""

from celery import shared_task

from bots.backtest_runs.services import backtest_run_execute
from bots.backtest_runs.services import backtest_runs_fail_stale as fail_stale_runs
from bots.validation import bot_version_validate, bot_versions_requeue_stuck


@shared_task(name="bots.validate_bot_version", ignore_result=True, acks_late=True)
def validate_bot_version(version_id: int) -> None:
    """Validate one uploaded version (bots.validation.bot_version_validate); a redelivery is a no-op once done."""
    bot_version_validate(version_id=version_id)


@shared_task(name="bots.requeue_stuck_validations", ignore_result=True)
def requeue_stuck_validations() -> None:
    """The periodic sweep (maintenance queue): versions left RUNNING by a dead worker are validated again, or
    failed after bots.validation.MAX_ATTEMPTS attempts (bots.validation.bot_versions_requeue_stuck)."""
    bot_versions_requeue_stuck()


@shared_task(name="bots.run_backtest", ignore_result=True, acks_late=True)
def run_backtest(run_id: int) -> None:
    """Run one queued backtest (bots.backtest_runs.services.backtest_run_execute); a redelivery is a no-op."""
    backtest_run_execute(run_id=run_id)


@shared_task(name="bots.backtest_runs_fail_stale", ignore_result=True)
def backtest_runs_fail_stale() -> None:
    """Fail the backtests whose worker or task was lost (bots.backtest_runs.services.backtest_runs_fail_stale)."""
    fail_stale_runs()
