"""The scheduler tick: claim due subscriptions atomically and group them into batches.

A subscription is due when it is ACTIVE, inside its started_at/expires_at window and its `next_run_at` has
passed. Claiming sets `last_candle_at` to the run time with a compare-and-set UPDATE, so however many beat
processes or workers tick at once, a subscription is claimed once per run time; on MySQL the candidate rows are
read with SELECT ... FOR UPDATE SKIP LOCKED so concurrent ticks do not wait on each other.

A claim is a lease: a run claimed but not completed within settings.RUN_LEASE_S (its worker died, the broker lost
the task) is claimed again for the same run time. That is safe because a run is idempotent: orders are intents
keyed by (subscription, run time, side) and settled by client id, and a completed run is never repeated.

Leases never wait for the wall clock to move forward: a claim stamped more than CLOCK_SKEW_S *after* now was made
before the clock stepped back (NTP, a restored VM), and its lease is treated as run out. Before, such a claim looked
fresh until the clock caught up with it, two hours after a two-hour step back, and by then the next candle had
taken the subscription's marker: the claimed run never happened.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core import timeframes
from subscriptions.models import Subscription

CLAIM_LIMIT = 500
# How far ahead of this process's clock another process's claim may be stamped (clocks of several machines differ a
# little) before it counts as made before a step back of the clock.
CLOCK_SKEW_S = 60


@dataclass(frozen=True)
class Batch:
    """Subscriptions to run together for one run time: same exchange, market, timeframe and bot version."""

    run_at: datetime
    exchange: str
    trading_pair: str
    timeframe: str
    bot_id: int
    subscription_ids: tuple[int, ...]


def run_time_for(subscription: Subscription, now: datetime) -> datetime:
    """The run time a tick at `now` claims: the last candle close, or the last evaluation-period boundary."""
    if subscription.trade_evaluation_period:
        period_s = subscription.trade_evaluation_period * 60
        epoch_s = int(now.timestamp())
        return datetime.fromtimestamp(epoch_s - epoch_s % period_s, tz=now.tzinfo)
    return timeframes.last_close(now, subscription.timeframe)


def next_run_after(subscription: Subscription, now: datetime) -> datetime:
    if subscription.trade_evaluation_period:
        return run_time_for(subscription, now) + timedelta(minutes=subscription.trade_evaluation_period)
    return timeframes.next_close(now, subscription.timeframe)


def _due(now: datetime, lease_cutoff: datetime, future_cutoff: datetime):
    """Subscriptions whose next run time has come, and those whose claimed run never finished (the worker died
    and the broker has not redelivered it) once their lease has run out, or was stamped in the future (the clock
    stepped back since: see the module docstring)."""
    unfinished = (
        Q(last_candle_at__isnull=False)
        & (Q(completed_candle_at__isnull=True) | Q(completed_candle_at__lt=F("last_candle_at")))
        & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=lease_cutoff) | Q(claimed_at__gt=future_cutoff))
    )
    return (
        Subscription.objects.filter(status=Subscription.Status.ACTIVE, started_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now) | unfinished)
    )


def _claim(subscription: Subscription, now: datetime, wall_now: datetime) -> datetime | None:
    """Claim `subscription`'s run with a compare-and-set UPDATE; the run time claimed, or None if nothing to run
    (already done for this run time) or another tick won."""
    run_at = run_time_for(subscription, now)
    next_run = next_run_after(subscription, now)
    previous = subscription.last_candle_at
    rows = Subscription.objects.filter(pk=subscription.pk)
    if previous is not None and previous >= run_at:
        finished = subscription.completed_candle_at is not None and subscription.completed_candle_at >= previous
        if finished:
            # Already ran for this run time (e.g. resumed mid-candle): just schedule the next one.
            rows.update(next_run_at=next_run)
            return None
        # Claimed, never finished, lease expired: claim the same run time again. The rerun settles its orders by
        # client id instead of resending them, so this is safe even if the first worker is still alive.
        won = rows.filter(claimed_at=subscription.claimed_at).update(claimed_at=wall_now, next_run_at=next_run)
        return previous if won else None
    # Only the tick that still sees the old marker claims the run.
    marker = {"last_candle_at": previous} if previous is not None else {"last_candle_at__isnull": True}
    won = rows.filter(**marker).update(last_candle_at=run_at, next_run_at=next_run, claimed_at=wall_now)
    return run_at if won else None


def claim_due(now: datetime) -> list[Batch]:
    """Claim every due subscription for its run time and return them grouped into batches."""
    claimed: dict[tuple, list[int]] = defaultdict(list)
    # Leases are measured on the wall clock: they are about worker processes, not about market time.
    wall_now = timezone.now()
    lease_cutoff = wall_now - timedelta(seconds=settings.RUN_LEASE_S)
    future_cutoff = wall_now + timedelta(seconds=CLOCK_SKEW_S)
    with transaction.atomic():
        due = _due(now, lease_cutoff, future_cutoff).select_for_update(skip_locked=True).order_by("next_run_at", "pk")
        for subscription in list(due[:CLAIM_LIMIT]):
            run_at = _claim(subscription, now, wall_now)
            if run_at is not None:
                key = (
                    run_at,
                    subscription.exchange_type,
                    subscription.trading_pair,
                    subscription.timeframe,
                    subscription.bot_id,
                )
                claimed[key].append(subscription.pk)
    return [
        Batch(
            run_at=key[0],
            exchange=key[1],
            trading_pair=key[2],
            timeframe=key[3],
            bot_id=key[4],
            subscription_ids=tuple(ids),
        )
        for key, ids in sorted(claimed.items(), key=lambda item: (item[0][0], item[0][1:]))
    ]
