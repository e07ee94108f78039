"""Subscribers' money is published only in aggregates of at least settings.SUBSCRIBER_OUTCOMES_MIN_GROUP (5)
subscriptions: the bot page's per-mode record (capital, P&L, curve, statistics, distribution), the API's bot detail
(daily snapshots) and the catalog's 30-day P&L and return (page and API). With 1 or N-1 subscriptions nothing of
their money shows; with N the aggregates do.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bots.tests.factories import BotPerformanceFactory
from catalog.track_record import records_for_bot
from marketplace.tests.pages import builtin_bot, paper_subscription
from subscriptions.tests.factories import ClosedTradeFactory
from trading.models import PaperAccount

pytestmark = pytest.mark.django_db
N = settings.SUBSCRIBER_OUTCOMES_MIN_GROUP
# Amounts no other figure on the pages contains.
CAPITAL = Decimal("7777")
FIRST_PNL = Decimal("4321.5")


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def _subscribers(bot, count: int) -> None:
    """`count` paper subscriptions of different people, each with a closed trade an hour ago; the first made
    FIRST_PNL on CAPITAL."""
    for index in range(count):
        subscription = paper_subscription(UserFactory(), bot)
        PaperAccount.objects.create(subscription=subscription, starting_balance=CAPITAL, quote_balance=CAPITAL)
        exit_time = timezone.now() - timedelta(hours=1)
        ClosedTradeFactory(
            subscription=subscription,
            quantity=Decimal("1"),
            entry_price=Decimal("100"),
            entry_fee=Decimal("0"),
            entry_time=exit_time - timedelta(hours=1),
            exit_time=exit_time,
            pnl=FIRST_PNL if index == 0 else Decimal(index),
        )
    BotPerformanceFactory(bot=bot, date=timezone.now().date(), total_trades=count, total_pnl=FIRST_PNL)


def _money_shown(text: str) -> bool:
    return any(figure in text for figure in ("4321", "4,321", "7777", "7,777"))


def test_the_group_is_a_named_setting_of_several_subscribers():
    assert N >= 5


@pytest.mark.parametrize("count", [1, N - 1])
def test_it_withholds_a_small_groups_money_on_the_bot_page(client, count):
    bot = builtin_bot()
    _subscribers(bot, count)
    paper = records_for_bot(bot)["paper"]
    assert paper.withheld and paper.stats is None and paper.distribution is None
    assert paper.capital == 0 and paper.realized_pnl == 0 and paper.equity_curve == []
    response = client.get(reverse("bots:detail", args=[bot.slug]))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Fewer than {N} paper trading subscriptions have run this bot" in page
    assert "What its" not in page and not _money_shown(page)


@pytest.mark.parametrize("count", [1, N - 1])
def test_it_withholds_a_small_groups_money_in_the_api(client, count):
    bot = builtin_bot()
    _subscribers(bot, count)
    detail = client.get(reverse("api:bot-detail", args=[bot.slug]))
    assert detail.status_code == 200
    assert detail.json()["daily_performance"] == [] and not _money_shown(detail.content.decode())
    listed = client.get(reverse("api:bot-list")).json()["results"]
    row = next(row for row in listed if row["slug"] == bot.slug)
    assert row["pnl_30d"] is None and row["return_30d"] is None
    catalog = client.get(reverse("bots:catalog")).content.decode()
    assert "Too few subscribers to publish" in catalog and not _money_shown(catalog)


def test_it_publishes_the_aggregates_of_a_full_group(client):
    bot = builtin_bot()
    _subscribers(bot, N)
    paper = records_for_bot(bot)["paper"]
    assert not paper.withheld and paper.subscriptions == N
    assert paper.capital == CAPITAL * N
    assert paper.realized_pnl == FIRST_PNL + sum(Decimal(index) for index in range(1, N))
    assert paper.distribution.count == N and paper.stats is not None
    page = client.get(reverse("bots:detail", args=[bot.slug])).content.decode()
    assert f"What its {N} subscriptions got" in page
    detail = client.get(reverse("api:bot-detail", args=[bot.slug])).json()
    assert [day["total_trades"] for day in detail["daily_performance"]] == [N]
    row = next(row for row in client.get(reverse("api:bot-list")).json()["results"] if row["slug"] == bot.slug)
    assert Decimal(row["pnl_30d"]) == paper.realized_pnl and row["return_30d"] is not None


def test_it_counts_the_group_per_mode(client):
    # N paper subscriptions publish the paper record; one testnet subscription stays withheld.
    bot = builtin_bot()
    _subscribers(bot, N)
    live = paper_subscription(UserFactory(), bot, is_paper=False, network_type="testnet")
    ClosedTradeFactory(subscription=live, pnl=Decimal("999.25"), exit_time=timezone.now())
    records = records_for_bot(bot)
    assert not records["paper"].withheld and records["testnet"].withheld
    page = client.get(reverse("bots:detail", args=[bot.slug])).content.decode()
    assert f"Fewer than {N} live on testnet subscriptions" in page and "999.25" not in page
