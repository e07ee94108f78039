"""The nightly refresh of every bot's denormalised statistics and its daily `bot_performance` snapshot.

It writes bots' rows but reads subscriptions and their trades, so it lives in the lowest app that sees all three.
A service only: trading.tasks wraps it in the beat task `trading.bot_statistics_refresh`. A "day" is a UTC calendar
day, the candles' clock.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from bots.models import Bot, BotPerformance, BotReview
from subscriptions.models import PerformanceLog, Subscription, Trade

S = Subscription.Status

RATING_PLACES = Decimal("0.01")
FRACTION_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.00000001")
# Rows per bulk UPDATE / INSERT: keeps each statement well under the databases' placeholder limits.
WRITE_BATCH_SIZE = 500

STATISTIC_FIELDS = ["total_subscribers", "average_rating", "total_reviews"]
SNAPSHOT_FIELDS = [
    "total_trades",
    "winning_trades",
    "total_pnl",
    "win_rate",
    "max_drawdown",
    "active_subscriptions",
]


def bot_statistics_refresh(*, today: date) -> int:
    """Recompute every bot's denormalised statistics and write its `bot_performance` row for `today`.

    Statistics: `total_subscribers` = its ACTIVE subscriptions; `total_reviews` = its reviews; `average_rating` =
    their mean rating, rounded half-up to 2 places, 0 without reviews. Only bots whose numbers changed are
    written (bulk_update, which leaves `updated_at` alone).

    Snapshot for `today` (one row per bot and date, created or overwritten, so a rerun the same day replaces it),
    over the trades CLOSED during that UTC day (`exit_time` in [today 00:00, tomorrow 00:00)) across all the
    bot's subscriptions, paper and live:
    - `total_trades`, `winning_trades` (pnl > 0), `total_pnl` (the sum of their net `pnl`, exact Decimal);
    - `win_rate` = winning_trades / total_trades, a fraction rounded half-up to 4 places, 0 without trades;
    - `max_drawdown`, a fraction rounded half-up to 4 places: let E be the summed equity, at today 00:00 UTC, of
      the bot's subscriptions that closed a trade today, where one subscription's equity is its cash (the
      `balance` of its newest performance log before 00:00, or its paper account's `starting_balance` when it
      has none yet) plus its positions open at 00:00 at cost (quantity × entry_price + entry_fee). Walk the
      day's closed trades in (exit_time, id) order: equity_k = E + the sum of the first k pnls, peak_k = the
      highest equity_0..k, and max_drawdown = max over k of (peak_k − equity_k) / peak_k, capped at 1. It is 0
      when there are no trades or E is not positive (equity unknown). Live subscriptions of one owner share an
      exchange account, so their cash overlaps: treat the figure as an indicator, not an account statement;
    - `active_subscriptions` = the bot's ACTIVE subscriptions now.

    Queries: eight, whatever the number of bots, plus one more UPDATE and one more INSERT per WRITE_BATCH_SIZE
    bots (SQLite takes fewer rows per statement: Django caps it at 999 parameters). Two workers running it at once
    write the same numbers; the last one wins.
    Returns how many bots were refreshed (all of them).
    """
    with transaction.atomic():
        active = dict(
            Subscription.objects.filter(status=S.ACTIVE)
            .order_by()
            .values("bot_id")
            .annotate(count=Count("pk"))
            .values_list("bot_id", "count")
        )
        reviews = {
            bot_id: (count, rating_sum)
            for bot_id, count, rating_sum in BotReview.objects.order_by()
            .values("bot_id")
            .annotate(count=Count("pk"), rating_sum=Sum("rating"))
            .values_list("bot_id", "count", "rating_sum")
        }
        bots = list(Bot.objects.only("pk", *STATISTIC_FIELDS).order_by("pk"))
        changed = []
        for bot in bots:
            review_count, rating_sum = reviews.get(bot.pk, (0, 0))
            fresh = (active.get(bot.pk, 0), _average_rating(rating_sum, review_count), review_count)
            if fresh != (bot.total_subscribers, bot.average_rating, bot.total_reviews):
                bot.total_subscribers, bot.average_rating, bot.total_reviews = fresh
                changed.append(bot)
        Bot.objects.bulk_update(changed, STATISTIC_FIELDS, batch_size=WRITE_BATCH_SIZE)

        snapshots = _daily_snapshots(bot_ids=[bot.pk for bot in bots], active=active, today=today)
        # An upsert on (bot, date): what update_or_create does per row, in one statement per batch. MySQL's
        # ON DUPLICATE KEY UPDATE takes no conflict target (the unique key decides); SQLite and PostgreSQL need one.
        target = {"unique_fields": ["bot", "date"]} if connection.features.supports_update_conflicts_with_target else {}
        BotPerformance.objects.bulk_create(
            snapshots, batch_size=WRITE_BATCH_SIZE, update_conflicts=True, update_fields=SNAPSHOT_FIELDS, **target
        )
    return len(bots)


def _average_rating(rating_sum: int, review_count: int) -> Decimal:
    # From the integer sum, not the database's AVG: AVG of integers comes back as a float on some backends.
    if not review_count:
        return Decimal("0.00")
    return (Decimal(rating_sum) / Decimal(review_count)).quantize(RATING_PLACES, rounding=ROUND_HALF_UP)


def _fraction(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(FRACTION_PLACES, rounding=ROUND_HALF_UP)


def _daily_snapshots(*, bot_ids: list[int], active: dict[int, int], today: date) -> list[BotPerformance]:
    day_start = datetime.combine(today, time.min, tzinfo=UTC)
    closed_today = Trade.objects.filter(
        status=Trade.Status.CLOSED, exit_time__gte=day_start, exit_time__lt=day_start + timedelta(days=1)
    )
    closed = list(
        closed_today.order_by("exit_time", "pk").values_list("subscription__bot_id", "subscription_id", "pnl")
    )
    # As a subquery, not a list of ids: a busy day must not hit the databases' limits on query parameters.
    equity = _equity_at(day_start, closed_today.values("subscription_id")) if closed else {}
    pnls_by_bot: dict[int, list[Decimal]] = defaultdict(list)
    subscriptions_by_bot: dict[int, set[int]] = defaultdict(set)
    for bot_id, subscription_id, pnl in closed:
        pnls_by_bot[bot_id].append(pnl or Decimal(0))
        subscriptions_by_bot[bot_id].add(subscription_id)

    snapshots = []
    for bot_id in bot_ids:
        pnls = pnls_by_bot.get(bot_id, [])
        winning = sum(1 for pnl in pnls if pnl > 0)
        bot_equity = sum((equity.get(pk, Decimal(0)) for pk in subscriptions_by_bot.get(bot_id, ())), Decimal(0))
        snapshots.append(
            BotPerformance(
                bot_id=bot_id,
                date=today,
                total_trades=len(pnls),
                winning_trades=winning,
                total_pnl=sum(pnls, Decimal(0)).quantize(MONEY_PLACES),
                win_rate=_fraction(winning, len(pnls)),
                max_drawdown=max_drawdown(equity=bot_equity, pnls=pnls),
                active_subscriptions=active.get(bot_id, 0),
            )
        )
    return snapshots


def _equity_at(moment: datetime, subscription_ids: QuerySet) -> dict[int, Decimal]:
    """Each subscription's equity at `moment`: cash plus open positions at cost (see bot_statistics_refresh)."""
    money = DecimalField(max_digits=20, decimal_places=8)
    newest_balance = (
        PerformanceLog.objects.filter(subscription=OuterRef("pk"), timestamp__lt=moment)
        .order_by("-timestamp", "-pk")
        .values("balance")[:1]
    )
    equity = {
        pk: cash or Decimal(0)
        for pk, cash in Subscription.objects.filter(pk__in=subscription_ids)
        .annotate(cash=Coalesce(Subquery(newest_balance), F("paper_account__starting_balance"), output_field=money))
        .values_list("pk", "cash")
    }
    # Open at `moment`: entered before it and not closed before it. A partial exit splits a trade into a closed row
    # and the open remainder, both with the original entry time, so together they count the whole position.
    open_positions = Trade.objects.filter(subscription_id__in=subscription_ids, entry_time__lt=moment).filter(
        Q(exit_time__isnull=True) | Q(exit_time__gte=moment)
    )
    # Multiplied here, in Decimal: SQLite would multiply these columns as floats.
    for pk, quantity, entry_price, entry_fee in open_positions.values_list(
        "subscription_id", "quantity", "entry_price", "entry_fee"
    ):
        equity[pk] += quantity * entry_price + entry_fee
    return equity


def max_drawdown(*, equity: Decimal, pnls: list[Decimal]) -> Decimal:
    """The deepest fall from a running peak of `equity` plus the cumulative `pnls`, as a fraction of that peak
    (0 to 1, 4 places, half-up). 0 when `equity` is not positive: a fraction of an unknown equity means nothing."""
    if equity <= 0:
        return Decimal(0)
    value = peak = equity
    deepest = Decimal(0)
    for pnl in pnls:
        value += pnl
        peak = max(peak, value)
        # peak >= equity > 0, so the division is safe.
        deepest = max(deepest, (peak - value) / peak)
    return min(deepest, Decimal(1)).quantize(FRACTION_PLACES, rounding=ROUND_HALF_UP)
