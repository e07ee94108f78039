"""The catalog page: filters, sorting, the 30-day return, retired bots, pagination, and a bounded query count."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from bots.models import Bot
from bots.tests.factories import ApprovedBotFactory, BotCategoryFactory, BotFactory, PaidBotFactory
from catalog.selectors import bot_catalog
from subscriptions.models import Subscription
from subscriptions.tests.factories import ClosedTradeFactory, SubscriptionFactory


@pytest.fixture(autouse=True)
def every_result_published(settings):
    # These tests check the figures on one or two subscriptions; the privacy threshold (publish only groups of at
    # least SUBSCRIBER_OUTCOMES_MIN_GROUP) has its own tests in marketplace/tests/security/test_aggregate_outcomes.py.
    settings.SUBSCRIBER_OUTCOMES_MIN_GROUP = 1

URL = reverse("bots:catalog")


def _names(response) -> list[str]:
    return [bot.name for bot in response.context["page"]]


def _closed(subscription, *, pnl, cost, days_ago=1):
    """A closed trade whose cost (quantity × entry price + entry fee) is `cost` and net P&L is `pnl`."""
    return ClosedTradeFactory(
        subscription=subscription,
        quantity=Decimal("1"),
        entry_price=Decimal(cost),
        entry_fee=Decimal("0"),
        pnl=Decimal(pnl),
        exit_time=timezone.now() - timedelta(days=days_ago),
    )


@pytest.mark.django_db
def test_it_lists_only_approved_bots_to_anyone(client):
    ApprovedBotFactory(name="Approved one")
    BotFactory(name="Pending one")
    BotFactory(name="Rejected one", status=Bot.Status.REJECTED)
    ApprovedBotFactory(name="Retired one", status=Bot.Status.ARCHIVED)
    response = client.get(URL)
    assert response.status_code == 200
    assert _names(response) == ["Approved one"]


@pytest.mark.django_db
def test_it_keeps_retired_bots_findable(client):
    ApprovedBotFactory(name="Approved one")
    ApprovedBotFactory(name="Retired one", status=Bot.Status.ARCHIVED)
    response = client.get(URL, {"include_retired": "on"})
    assert sorted(_names(response)) == ["Approved one", "Retired one"]
    assert "Retired" in response.content.decode()


@pytest.mark.django_db
def test_it_searches_name_and_description(client):
    ApprovedBotFactory(name="Momentum rider", description="Trend following.")
    ApprovedBotFactory(name="Quiet one", description="Buys RSI dips.")
    ApprovedBotFactory(name="Other", description="Nothing.")
    assert _names(client.get(URL, {"q": "momentum"})) == ["Momentum rider"]
    assert _names(client.get(URL, {"q": "rsi dips"})) == ["Quiet one"]


@pytest.mark.django_db
def test_it_filters_by_category_type_price_and_exchange(client, alice):
    trend = BotCategoryFactory(slug="trend", name="Trend")
    free = ApprovedBotFactory(name="Free trend", category=trend, bot_type=Bot.Type.TECHNICAL)
    PaidBotFactory(name="Paid ML", bot_type=Bot.Type.ML, price_per_month=Decimal("49.00"))
    PaidBotFactory(name="Cheap paid", price_per_month=Decimal("5.00"))
    SubscriptionFactory(bot=free, user=alice, exchange_type="KRAKEN")
    assert _names(client.get(URL, {"category": "trend"})) == ["Free trend"]
    assert _names(client.get(URL, {"bot_type": "ML"})) == ["Paid ML"]
    assert _names(client.get(URL, {"pricing": "free"})) == ["Free trend"]
    assert sorted(_names(client.get(URL, {"pricing": "paid"}))) == ["Cheap paid", "Paid ML"]
    assert _names(client.get(URL, {"price_min": "10", "price_max": "60"})) == ["Paid ML"]
    assert _names(client.get(URL, {"exchange": "KRAKEN"})) == ["Free trend"]
    assert _names(client.get(URL, {"exchange": "BYBIT"})) == []


@pytest.mark.django_db
def test_it_ignores_bad_filter_input_and_says_so(client):
    ApprovedBotFactory(name="Only")
    response = client.get(URL, {"price_min": "lots", "sort": "chaos", "category": "nope"})
    assert response.status_code == 200
    assert _names(response) == ["Only"]
    assert response.context["filter"].form.errors


@pytest.mark.django_db
def test_it_computes_the_30_day_return_from_closed_trades(alice, bob):
    bot = ApprovedBotFactory()
    paper = SubscriptionFactory(bot=bot, user=alice, is_paper=True)
    live = SubscriptionFactory(bot=bot, user=bob)
    _closed(paper, pnl="30", cost="1000")
    _closed(live, pnl="-10", cost="1000")
    _closed(live, pnl="500", cost="1000", days_ago=31)  # outside the window
    row = bot_catalog(params={}).qs.get(pk=bot.pk)
    assert row.pnl_30d == Decimal("20")
    assert row.cost_30d == Decimal("2000")
    assert row.return_30d == pytest.approx(0.01)
    quiet = ApprovedBotFactory()
    assert bot_catalog(params={}).qs.get(pk=quiet.pk).return_30d is None


@pytest.mark.django_db
def test_it_sorts_by_return_rating_subscribers_newest_and_price(client, alice, bob):
    winner = ApprovedBotFactory(name="Winner", average_rating=Decimal("3.00"), price_per_month=Decimal("9"))
    loser = ApprovedBotFactory(name="Loser", average_rating=Decimal("4.50"), price_per_month=Decimal("1"))
    idle = ApprovedBotFactory(name="Idle", average_rating=Decimal("1.00"), price_per_month=Decimal("5"))
    _closed(SubscriptionFactory(bot=winner, user=alice), pnl="50", cost="1000")
    _closed(SubscriptionFactory(bot=loser, user=alice), pnl="-50", cost="1000")
    SubscriptionFactory(bot=loser, user=bob)
    SubscriptionFactory(bot=loser, user=bob, status=Subscription.Status.CANCELLED)
    Bot.objects.filter(pk=idle.pk).update(approved_at=timezone.now() + timedelta(days=1))
    assert _names(client.get(URL, {"sort": "return"})) == ["Winner", "Loser", "Idle"]
    assert _names(client.get(URL, {"sort": "rating"})) == ["Loser", "Winner", "Idle"]
    assert _names(client.get(URL, {"sort": "subscribers"}))[0] == "Loser"
    assert _names(client.get(URL, {"sort": "newest"}))[0] == "Idle"
    assert _names(client.get(URL, {"sort": "price"})) == ["Loser", "Idle", "Winner"]
    assert _names(client.get(URL, {"sort": "-price"})) == ["Winner", "Idle", "Loser"]
    response = client.get(URL, {"sort": "subscribers"})
    assert response.context["page"][0].active_subscribers == 2


@pytest.mark.django_db
def test_it_paginates_and_keeps_the_filters_in_the_links(client):
    for n in range(15):
        ApprovedBotFactory(name=f"Bot {n:02d}", description="grid")
    response = client.get(URL, {"q": "grid", "sort": "price"})
    assert len(response.context["page"]) == 12
    assert "?q=grid&amp;sort=price&amp;page=2" in response.content.decode()
    assert len(client.get(URL, {"q": "grid", "sort": "price", "page": 2}).context["page"]) == 3
    assert len(client.get(URL, {"page": "999"}).context["page"]) == 3  # past the end: the last page


@pytest.mark.django_db
def test_it_shows_a_helpful_empty_state(client):
    response = client.get(URL, {"q": "nothing matches this"})
    assert "No bot matches these filters" in response.content.decode()


def _populate(bots: int, trades_per_bot: int, owner) -> None:
    for n in range(bots):
        bot = ApprovedBotFactory(name=f"Bot {n}", category=BotCategoryFactory())
        subscription = SubscriptionFactory(bot=bot, user=owner)
        for _ in range(trades_per_bot):
            _closed(subscription, pnl="1", cost="100")


@pytest.mark.django_db
def test_it_lists_with_a_query_count_that_does_not_grow(client, alice, django_assert_max_num_queries):
    """The catalog: a count, the page (annotations included) and the category choices, with few or many rows."""
    _populate(3, 1, alice)
    with django_assert_max_num_queries(4) as few:
        response = client.get(URL, {"sort": "return"})
    assert len(response.context["page"]) == 3
    _populate(20, 5, alice)
    with django_assert_max_num_queries(4) as many:
        response = client.get(URL, {"sort": "return", "exchange": "BINANCE", "q": "Bot"})
    assert len(response.context["page"]) == 12
    assert len(many.captured_queries) == len(few.captured_queries)
