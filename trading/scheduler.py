"""The scheduler tick: claim due subscriptions atomically and group them into batches.

A subscription is due when it is ACTIVE, inside its started_at/expires_at window and its `next_run_at` has
passed. Claiming sets `last_candle_at` to the run time with a compare-and-set UPDATE, so however many beat
processes or workers tick at once, a subscription is claimed once per run time; on MySQL the candidate rows are
read with SELECT ... FOR UPDATE SKIP LOCKED so concurrent ticks do not wait on each other.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from subscriptions.models import Subscription
from trading import timeframes

CLAIM_LIMIT = 500


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


def _due(now: datetime):
    return (
        Subscription.objects.filter(status=Subscription.Status.ACTIVE, started_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
    )


def claim_due(now: datetime) -> list[Batch]:
    """Claim every due subscription for its current run time and return them grouped into batches."""
    claimed: dict[tuple, list[int]] = defaultdict(list)
    with transaction.atomic():
        candidates = list(_due(now).select_for_update(skip_locked=True).order_by("next_run_at", "pk")[:CLAIM_LIMIT])
        for subscription in candidates:
            run_at = run_time_for(subscription, now)
            next_run = next_run_after(subscription, now)
            previous = subscription.last_candle_at
            if previous is not None and previous >= run_at:
                # Already claimed for this run time (e.g. resumed mid-candle): just schedule the next one.
                Subscription.objects.filter(pk=subscription.pk).update(next_run_at=next_run)
                continue
            # Compare-and-set: only the tick that still sees the old marker claims the run.
            won = (
                Subscription.objects.filter(pk=subscription.pk, last_candle_at=previous).update(
                    last_candle_at=run_at, next_run_at=next_run
                )
                if previous is not None
                else Subscription.objects.filter(pk=subscription.pk, last_candle_at__isnull=True).update(
                    last_candle_at=run_at, next_run_at=next_run
                )
            )
            if won:
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
