"""Writes of the subscriptions app: status changes through one transition map, each audited."""

from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from accounts.services import audit_log_record
from subscriptions.exceptions import IllegalSubscriptionTransition
from subscriptions.models import Subscription

S = Subscription.Status
# ACTIVE ⇄ PAUSED; ERROR can be resumed once its cause is fixed; CANCELLED and EXPIRED are final.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.ACTIVE: {S.PAUSED, S.CANCELLED, S.EXPIRED, S.ERROR},
    S.PAUSED: {S.ACTIVE, S.CANCELLED, S.EXPIRED},
    S.ERROR: {S.ACTIVE, S.PAUSED, S.CANCELLED, S.EXPIRED},
    S.CANCELLED: set(),
    S.EXPIRED: set(),
}

ACTION_NAMES = {S.ACTIVE: "resume", S.PAUSED: "pause", S.CANCELLED: "cancel", S.EXPIRED: "expire", S.ERROR: "error"}
PAST_TENSE = {
    S.ACTIVE: "resumed",
    S.PAUSED: "paused",
    S.CANCELLED: "cancelled",
    S.EXPIRED: "expired",
    S.ERROR: "stopped",
}


@transaction.atomic
def subscription_transition(
    *,
    subscription: Subscription,
    target: str,
    actor: User | None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Subscription:
    """Move a subscription to `target` status. Raises IllegalSubscriptionTransition for a move the map forbids.

    The row is locked first: the scheduler may be claiming it at the same moment, and its status decides
    whether the claim goes on.
    """
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if target not in ALLOWED_TRANSITIONS[locked.status]:
        raise IllegalSubscriptionTransition(locked, PAST_TENSE[target])
    old_status = locked.status
    locked.status = target
    locked.status_reason = reason
    fields = ["status", "status_reason"]
    if target == S.ACTIVE:
        # Resuming never replays missed candles: the scheduler computes the next close from now.
        locked.next_run_at = None
        fields.append("next_run_at")
    locked.save(update_fields=fields)
    audit_log_record(
        actor=actor,
        action=f"subscription.{ACTION_NAMES[target]}",
        instance=locked,
        old_values={"status": old_status},
        new_values={"status": target, "reason": reason} if reason else {"status": target},
        request=request,
    )
    subscription.status, subscription.status_reason = locked.status, locked.status_reason
    return locked


def subscription_pause(*, subscription: Subscription, actor: User | None, reason: str = "", request=None):
    return subscription_transition(
        subscription=subscription, target=S.PAUSED, actor=actor, reason=reason, request=request
    )


def subscription_resume(*, subscription: Subscription, actor: User | None, request=None):
    return subscription_transition(subscription=subscription, target=S.ACTIVE, actor=actor, request=request)


def subscription_cancel(*, subscription: Subscription, actor: User | None, request=None):
    return subscription_transition(subscription=subscription, target=S.CANCELLED, actor=actor, request=request)
