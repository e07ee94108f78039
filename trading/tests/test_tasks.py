"""The Celery tasks are wired to the services and to beat (executed eagerly here; real workers in e2e)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from marketplace.celery import app
from subscriptions.tests.factories import SubscriptionFactory
from trading import tasks


def test_it_schedules_every_periodic_task_on_the_maintenance_queue():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "trading.scheduler_tick",
        "trading.orders_reconcile",
        "trading.runs_health_check",
        "trading.credentials_validate",
        "trading.subscriptions_expire",
        "trading.bot_statistics_refresh",
        "trading.performance_logs_prune",
        "bots.requeue_stuck_validations",
        "bots.backtest_runs_fail_stale",
    }
    app.loader.import_default_modules()
    for name in scheduled:
        assert name in app.tasks, name
        assert settings.CELERY_TASK_ROUTES[name]["queue"] == "maintenance"
    assert settings.CELERY_TASK_ROUTES["trading.run_subscription_batch"]["queue"] == "live"


@pytest.mark.django_db
def test_it_expires_through_the_task(alice):
    subscription = SubscriptionFactory(user=alice, expires_at=timezone.now() - timedelta(minutes=1))
    assert tasks.subscriptions_expire.delay().get() == 1
    subscription.refresh_from_db()
    assert subscription.status == "EXPIRED"


@pytest.mark.django_db
def test_it_dispatches_nothing_when_nothing_is_due():
    assert tasks.scheduler_tick.delay().get() == 0
