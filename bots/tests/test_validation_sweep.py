"""The sweep of versions whose validation was lost: a worker killed mid-validation leaves its version RUNNING."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from bots import tasks
from bots.models import BotVersion
from bots.tests.factories import BotVersionFactory
from bots.validation import MAX_ATTEMPTS, STUCK_AFTER, bot_version_validate, bot_versions_requeue_stuck

V = BotVersion.ValidationStatus


@pytest.fixture
def enqueued(monkeypatch):
    """The version ids the sweep hands to the validation task (the task itself is tested elsewhere)."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.validate_bot_version, "delay", ids.append)
    return ids


def uploaded_version(status, *, started_ago=None, attempts=1, **fields):
    report = None
    if started_ago is not None:
        report = {"attempts": attempts, "started_at": (timezone.now() - started_ago).isoformat()}
    return BotVersionFactory(
        builtin_slug="", code_path="bots/1/1.0/code.py", validation_status=status, validation_report=report, **fields
    )


def test_it_requeues_a_version_left_running_by_a_dead_worker(db, enqueued, django_capture_on_commit_callbacks):
    stuck = uploaded_version(V.RUNNING, started_ago=STUCK_AFTER + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = bot_versions_requeue_stuck()
    stuck.refresh_from_db()
    assert outcome["requeued"] == [stuck.pk]
    assert stuck.validation_status == V.PENDING
    assert stuck.validation_report["attempts"] == 1
    assert enqueued == [stuck.pk]


def test_it_leaves_a_version_that_is_still_validating_alone(db, enqueued, django_capture_on_commit_callbacks):
    running = uploaded_version(V.RUNNING, started_ago=timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = bot_versions_requeue_stuck()
    running.refresh_from_db()
    assert outcome == {"requeued": [], "failed": [], "reenqueued": []}
    assert running.validation_status == V.RUNNING
    assert enqueued == []


def test_it_fails_a_version_after_too_many_interrupted_attempts(db, enqueued, django_capture_on_commit_callbacks):
    stuck = uploaded_version(V.RUNNING, started_ago=STUCK_AFTER * 2, attempts=MAX_ATTEMPTS)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = bot_versions_requeue_stuck()
    stuck.refresh_from_db()
    assert outcome["failed"] == [stuck.pk]
    assert stuck.validation_status == V.FAILED
    report = stuck.validation_report
    assert report["passed"] is False
    assert f"interrupted {MAX_ATTEMPTS} times" in report["checks"][0]["message"]
    assert enqueued == []


def test_it_counts_attempts_across_requeues_until_it_gives_up(db, enqueued, monkeypatch):
    """A bot that kills its worker every time: claim, die, sweep; after MAX_ATTEMPTS the version is FAILED."""
    version = uploaded_version(V.PENDING)
    # The worker "dies" right after the claim: the checks raise something no handler catches.
    monkeypatch.setattr("bots.validation._schema_check", lambda v: (_ for _ in ()).throw(SystemExit("killed")))
    later = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(SystemExit):
            bot_version_validate(version_id=version.pk)
        version.refresh_from_db()
        assert version.validation_status == V.RUNNING
        later += STUCK_AFTER + timedelta(minutes=1)
        bot_versions_requeue_stuck(now=later)
    version.refresh_from_db()
    assert version.validation_status == V.FAILED
    assert version.validation_report["attempts"] == MAX_ATTEMPTS


def test_it_reenqueues_a_pending_version_whose_task_was_lost(db, enqueued, django_capture_on_commit_callbacks):
    old = uploaded_version(V.PENDING)
    BotVersion.objects.filter(pk=old.pk).update(created_at=timezone.now() - STUCK_AFTER * 2)
    fresh = uploaded_version(V.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = bot_versions_requeue_stuck()
    assert outcome["reenqueued"] == [old.pk]
    assert enqueued == [old.pk]
    # Not again at the next sweep: it was just enqueued.
    with django_capture_on_commit_callbacks(execute=True):
        assert bot_versions_requeue_stuck()["reenqueued"] == []
    assert fresh.pk not in enqueued


def test_it_ignores_finished_and_builtin_versions(db, enqueued):
    uploaded_version(V.PASSED, started_ago=STUCK_AFTER * 3)
    uploaded_version(V.FAILED, started_ago=STUCK_AFTER * 3)
    BotVersionFactory(builtin_slug="sma-crossover", validation_status=V.PENDING)
    assert bot_versions_requeue_stuck(now=timezone.now() + STUCK_AFTER * 4)["reenqueued"] == []


def test_it_does_not_validate_a_version_another_worker_is_running(db):
    running = uploaded_version(V.RUNNING, started_ago=timedelta(minutes=1))
    assert bot_version_validate(version_id=running.pk) == running.validation_report
    running.refresh_from_db()
    assert running.validation_status == V.RUNNING


def test_it_schedules_the_sweep_on_the_maintenance_queue(db, enqueued):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "bots.requeue_stuck_validations")
    assert entry["schedule"] <= STUCK_AFTER.total_seconds()
    assert settings.CELERY_TASK_ROUTES["bots.requeue_stuck_validations"] == {"queue": "maintenance"}
    stuck = uploaded_version(V.RUNNING, started_ago=STUCK_AFTER * 2)
    tasks.requeue_stuck_validations()  # the task function, run directly
    stuck.refresh_from_db()
    assert stuck.validation_status == V.PENDING
