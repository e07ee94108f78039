"""Subscriptions' periodic maintenance: expiry, performance log pruning, late runs."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditLog
from subscriptions.maintenance import (
    PERIOD_ENDED,
    TRIAL_ENDED,
    performance_logs_prune,
    runs_health_check,
    subscriptions_expire,
)
from subscriptions.models import PerformanceLog, Subscription
from subscriptions.tests.factories import PerformanceLogFactory, SubscriptionFactory

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


# --- expiry --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_expires_active_and_paused_subscriptions_whose_period_ended(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    active = SubscriptionFactory(user=alice, expires_at=NOW - timedelta(minutes=1))
    paused = SubscriptionFactory(user=alice, status=Subscription.Status.PAUSED, expires_at=NOW)
    running = SubscriptionFactory(user=alice, expires_at=NOW + timedelta(days=3))

    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_expire(now=NOW) == 2

    for subscription in (active, paused, running):
        subscription.refresh_from_db()
    assert active.status == paused.status == Subscription.Status.EXPIRED
    assert active.status_reason == PERIOD_ENDED
    assert running.status == Subscription.Status.ACTIVE
    audits = AuditLog.objects.filter(action="subscription.expire").order_by("record_id")
    assert [a.record_id for a in audits] == [active.pk, paused.pk]
    assert audits[0].old_values == {"status": "ACTIVE"} and audits[1].old_values == {"status": "PAUSED"}
    assert audits[0].user is None
    assert len(mailoutbox) == 2
    assert mailoutbox[0].to == ["alice@example.com"] and "expired" in mailoutbox[0].subject
    assert PERIOD_ENDED in mailoutbox[0].body


@pytest.mark.django_db
def test_it_expires_a_trial_whose_trial_ended_and_emails_the_owner_once(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    trial = SubscriptionFactory(user=alice, is_trial=True, trial_expires_at=NOW - timedelta(hours=1))
    # A trial date on a subscription that is no longer a trial (it was paid for) does not expire it.
    converted = SubscriptionFactory(user=alice, is_trial=False, trial_expires_at=NOW - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_expire(now=NOW) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_expire(now=NOW) == 0

    trial.refresh_from_db()
    converted.refresh_from_db()
    assert trial.status == Subscription.Status.EXPIRED and trial.status_reason == TRIAL_ENDED
    assert converted.status == Subscription.Status.ACTIVE
    assert AuditLog.objects.filter(action="subscription.expire", record_id=trial.pk).count() == 1
    assert len(mailoutbox) == 1 and TRIAL_ENDED in mailoutbox[0].body


@pytest.mark.django_db
def test_it_leaves_cancelled_and_stopped_subscriptions_alone(alice, mailoutbox, django_capture_on_commit_callbacks):
    past = NOW - timedelta(days=1)
    cancelled = SubscriptionFactory(user=alice, status=Subscription.Status.CANCELLED, expires_at=past)
    cancelled_trial = SubscriptionFactory(
        user=alice, status=Subscription.Status.CANCELLED, is_trial=True, trial_expires_at=past
    )
    stopped = SubscriptionFactory(user=alice, status=Subscription.Status.ERROR, expires_at=past)

    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_expire(now=NOW) == 0

    for subscription, status in ((cancelled, "CANCELLED"), (cancelled_trial, "CANCELLED"), (stopped, "ERROR")):
        subscription.refresh_from_db()
        assert subscription.status == status
    assert not AuditLog.objects.filter(action="subscription.expire").exists()
    assert mailoutbox == []


# --- pruning -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_prunes_old_logs_in_batches_and_keeps_the_recent_ones():
    subscription = SubscriptionFactory()
    for days in range(91, 98):
        PerformanceLogFactory(subscription=subscription, timestamp=NOW - timedelta(days=days))
    recent = [
        PerformanceLogFactory(subscription=subscription, timestamp=NOW - timedelta(days=days)).pk
        for days in (0, 30, 89)
    ]

    with CaptureQueriesContext(connection) as queries:
        assert performance_logs_prune(now=NOW, batch_size=3) == 7

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 3 + 3 + 1, never one DELETE for everything
    assert sorted(PerformanceLog.objects.values_list("pk", flat=True)) == sorted(recent)
    assert performance_logs_prune(now=NOW, batch_size=3) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("arguments", [{"keep_days": 0}, {"batch_size": 0}])
def test_it_refuses_a_retention_or_batch_below_one(arguments):
    PerformanceLogFactory(timestamp=NOW)
    with pytest.raises(ValueError, match="at least 1"):
        performance_logs_prune(now=NOW, **arguments)
    assert PerformanceLog.objects.count() == 1


# --- late runs -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_flags_late_subscriptions_without_stopping_them_or_hiding_real_errors(alice, caplog):
    started = NOW - timedelta(days=1)
    ran_at = datetime(2025, 3, 10, 9, 0, 5, tzinfo=UTC)
    late = SubscriptionFactory(
        user=alice, started_at=started, last_run_at=ran_at, next_run_at=NOW - timedelta(minutes=10)
    )
    never_ran = SubscriptionFactory(user=alice, started_at=started, next_run_at=NOW - timedelta(hours=1))
    failing = SubscriptionFactory(
        user=alice,
        started_at=started,
        next_run_at=NOW - timedelta(hours=1),
        last_error="BUY skipped: balance too small",
    )
    within_grace = SubscriptionFactory(user=alice, started_at=started, next_run_at=NOW - timedelta(minutes=4))
    paused = SubscriptionFactory(user=alice, started_at=started, status="PAUSED", next_run_at=NOW - timedelta(hours=1))
    ended = SubscriptionFactory(
        user=alice, started_at=started, expires_at=NOW - timedelta(hours=2), next_run_at=NOW - timedelta(hours=3)
    )

    with caplog.at_level(logging.WARNING, logger="subscriptions.maintenance"):
        assert runs_health_check(now=NOW, grace_s=300) == [late.pk, never_ran.pk, failing.pk]

    for subscription in (late, never_ran, failing, within_grace, paused, ended):
        subscription.refresh_from_db()
    assert late.last_error == "No run since 2025-03-10 09:00 UTC: the platform is catching up."
    assert never_ran.last_error == "No run yet, due 2025-03-10 11:00 UTC: the platform is catching up."
    assert failing.last_error == "BUY skipped: balance too small"
    assert within_grace.last_error == paused.last_error == ended.last_error == ""
    assert {late.status, never_ran.status, failing.status} == {"ACTIVE"}
    assert "3 active subscription(s) have not run" in caplog.text


@pytest.mark.django_db
def test_it_updates_its_own_lateness_message_and_logs_nothing_when_all_is_well(alice, caplog):
    subscription = SubscriptionFactory(
        user=alice, started_at=NOW - timedelta(days=1), next_run_at=NOW - timedelta(hours=1)
    )
    runs_health_check(now=NOW)
    Subscription.objects.filter(pk=subscription.pk).update(last_run_at=datetime(2025, 3, 10, 10, tzinfo=UTC))

    assert runs_health_check(now=NOW) == [subscription.pk]
    subscription.refresh_from_db()
    assert subscription.last_error == "No run since 2025-03-10 10:00 UTC: the platform is catching up."

    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=NOW + timedelta(minutes=5), last_error="")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="subscriptions.maintenance"):
        assert runs_health_check(now=NOW) == []
    assert caplog.records == []
