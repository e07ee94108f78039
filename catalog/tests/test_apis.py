"""The public catalog endpoints under /api/v1/: anyone may read them, queries do not grow with rows."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bots.models import Bot
from bots.tests.factories import (
    ApprovedBotFactory,
    BotCategoryFactory,
    BotFactory,
    BotReviewFactory,
    BotVersionFactory,
    PaidBotFactory,
)


@pytest.fixture(autouse=True)
def every_result_published(settings):
    # These tests check the figures on one or two subscriptions; the privacy threshold (publish only groups of at
    # least SUBSCRIBER_OUTCOMES_MIN_GROUP) has its own tests in marketplace/tests/security/test_aggregate_outcomes.py.
    settings.SUBSCRIBER_OUTCOMES_MIN_GROUP = 1


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # The throttles count in the cache, which outlives a test.
    cache.clear()


@pytest.mark.django_db
def test_it_lists_categories_to_anyone(client):
    BotCategoryFactory(name="Trend", slug="trend")
    BotCategoryFactory(name="Arbitrage", slug="arbitrage")
    response = client.get(reverse("api:category-list"))
    assert response.status_code == 200
    assert [row["slug"] for row in response.json()["results"]] == ["arbitrage", "trend"]


@pytest.mark.django_db
def test_it_lists_only_approved_bots_with_their_catalog_statistics(client, dev):
    approved = ApprovedBotFactory(name="Crossing", developer=dev, average_rating=Decimal("4.50"))
    BotFactory(name="Pending")  # not public
    ApprovedBotFactory(name="Retired", status=Bot.Status.ARCHIVED)  # only with include_retired
    response = client.get(reverse("api:bot-list"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["slug"] == approved.slug and row["developer_name"] == "Quant Studio"
    assert row["average_rating"] == "4.50" and row["price_per_month"] == "0.00"
    assert row["active_subscribers"] == 0 and row["return_30d"] is None
    assert row["category"] == {"slug": approved.category.slug, "name": approved.category.name}

    retired = client.get(reverse("api:bot-list"), {"include_retired": "true"}).json()
    assert {row["name"] for row in retired["results"]} == {"Crossing", "Retired"}


@pytest.mark.django_db
def test_it_searches_filters_and_sorts_as_the_catalog(client):
    trend = BotCategoryFactory(slug="trend")
    ApprovedBotFactory(name="Momentum rider", category=trend)
    PaidBotFactory(name="Momentum pro", category=trend, price_per_month=Decimal("49.00"))
    PaidBotFactory(name="Grid", price_per_month=Decimal("9.00"))
    url = reverse("api:bot-list")

    def names(**params):
        return [row["name"] for row in client.get(url, params).json()["results"]]

    assert names(q="momentum", sort="price") == ["Momentum rider", "Momentum pro"]
    assert names(pricing="paid", sort="-price") == ["Momentum pro", "Grid"]
    assert names(category="trend", price_min="10") == ["Momentum pro"]


@pytest.mark.django_db
def test_it_refuses_a_bad_filter_value_in_the_error_shape(client):
    response = client.get(reverse("api:bot-list"), {"sort": "cheapest", "price_min": "-1"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"sort", "price_min"}
    assert all(isinstance(message, str) for messages in error["fields"].values() for message in messages)


@pytest.mark.django_db
def test_it_paginates_with_links_and_caps_the_page_size(client):
    ApprovedBotFactory.create_batch(3)
    body = client.get(reverse("api:bot-list"), {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/v1/bots/?page=2&page_size=2"
    second = client.get(body["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None and second["previous"]

    ApprovedBotFactory.create_batch(102)
    assert len(client.get(reverse("api:bot-list"), {"page_size": 1000}).json()["results"]) == 100


@pytest.mark.django_db
def test_it_answers_an_unknown_page_in_the_error_shape(client):
    response = client.get(reverse("api:bot-list"), {"page": 9})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("bots", [3, 30])
def test_it_lists_bots_in_a_fixed_number_of_queries(client, bots, django_assert_max_num_queries):
    ApprovedBotFactory.create_batch(bots)
    with django_assert_max_num_queries(2):  # the count, the page (developer and category joined)
        response = client.get(reverse("api:bot-list"), {"page_size": 100})
    assert len(response.json()["results"]) == bots


@pytest.mark.django_db
def test_its_query_counts_do_not_grow_with_rows(client):
    bot = ApprovedBotFactory()
    urls = [
        reverse("api:bot-list"),
        reverse("api:bot-detail", args=[bot.slug]),
        reverse("api:bot-review-list", args=[bot.slug]),
        reverse("api:category-list"),
    ]
    BotVersionFactory.create_batch(3, bot=bot)
    BotReviewFactory.create_batch(3, bot=bot)
    ApprovedBotFactory.create_batch(3)
    few = [_count_queries(client, url) for url in urls]
    BotVersionFactory.create_batch(27, bot=bot)
    BotReviewFactory.create_batch(27, bot=bot)
    ApprovedBotFactory.create_batch(27)
    assert [_count_queries(client, url) for url in urls] == few == [2, 4, 3, 2]


@pytest.mark.django_db
def test_it_shows_a_bot_with_its_versions_but_not_their_storage(client):
    bot = ApprovedBotFactory(slug="crossing")
    BotVersionFactory(bot=bot, version="1.0.0", changelog="First.")
    BotVersionFactory(bot=bot, version="1.1.0", changelog="Faster.", code_path="bots/secret/code.zip")
    response = client.get(reverse("api:bot-detail", args=["crossing"]))
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "crossing" and body["default_config"] == {"fast": 10}
    assert [version["version"] for version in body["versions"]] == ["1.1.0", "1.0.0"]
    assert set(body["versions"][0]) == {"version", "changelog", "validation_status", "created_at"}
    assert "bots/secret" not in response.content.decode()


@pytest.mark.django_db
def test_it_hides_a_pending_bot_from_everyone_but_its_developer(client, dev, alice):
    bot = BotFactory(slug="draft", developer=dev)
    url = reverse("api:bot-detail", args=[bot.slug])
    response = client.get(url)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
    client.force_login(alice)
    assert client.get(url).status_code == 404
    assert client.get(reverse("api:bot-review-list", args=[bot.slug])).status_code == 404
    client.force_login(dev)
    assert client.get(url).json()["status"] == "PENDING"


@pytest.mark.django_db
def test_it_lists_a_bots_reviews_without_their_authors(client, alice):
    bot = ApprovedBotFactory()
    BotReviewFactory(bot=bot, user=alice, rating=5, text="Great.")
    BotReviewFactory(rating=1)  # another bot's
    response = client.get(reverse("api:bot-review-list", args=[bot.slug]))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["results"][0]["rating"] == 5 and body["results"][0]["text"] == "Great."
    assert "alice" not in response.content.decode()


@pytest.mark.django_db
def test_it_refuses_writes_to_the_read_endpoints(client, alice):
    client.force_login(alice)
    response = client.post(reverse("api:bot-list"), {}, content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert Bot.objects.count() == 0


@pytest.mark.django_db
def test_it_shows_a_bots_backtest_and_daily_results(client):
    from pathlib import Path

    from django.conf import settings

    from bots.sdk import Candles
    from bots.tests.factories import BotPerformanceFactory
    from core.backtest import run_backtest
    from core.builtin.sma_crossover import SmaCrossover
    from marketplace.tests.pages import builtin_bot

    cache.clear()
    bot = builtin_bot("sma-crossover")
    BotPerformanceFactory(bot=bot, date="2026-11-01", total_trades=4, winning_trades=3)
    BotPerformanceFactory(bot=bot, date="2026-11-02", total_trades=6, winning_trades=3)
    # The snapshots summarize what subscriptions ran: one that traded (the fixture publishes groups of one).
    from subscriptions.tests.factories import ClosedTradeFactory, SubscriptionFactory

    ClosedTradeFactory(subscription=SubscriptionFactory(bot=bot))
    body = client.get(reverse("api:bot-detail", args=[bot.slug])).json()

    candles = Candles.from_csv(Path(settings.BASE_DIR) / "data" / "candles" / "binance" / "BTC_USDT-1h.csv")
    expected = run_backtest(SmaCrossover, candles, config=SmaCrossover.validate_config(None)).to_json()["stats"]
    assert body["backtest"]["market"] == "Binance BTC/USDT, 1h candles"
    assert body["backtest"]["stats"] == expected and expected["trades"] > 0
    assert [(day["date"], day["total_trades"]) for day in body["daily_performance"]] == [
        ("2026-11-01", 4),
        ("2026-11-02", 6),
    ]


@pytest.mark.django_db
def test_it_says_why_a_bot_without_a_runnable_version_has_no_backtest(client):
    bot = ApprovedBotFactory()
    body = client.get(reverse("api:bot-detail", args=[bot.slug])).json()
    assert body["backtest"]["stats"] is None
    assert body["backtest"]["unavailable"] == "No version of this bot has passed validation yet."
    assert body["daily_performance"] == []
