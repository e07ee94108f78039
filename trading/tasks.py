"""Celery tasks of the trading engine: thin shells that take ids and call one service.

Queues: `live` (subscription runs: never delayed by heavy work), `backtests` (backtests, validation), and
`maintenance` (the scheduler tick, expiry, statistics, clean-up, credential checks).
"""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from trading.engine.batch import run_batch
from trading.scheduler import claim_due


@shared_task(name="trading.scheduler_tick", queue="maintenance", ignore_result=True)
def scheduler_tick() -> int:
    """Beat calls this every minute: claim due subscriptions and dispatch their batches to the live queue."""
    batches = claim_due(timezone.now())
    for batch in batches:
        run_subscription_batch.delay(list(batch.subscription_ids), batch.run_at.isoformat())
    return len(batches)


@shared_task(
    name="trading.run_subscription_batch",
    queue="live",
    ignore_result=True,
    acks_late=True,
)
def run_subscription_batch(subscription_ids: list[int], run_at_iso: str) -> None:
    run_batch(subscription_ids=subscription_ids, run_at=datetime.fromisoformat(run_at_iso))
