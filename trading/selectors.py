"""Reads of the trading app for the trader's API: their own trades and decision logs, never anyone else's.

"Own" is the subscriptions the user holds for themselves (Subscription.objects.owned_by): the rows of a partner's
marketplace principals stay with the partner API.
"""

from django.db.models import QuerySet

from accounts.models import User
from subscriptions.models import PerformanceLog, Subscription, Trade


def trade_own_list(*, user: User) -> QuerySet[Trade]:
    """The trades of the user's own subscriptions, newest opened first; filter it (trading.filters), page it."""
    return Trade.objects.filter(subscription__in=Subscription.objects.owned_by(user)).order_by("-entry_time", "-pk")


def performance_log_own_list(*, user: User) -> QuerySet[PerformanceLog]:
    """The decisions logged for the user's own subscriptions, newest first; filter it, page it."""
    return PerformanceLog.objects.filter(subscription__in=Subscription.objects.owned_by(user)).order_by(
        "-timestamp", "-pk"
    )
