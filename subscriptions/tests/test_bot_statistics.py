"""The nightly refresh of bot statistics and the daily bot_performance snapshot."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bots.models import Bot, BotPerformance
from bots.tests.factories import ApprovedBotFactory, BotReviewFactory
from subscriptions.bot_statistics import bot_statistics_refresh, max_drawdown
from subscriptions.tests.factories import ClosedTradeFactory, PerformanceLogFactory, SubscriptionFactory, TradeFactory
from trading.tests.factories import PaperAccountFactory

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
DAY_START = datetime(2025, 3, 10, tzinfo=UTC)


# --- statistics and the daily snapshot ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_counts_only_active_subscribers_and_averages_ratings_to_two_places():
    rated, unrated, thirds = ApprovedBotFactory(), ApprovedBotFactory(), ApprovedBotFactory()
    BotReviewFactory(bot=rated, rating=4)
    BotReviewFactory(bot=rated, rating=5)
    for rating in (5, 5, 4):  # 4.666… rounds half-up to 4.67
        BotReviewFactory(bot=thirds, rating=rating)
    SubscriptionFactory.create_batch(2, bot=rated)
    for status in ("PAUSED", "CANCELLED", "EXPIRED", "ERROR"):
        SubscriptionFactory(bot=rated, status=status)

    assert bot_statistics_refresh(today=TODAY) == 3

    rated.refresh_from_db()
    unrated.refresh_from_db()
    thirds.refresh_from_db()
    assert (rated.total_subscribers, rated.average_rating, rated.total_reviews) == (2, Decimal("4.50"), 2)
    assert (unrated.total_subscribers, unrated.average_rating, unrated.total_reviews) == (0, Decimal("0.00"), 0)
    assert (thirds.average_rating, thirds.total_reviews) == (Decimal("4.67"), 3)


@pytest.mark.django_db
def test_it_brings_stale_statistics_back_down():
    bot = ApprovedBotFactory()
    Bot.objects.filter(pk=bot.pk).update(total_subscribers=9, average_rating=Decimal("3.10"), total_reviews=4)

    bot_statistics_refresh(today=TODAY)

    bot.refresh_from_db()
    assert (bot.total_subscribers, bot.average_rating, bot.total_reviews) == (0, Decimal("0.00"), 0)


def _bots_with_activity(count):
    for _ in range(count):
        bot = ApprovedBotFactory()
        BotReviewFactory(bot=bot, rating=3)
        subscription = SubscriptionFactory(bot=bot)
        PaperAccountFactory(subscription=subscription)
        PerformanceLogFactory(subscription=subscription, timestamp=DAY_START - timedelta(hours=1))
        ClosedTradeFactory(subscription=subscription, exit_time=DAY_START + timedelta(hours=2))
        TradeFactory(subscription=subscription, entry_time=DAY_START - timedelta(hours=3))


@pytest.mark.django_db
def test_it_refreshes_statistics_in_a_number_of_queries_that_does_not_grow_with_the_bots():
    _bots_with_activity(3)
    with CaptureQueriesContext(connection) as few:
        assert bot_statistics_refresh(today=TODAY) == 3
    Bot.objects.update(total_subscribers=0)  # so every bot is written again, not only the new ones
    _bots_with_activity(40)
    with CaptureQueriesContext(connection) as many:
        assert bot_statistics_refresh(today=TODAY) == 43

    assert len(many.captured_queries) == len(few.captured_queries) <= 12
    assert BotPerformance.objects.filter(date=TODAY).count() == 43
    assert set(Bot.objects.values_list("total_subscribers", "average_rating", "total_reviews")) == {
        (1, Decimal("3.00"), 1)
    }


@pytest.mark.django_db
def test_it_writes_the_days_snapshot_from_the_trades_closed_that_day():
    bot, quiet = ApprovedBotFactory(), ApprovedBotFactory()
    paper = SubscriptionFactory(bot=bot, is_paper=True)
    PaperAccountFactory(subscription=paper, starting_balance=Decimal("10000"))
    SubscriptionFactory(bot=bot, status="PAUSED")
    for hour, pnl in ((1, "100"), (2, "-300"), (3, "-200"), (4, "50")):
        ClosedTradeFactory(subscription=paper, pnl=Decimal(pnl), exit_time=DAY_START + timedelta(hours=hour))
    # Not today's: closed yesterday, closed tomorrow, still open.
    ClosedTradeFactory(subscription=paper, pnl=Decimal("-5000"), exit_time=DAY_START - timedelta(seconds=1))
    ClosedTradeFactory(subscription=paper, pnl=Decimal("-5000"), exit_time=DAY_START + timedelta(days=1))
    TradeFactory(subscription=paper, entry_time=DAY_START + timedelta(hours=5))

    bot_statistics_refresh(today=TODAY)

    day = BotPerformance.objects.get(bot=bot, date=TODAY)
    assert (day.total_trades, day.winning_trades, day.total_pnl) == (4, 2, Decimal("-350"))
    assert day.win_rate == Decimal("0.5000")
    # Equity 10000 -> 10100 (peak) -> 9800 -> 9600 (trough) -> 9650: (10100 - 9600) / 10100 = 0.04950…
    assert day.max_drawdown == Decimal("0.0495")
    assert day.active_subscriptions == 1
    empty = BotPerformance.objects.get(bot=quiet, date=TODAY)
    assert (empty.total_trades, empty.total_pnl, empty.win_rate, empty.max_drawdown) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_it_measures_drawdown_against_cash_and_open_positions_at_the_start_of_the_day():
    bot = ApprovedBotFactory()
    live = SubscriptionFactory(bot=bot)
    PerformanceLogFactory(subscription=live, balance=Decimal("1000"), timestamp=DAY_START - timedelta(days=2))
    PerformanceLogFactory(subscription=live, balance=Decimal("4000"), timestamp=DAY_START - timedelta(hours=1))
    PerformanceLogFactory(subscription=live, balance=Decimal("99999"), timestamp=DAY_START + timedelta(hours=1))
    # Bought yesterday (0.1 at 30000, fee 3), sold today at a loss: 4000 cash + 3003 at cost = 7003 of equity.
    ClosedTradeFactory(
        subscription=live,
        quantity=Decimal("0.1"),
        entry_price=Decimal("30000"),
        entry_fee=Decimal("3"),
        entry_time=DAY_START - timedelta(hours=2),
        pnl=Decimal("-1400.60"),
        exit_time=DAY_START + timedelta(hours=6),
    )

    bot_statistics_refresh(today=TODAY)

    day = BotPerformance.objects.get(bot=bot, date=TODAY)
    assert day.max_drawdown == Decimal("0.2000")
    assert day.total_pnl == Decimal("-1400.60") and day.win_rate == 0


@pytest.mark.django_db
def test_it_counts_a_partly_sold_position_once_at_its_whole_cost():
    bot = ApprovedBotFactory()
    live = SubscriptionFactory(bot=bot)
    PerformanceLogFactory(subscription=live, balance=Decimal("0"), timestamp=DAY_START - timedelta(hours=1))
    bought = DAY_START - timedelta(hours=5)
    position = {"entry_price": Decimal("30000"), "entry_time": bought, "entry_fee": Decimal("1.5")}
    # One buy of 0.3, sold in three parts: yesterday (gone by 00:00), today at a loss, and still open.
    ClosedTradeFactory(subscription=live, quantity=Decimal("0.1"), exit_time=bought + timedelta(hours=1), **position)
    ClosedTradeFactory(
        subscription=live,
        quantity=Decimal("0.1"),
        pnl=Decimal("-600.30"),
        exit_time=DAY_START + timedelta(hours=3),
        **position,
    )
    TradeFactory(subscription=live, quantity=Decimal("0.1"), **position)

    bot_statistics_refresh(today=TODAY)

    # Equity at 00:00: 0 cash + two parts of 0.1 at 3001.50 each = 6003; the loss is 600.30 of it.
    assert BotPerformance.objects.get(bot=bot).max_drawdown == Decimal("0.1000")


@pytest.mark.django_db
def test_it_overwrites_the_days_snapshot_when_run_again():
    bot = ApprovedBotFactory()
    subscription = SubscriptionFactory(bot=bot)
    ClosedTradeFactory(subscription=subscription, pnl=Decimal("10"), exit_time=DAY_START + timedelta(hours=1))
    bot_statistics_refresh(today=TODAY)
    ClosedTradeFactory(subscription=subscription, pnl=Decimal("-4"), exit_time=DAY_START + timedelta(hours=2))

    bot_statistics_refresh(today=TODAY)

    day = BotPerformance.objects.get(bot=bot)
    assert (day.total_trades, day.winning_trades, day.total_pnl, day.win_rate) == (2, 1, Decimal("6"), Decimal("0.5"))


def test_it_caps_drawdown_at_all_of_the_equity_and_ignores_unknown_equity():
    assert max_drawdown(equity=Decimal("100"), pnls=[Decimal("-150")]) == Decimal("1")
    assert max_drawdown(equity=Decimal("100"), pnls=[Decimal("10"), Decimal("20")]) == 0
    assert max_drawdown(equity=Decimal("0"), pnls=[Decimal("-5")]) == 0
    assert max_drawdown(equity=Decimal("200"), pnls=[]) == 0
