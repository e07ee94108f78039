"""Reads of the subscriptions app, scoped to their owner (another user's subscription is a 404)."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from core import timeframes
from core.backtest.result import amount_json
from subscriptions.models import PerformanceLog, Subscription, Trade

# A run more than this late (next_run_at in the past) means the scheduler or its workers are not keeping up.
LATE_AFTER = timedelta(minutes=5)


# --- A trader's subscriptions --------------------------------------------------------------------------------------


def subscription_list(*, user: User) -> QuerySet[Subscription]:
    """The user's subscriptions, running ones first, with the bot joined: one query, whatever their number."""
    return Subscription.objects.filter(user=user).select_related("bot").order_by("status", "-started_at", "-pk")


def subscription_get(*, user: User, pk: int) -> Subscription:
    """One of the user's subscriptions; raises Http404 for anyone else's."""
    return get_object_or_404(Subscription.objects.filter(user=user).select_related("bot", "paper_account"), pk=pk)


def is_late(subscription: Subscription, *, now=None) -> bool:
    """An ACTIVE subscription whose next run should have started more than LATE_AFTER ago."""
    now = now or timezone.now()
    return (
        subscription.status == Subscription.Status.ACTIVE
        and subscription.next_run_at is not None
        and subscription.next_run_at < now - LATE_AFTER
    )


def subscription_trades(*, subscription: Subscription) -> tuple[list[Trade], QuerySet[Trade]]:
    """(open trades, closed trades newest first) of one subscription."""
    trades = Trade.objects.filter(subscription=subscription)
    open_trades = list(trades.filter(status=Trade.Status.OPEN).order_by("-entry_time", "-pk"))
    return open_trades, trades.filter(status=Trade.Status.CLOSED).order_by("-exit_time", "-pk")


def subscription_decisions(*, subscription: Subscription) -> QuerySet[PerformanceLog]:
    """The decision log, newest first (paginate it)."""
    return PerformanceLog.objects.filter(subscription=subscription).order_by("-timestamp", "-pk")


def subscription_mark(*, subscription: Subscription) -> tuple[Decimal | None, object]:
    """(price, timestamp) of the newest decision the engine logged for the subscription (its last candle close),
    or (None, None) before the first run."""
    row = (
        PerformanceLog.objects.filter(subscription=subscription)
        .order_by("-timestamp", "-pk")
        .values_list("price", "timestamp")
        .first()
    )
    return row if row else (None, None)


def floating_pnl(trade: Trade, mark_price: Decimal | None) -> Decimal:
    """Unrealised P&L of an open trade: quantity × mark − (quantity × entry price + entry fee). Without a mark
    price the entry price is used, so only the entry fee shows as a loss."""
    price = mark_price if mark_price is not None else trade.entry_price
    return trade.quantity * price - (trade.quantity * trade.entry_price + trade.entry_fee)


def subscription_equity_points(
    *, subscription: Subscription, open_trades: list[Trade], mark_price: Decimal | None, marked_at
) -> list[dict]:
    """The chart of a subscription: cumulative closed P&L at each exit (from 0 at its start), then, while a trade
    is open, one last point at the mark time adding its floating P&L. Amounts are strings, times epoch ms."""
    rows = (
        Trade.objects.filter(subscription=subscription, status=Trade.Status.CLOSED)
        .order_by("exit_time", "pk")
        .values_list("exit_time", "pnl")
    )
    points = [{"time_ms": timeframes.to_ms(subscription.started_at), "pnl": "0"}]
    cumulative = Decimal(0)
    for exit_time, pnl in rows:
        cumulative += pnl or Decimal(0)
        points.append({"time_ms": timeframes.to_ms(exit_time), "pnl": amount_json(cumulative)})
    if open_trades:
        floating = sum((floating_pnl(trade, mark_price) for trade in open_trades), Decimal(0))
        at = marked_at or timezone.now()
        points.append({"time_ms": timeframes.to_ms(at), "pnl": amount_json(cumulative + floating), "open": True})
    return sorted(points, key=lambda point: point["time_ms"])


def subscription_list_with_marks(*, user: User) -> QuerySet[Subscription]:
    """subscription_list with `mark_price` (newest logged price) annotated and the open trades prefetched into
    `open_trades`: two queries for the whole dashboard, whatever the number of subscriptions and trades."""
    newest = PerformanceLog.objects.filter(subscription=OuterRef("pk")).order_by("-timestamp", "-pk")
    return (
        subscription_list(user=user)
        .annotate(mark_price=Subquery(newest.values("price")[:1]))
        .prefetch_related(
            Prefetch(
                "trades", queryset=Trade.objects.filter(status=Trade.Status.OPEN).order_by("pk"), to_attr="open_trades"
            )
        )
    )


def credential_summary(*, user: User) -> list[str]:
    """The user's active exchange keys in words ("Binance testnet: valid"), for the subscribe page's hint."""
    from accounts.models import ExchangeCredential

    keys = ExchangeCredential.objects.owned_by(user).filter(is_active=True).order_by("exchange", "-is_testnet")
    return [
        f"{key.get_exchange_display()} {'testnet' if key.is_testnet else 'mainnet'}: "
        f"{key.get_validation_status_display().lower()}"
        for key in keys
    ]


# --- The trader's API and the developer's figures --------------------------------------------------------------------


def subscription_own_list(*, user: User) -> QuerySet[Subscription]:
    """The user's own subscriptions, newest first, with the bot joined (one query for a page, whatever its size).

    A partner account's subscriptions for its marketplace principals (`user_principal_id` set) are left out: they
    belong to the partner API (docs/partner-api.md), not to the account's own list.
    """
    return Subscription.objects.owned_by(user).select_related("bot").order_by("-started_at", "-pk")


def subscription_own_get(*, user: User, pk: int) -> Subscription:
    """One of subscription_own_list; raises Http404 for anyone else's and for a principal's."""
    return get_object_or_404(subscription_own_list(user=user), pk=pk)


def bot_subscription_totals(*, bot_ids: list[int]) -> dict[int, int]:
    """{bot id: its subscriptions ever, any status} for `bot_ids` (missing ids have none): one query."""
    return dict(
        Subscription.objects.filter(bot_id__in=bot_ids)
        .order_by()
        .values("bot_id")
        .annotate(count=Count("pk"))
        .values_list("bot_id", "count")
    )
