"""Reads of the storefront: the catalog with its 30-day figures, what a bot's page shows of its subscribers'
results, reviews, and the developer portal's subscriber and revenue figures. They count subscriptions and their
trades, so they live above both bots and subscriptions."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from accounts.models import User
from bots.models import Bot, BotPerformance, BotReview, BotVersion
from bots.selectors import PUBLIC_STATUSES
from catalog.filters import BotCatalogFilter
from catalog.track_record import min_group
from subscriptions.models import PerformanceLog, Subscription, Trade

MONEY = DecimalField(max_digits=30, decimal_places=8)


def bot_catalog_queryset(*, now: datetime | None = None) -> QuerySet[Bot]:
    """Approved and archived bots, each annotated in the same query (no per-row queries, whatever the counts):

    - `active_subscribers`: its ACTIVE subscriptions now;
    - `pnl_30d`, `cost_30d`, `return_30d`: over the trades of all its subscriptions (paper and exchange) CLOSED in
      the 30 days before `now`: the sum of their net `pnl`, the sum of their cost (quantity × entry price + entry
      fee), and pnl / cost (a float fraction; None without such trades). See docs/statistics.md.
      All three are None unless at least settings.SUBSCRIBER_OUTCOMES_MIN_GROUP subscriptions closed those trades
      (`traders_30d`): with fewer, the sum would be one subscriber's money.
    """
    now = now or timezone.now()
    closed = (
        Trade.objects.filter(
            subscription__bot=OuterRef("pk"), status=Trade.Status.CLOSED, exit_time__gte=now - timedelta(days=30)
        )
        .order_by()
        .values("subscription__bot")
    )
    pnl_30d = Subquery(closed.annotate(total=Sum("pnl")).values("total")[:1], output_field=MONEY)
    cost_30d = Subquery(
        closed.annotate(total=Sum(F("quantity") * F("entry_price") + F("entry_fee"), output_field=MONEY)).values(
            "total"
        )[:1],
        output_field=MONEY,
    )
    active = (
        Subscription.objects.filter(bot=OuterRef("pk"), status=Subscription.Status.ACTIVE)
        .order_by()
        .values("bot")
        .annotate(count=Count("pk"))
        .values("count")[:1]
    )
    traders = Subquery(
        closed.annotate(count=Count("subscription", distinct=True)).values("count")[:1], output_field=IntegerField()
    )
    published = Q(traders_30d__gte=min_group())
    return (
        Bot.objects.filter(status__in=PUBLIC_STATUSES)
        .select_related("developer", "category")
        .annotate(
            traders_30d=Coalesce(traders, 0),
            all_pnl_30d=pnl_30d,
            all_cost_30d=cost_30d,
            active_subscribers=Coalesce(Subquery(active, output_field=IntegerField()), 0),
        )
        .annotate(
            pnl_30d=Case(When(published, then=F("all_pnl_30d")), default=None, output_field=MONEY),
            cost_30d=Case(When(published, then=F("all_cost_30d")), default=None, output_field=MONEY),
        )
        .annotate(
            # A float ratio: SQLite would divide two whole decimals as integers (20 / 2000 = 0).
            return_30d=Case(
                When(cost_30d__gt=0, then=Cast("pnl_30d", FloatField()) / Cast("cost_30d", FloatField())),
                default=None,
                output_field=FloatField(),
            )
        )
    )


def bot_catalog(*, params: Mapping, now: datetime | None = None) -> BotCatalogFilter:
    """The catalog filtered and sorted by `params` (the page's GET parameters). `.qs` is the bots, `.form` the form.

    Only APPROVED bots unless `include_retired` (then ARCHIVED ones too, with their full record).
    """
    return BotCatalogFilter(dict(params.items()) if params else {}, queryset=bot_catalog_queryset(now=now))


def bot_subscriptions_that_ran(*, bot: Bot) -> int:
    """How many of the bot's subscriptions (any mode, any status) ever traded or logged a decision."""
    ran = Trade.objects.filter(subscription=OuterRef("pk")).values("pk")[:1]
    logged = PerformanceLog.objects.filter(subscription=OuterRef("pk")).values("pk")[:1]
    return Subscription.objects.filter(bot=bot).filter(Exists(ran) | Exists(logged)).count()


def bot_recent_performance(*, bot: Bot, days: int = 30) -> list[BotPerformance]:
    """The bot's last `days` daily snapshots (subscriptions.bot_statistics.bot_statistics_refresh), oldest first;
    none while fewer than settings.SUBSCRIBER_OUTCOMES_MIN_GROUP of its subscriptions ran (a day's P&L would be one
    person's)."""
    if bot_subscriptions_that_ran(bot=bot) < min_group():
        return []
    return list(reversed(BotPerformance.objects.filter(bot=bot).order_by("-date")[:days]))


def bot_reviews(*, bot: Bot) -> QuerySet[BotReview]:
    return BotReview.objects.filter(bot=bot).select_related("user").order_by("-updated_at", "-pk")


def bot_review_of(*, bot: Bot, user) -> BotReview | None:
    if not user.is_authenticated:
        return None
    return BotReview.objects.filter(bot=bot, user=user).first()


def user_may_review(*, bot: Bot, user) -> bool:
    """Whether `user` may review `bot`: they have or had a subscription to it, and it is not their own bot."""
    if not user.is_authenticated or user.pk == bot.developer_id:
        return False
    return Subscription.objects.filter(bot=bot, user=user).exists()


def review_own_list(*, user: User) -> QuerySet[BotReview]:
    """The reviews `user` wrote, most recently edited first, with their bots joined (one query per page)."""
    return BotReview.objects.filter(user=user).select_related("bot").order_by("-updated_at", "-pk")


# --- The developer portal's figures ---------------------------------------------------------------------------------

PLATFORM_COMMISSION_RATE = Decimal("0.10")
CENTS = Decimal("0.01")


def developer_bots(*, developer) -> list[Bot]:
    """`developer`'s bots, newest first, in one query whatever their number, each with:

    - `newest_version_id`, `newest_version`, `newest_validation_status`: its newest upload (None without one);
    - `active_subscribers`: ACTIVE subscriptions; `paid_subscribers`: those of them that are not trials;
    - `monthly_revenue`: paid_subscribers × price_per_month × (1 − the platform's 10 % commission), in cents.
    """
    newest = BotVersion.objects.filter(bot=OuterRef("pk")).order_by("-created_at", "-pk")

    def active_count(**extra):
        return Coalesce(
            Subquery(
                Subscription.objects.filter(bot=OuterRef("pk"), status=Subscription.Status.ACTIVE, **extra)
                .order_by()
                .values("bot")
                .annotate(count=Count("pk"))
                .values("count")[:1],
                output_field=IntegerField(),
            ),
            0,
        )

    bots = list(
        Bot.objects.filter(developer=developer)
        .select_related("category")
        .annotate(
            newest_version_id=Subquery(newest.values("pk")[:1]),
            newest_version=Subquery(newest.values("version")[:1]),
            newest_validation_status=Subquery(newest.values("validation_status")[:1]),
            active_subscribers=active_count(),
            paid_subscribers=active_count(is_trial=False),
        )
        .order_by("-created_at", "-pk")
    )
    for bot in bots:
        # In Python, from Decimals: SQLite would multiply the money as floats.
        gross = Decimal(bot.paid_subscribers) * bot.price_per_month
        bot.monthly_revenue = (gross * (1 - PLATFORM_COMMISSION_RATE)).quantize(CENTS)
    return bots
