"""Periodic maintenance of subscriptions and their record: expiry, performance log retention, late runs.

Services only: trading.tasks wraps each one in a beat task on the `maintenance` queue (the task names stay
`trading.*`) and logs what it returns. They live here because they read and write only this app's rows.
Every service can be run again, and on several workers at once: rows are claimed with a conditional UPDATE (or
SELECT ... FOR UPDATE SKIP LOCKED) that re-checks the condition that selected them, so a row is handled once and
a rerun finds nothing left to do. Times are aware UTC datetimes.
"""

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from common.db import connections_reset
from subscriptions.models import PerformanceLog, Subscription
from subscriptions.services import subscription_transition

logger = logging.getLogger(__name__)

S = Subscription.Status
# Rows per bulk UPDATE: keeps each statement well under the databases' placeholder limits.
WRITE_BATCH_SIZE = 500


# --- expiry -------------------------------------------------------------------------------------------------------

TRIAL_ENDED = "Your free trial ended."
PERIOD_ENDED = "Your subscription period ended."


def _expiry_due(now: datetime):
    return Subscription.objects.filter(status__in=[S.ACTIVE, S.PAUSED]).filter(
        Q(expires_at__lte=now) | Q(is_trial=True, trial_expires_at__lte=now)
    )


def subscriptions_expire(*, now: datetime) -> int:
    """Expire every ACTIVE or PAUSED subscription whose paid period (`expires_at`) or, for a trial, whose
    `trial_expires_at` is at or before `now`.

    Each moves to EXPIRED through `subscription_transition` (audited as `subscription.expire`, actor None, the
    reason in `status_reason`) in its own transaction, and its owner gets one email after that commits.
    CANCELLED, ERROR and EXPIRED subscriptions are left alone. Returns how many this call expired.
    """
    expired = 0
    for pk in list(_expiry_due(now).order_by("pk").values_list("pk", flat=True)):
        try:
            expired += _subscription_expire_one(pk=pk, now=now)
        except Exception:  # noqa: BLE001 - one subscription's fault never stops the others' expiry
            logger.exception("expiring subscription %s failed; the next sweep tries again", pk)
            connections_reset()
    return expired


def _subscription_expire_one(*, pk: int, now: datetime) -> int:
    """1 when this call expired subscription `pk`, 0 when someone else did or it was renewed meanwhile."""
    with transaction.atomic():
        # Read again under a lock, with the same conditions: since the list was read another worker may have
        # expired it or the owner renewed it. SKIP LOCKED leaves a row another worker holds to that worker.
        subscription = _expiry_due(now).select_for_update(skip_locked=True).filter(pk=pk).first()
        if subscription is None:
            return 0
        trial_ended = subscription.is_trial and subscription.trial_expires_at and subscription.trial_expires_at <= now
        reason = TRIAL_ENDED if trial_ended else PERIOD_ENDED
        subscription_transition(subscription=subscription, target=S.EXPIRED, actor=None, reason=reason)
        # After commit: a rolled-back expiry must not have told anyone.
        transaction.on_commit(partial(_email_expired, subscription.pk, reason))
    return 1


def _email_expired(subscription_id: int, reason: str) -> None:
    subscription = Subscription.objects.select_related("user", "bot", "marketplace_registration__partner").get(
        pk=subscription_id
    )
    if not subscription.contact_email:
        return
    send_mail(
        f"Your bot “{subscription.instance_name}” has expired",
        f"Your subscription “{subscription.instance_name}” to {subscription.bot.name} has expired: {reason}\n\n"
        "It no longer trades. Subscribe again from the bot's page to keep it running.",
        settings.DEFAULT_FROM_EMAIL,
        [subscription.contact_email],
        fail_silently=True,
    )


# --- performance log retention -------------------------------------------------------------------------------------


def performance_logs_prune(*, now: datetime, keep_days: int = 90, batch_size: int = 5000) -> int:
    """Delete performance_logs whose `timestamp` is more than `keep_days` days before `now`, `batch_size` rows at a
    time, each batch committed on its own. Returns how many rows were deleted. Raises ValueError for a
    `keep_days` or `batch_size` below 1 (a typo must not wipe the table)."""
    if keep_days < 1 or batch_size < 1:
        raise ValueError("keep_days and batch_size must be at least 1.")
    cutoff = now - timedelta(days=keep_days)
    old = PerformanceLog.objects.filter(timestamp__lt=cutoff)
    deleted = 0
    while True:
        # The ids are fetched first because MySQL refuses LIMIT inside an IN subquery. Small batches keep each
        # DELETE's locks and undo log short, so the engine's inserts never wait long; oldest ids first, as the
        # old rows sit at the start of the primary key.
        ids = list(old.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        # Counts what this worker removed: rows another worker deleted first are simply not counted twice.
        removed, _ = PerformanceLog.objects.filter(pk__in=ids).delete()
        deleted += removed


# --- late runs ------------------------------------------------------------------------------------------------------

LATE_PREFIX = "No run "
LATE_SUFFIX = ": the platform is catching up."


def late_message(*, last_run_at: datetime | None, next_run_at: datetime) -> str:
    """What a late subscription shows its owner (recognised again by LATE_PREFIX and LATE_SUFFIX)."""
    if last_run_at is None:
        return f"{LATE_PREFIX}yet, due {next_run_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC{LATE_SUFFIX}"
    return f"{LATE_PREFIX}since {last_run_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC{LATE_SUFFIX}"


def runs_health_check(*, now: datetime, grace_s: int = 300) -> list[int]:
    """Find ACTIVE subscriptions that should have run (inside their started_at/expires_at window, as the scheduler
    sees it) but whose `next_run_at` is more than `grace_s` seconds before `now`: the worker is down or the
    exchange unreachable. Each gets `last_error` = late_message(...), unless it shows a real error (only an
    empty `last_error` or an earlier lateness message is replaced); none is stopped, and the next successful run
    clears the message. Logs a WARNING with the count. Returns the late subscriptions' ids, in id order."""
    late = Subscription.objects.filter(
        status=S.ACTIVE, started_at__lte=now, next_run_at__lt=now - timedelta(seconds=grace_s)
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    rows = list(late.order_by("pk").values_list("pk", "last_run_at", "next_run_at"))
    ids_by_message: dict[str, list[int]] = defaultdict(list)
    for pk, last_run_at, next_run_at in rows:
        ids_by_message[late_message(last_run_at=last_run_at, next_run_at=next_run_at)].append(pk)
    for message, ids in ids_by_message.items():
        # One UPDATE per distinct message and batch (an outage makes many subscriptions late since the same moment).
        # It checks the conditions again: a run that caught up or failed with a real error since the read is left
        # alone.
        for start in range(0, len(ids), WRITE_BATCH_SIZE):
            late.filter(pk__in=ids[start : start + WRITE_BATCH_SIZE]).filter(
                Q(last_error="") | Q(last_error__startswith=LATE_PREFIX, last_error__endswith=LATE_SUFFIX)
            ).update(last_error=message)
    late_ids = [pk for pk, _, _ in rows]
    if late_ids:
        logger.warning(
            "%d active subscription(s) have not run for more than %ds (first ids: %s)",
            len(late_ids),
            grace_s,
            late_ids[:20],
        )
    return late_ids
