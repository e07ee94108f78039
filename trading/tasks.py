"""Celery tasks of the trading engine: thin shells that take ids and call one service.

Queues: `live` (subscription runs: never delayed by heavy work), `backtests` (backtests, validation), and
`maintenance` (the scheduler tick, reconciliation, expiry, statistics, clean-up, credential checks). The
maintenance tasks keep their `trading.*` names (beat and routes name them) whichever app's service they call.
"""

import logging
from datetime import datetime

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from common.db import connections_reset
from subscriptions import bot_statistics
from subscriptions import maintenance as subscription_maintenance
from trading import clock, maintenance
from trading.engine.batch import CONNECTION_LOST, run_batch
from trading.engine.live import reconcile_orders
from trading.scheduler import claim_due

logger = logging.getLogger(__name__)
RETRY_BACKOFF_S = (5, 15, 45, 120, 300)


@shared_task(name="trading.scheduler_tick", ignore_result=True)
def scheduler_tick() -> int:
    """Beat calls this every tick: claim due subscriptions and dispatch their batches to the live queue."""
    batches = claim_due(clock.now())
    for batch in batches:
        run_subscription_batch.delay(list(batch.subscription_ids), batch.run_at.isoformat())
    return len(batches)


@shared_task(name="trading.run_subscription_batch", bind=True, ignore_result=True, acks_late=True, max_retries=5)
def run_subscription_batch(self, subscription_ids: list[int], run_at_iso: str) -> None:
    """Run one batch. Subscriptions that hit a network error, a timeout or a rate limit are retried with backoff;
    a retry can never place an order twice (orders are intents keyed by subscription, candle and side)."""
    try:
        reports = run_batch(
            subscription_ids=subscription_ids, run_at=datetime.fromisoformat(run_at_iso), now=clock.now()
        )
    except CONNECTION_LOST as exc:
        # Lost before any subscription could be run or told (reading the batch itself): run it all again later.
        # Each subscription's own losses are caught in run_batch, recorded on it and retried below.
        connections_reset()
        countdown = RETRY_BACKOFF_S[min(self.request.retries, len(RETRY_BACKOFF_S) - 1)]
        raise self.retry(exc=exc, countdown=countdown) from None
    for report in reports:
        logger.info("run %s subscription %s: %s %s", run_at_iso, report.subscription_id, report.outcome, report.detail)
    retry_ids = [report.subscription_id for report in reports if report.outcome == "retry"]
    if retry_ids and self.request.retries < self.max_retries:
        countdown = RETRY_BACKOFF_S[min(self.request.retries, len(RETRY_BACKOFF_S) - 1)]
        raise self.retry(args=[retry_ids, run_at_iso], countdown=countdown)


@shared_task(name="trading.orders_reconcile", ignore_result=True)
def orders_reconcile() -> int:
    return reconcile_orders(older_than_s=settings.ORDER_RECONCILE_AFTER_S)


@worker_ready.connect
def reconcile_at_worker_start(sender=None, **kwargs) -> None:
    """A worker that starts after a crash settles the orders its predecessor left in flight before anything new."""
    try:
        settled = reconcile_orders(older_than_s=settings.ORDER_RECONCILE_AFTER_S)
        logger.info("reconciled %s order(s) at worker start", settled)
    except Exception:  # noqa: BLE001 - the periodic reconciliation tries again; the worker must start regardless
        logger.exception("order reconciliation at worker start failed")


@shared_task(name="trading.subscriptions_expire", ignore_result=True)
def subscriptions_expire() -> int:
    return subscription_maintenance.subscriptions_expire(now=timezone.now())


@shared_task(name="trading.bot_statistics_refresh", ignore_result=True)
def bot_statistics_refresh() -> int:
    return bot_statistics.bot_statistics_refresh(today=timezone.now().date())


@shared_task(name="trading.performance_logs_prune", ignore_result=True)
def performance_logs_prune() -> int:
    return subscription_maintenance.performance_logs_prune(now=timezone.now())


@shared_task(name="trading.credentials_validate", ignore_result=True)
def credentials_validate(only_pending: bool = True) -> int:
    # Wall clock on purpose: "edited since validated" compares with updated_at, which Django stamps with it.
    return maintenance.credentials_validate(now=timezone.now(), only_pending=only_pending)


@shared_task(name="trading.credential_validate", ignore_result=True)
def credential_validate(credential_id: int) -> str:
    """One credential, on its owner's request (POST /api/v1/credentials/{id}/validate/). Wall clock: see above."""
    return maintenance.credential_validate(pk=credential_id, now=timezone.now())


@shared_task(name="trading.runs_health_check", ignore_result=True)
def runs_health_check() -> int:
    return len(subscription_maintenance.runs_health_check(now=clock.now()))
