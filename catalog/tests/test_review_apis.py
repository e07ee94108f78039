"""Reviews through the API: written by subscribers only, on the same URL as the public list; one's own list."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.services import user_api_key_create
from bots.models import BotReview
from bots.tests.factories import ApprovedBotFactory, BotFactory, BotReviewFactory
from catalog.services import REVIEW_TEXT_MAX
from subscriptions.tests.factories import SubscriptionFactory

OWN_REVIEWS = reverse("api:review-list")


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # The throttles count in the cache, which outlives a test.
    cache.clear()


@pytest.fixture
def bot(dev):
    return ApprovedBotFactory(developer=dev, slug="crossing", name="Crossing")


@pytest.fixture
def alice_client(client, alice, bot):
    """alice has (had) a subscription to the bot: she may review it."""
    SubscriptionFactory(user=alice, bot=bot, status="CANCELLED")
    client.force_login(alice)
    return client


def reviews_url(bot) -> str:
    return reverse("api:bot-review-list", args=[bot.slug])


@pytest.mark.django_db
def test_it_publishes_a_subscribers_review_then_edits_it(alice_client, alice, bot):
    response = alice_client.post(reviews_url(bot), {"rating": 5, "text": "Great."}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["bot"] == {"slug": "crossing", "name": "Crossing"} and response.json()["rating"] == 5
    bot.refresh_from_db()
    assert (bot.average_rating, bot.total_reviews) == (Decimal("5.00"), 1)

    response = alice_client.post(reviews_url(bot), {"rating": 2}, content_type="application/json")
    assert response.status_code == 200 and response.json()["text"] == ""
    review = BotReview.objects.get(bot=bot)
    assert (review.user, review.rating, review.text) == (alice, 2, "")
    bot.refresh_from_db()
    assert (bot.average_rating, bot.total_reviews) == (Decimal("2.00"), 1)
    assert alice_client.get(reviews_url(bot)).json()["count"] == 1


@pytest.mark.django_db
def test_it_refuses_users_who_never_subscribed_and_the_bots_developer(client, bob, dev, bot):
    for user in (bob, dev):
        SubscriptionFactory(user=dev, bot=bot)  # even a developer running their own bot may not review it
        client.force_login(user)
        response = client.post(reviews_url(bot), {"rating": 5}, content_type="application/json")
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "Only traders who subscribed to this bot can review it."
    assert not BotReview.objects.exists()
    bot.refresh_from_db()
    assert bot.total_reviews == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "five"}, "rating"),
        ({}, "rating"),
        ({"rating": 4, "text": "x" * (REVIEW_TEXT_MAX + 1)}, "text"),
    ],
)
def test_it_refuses_a_bad_rating_or_text_naming_the_field(alice_client, bot, body, field):
    response = alice_client.post(reviews_url(bot), body, content_type="application/json")
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {field}
    assert not BotReview.objects.exists()


@pytest.mark.django_db
def test_it_needs_a_user_to_write_but_not_to_read(client, bot):
    BotReviewFactory(bot=bot)
    assert client.get(reviews_url(bot)).status_code == 200
    response = client.post(reviews_url(bot), {"rating": 5}, content_type="application/json")
    assert response.status_code == 401
    assert BotReview.objects.count() == 1


@pytest.mark.django_db
def test_it_answers_a_hidden_bot_with_404(client, alice):
    pending = BotFactory(slug="draft")
    SubscriptionFactory(user=alice, bot=pending)
    client.force_login(alice)
    response = client.post(reviews_url(pending), {"rating": 5}, content_type="application/json")
    assert response.status_code == 404 and not BotReview.objects.exists()


@pytest.mark.django_db
def test_it_lists_the_callers_own_reviews_only(alice_client, alice, bob, bot):
    mine = BotReviewFactory(user=alice, bot=bot, rating=3)
    BotReviewFactory(user=bob, bot=bot)
    body = alice_client.get(OWN_REVIEWS).json()
    assert body["count"] == 1
    assert body["results"][0] | {"created_at": None, "updated_at": None} == {
        "bot": {"slug": "crossing", "name": "Crossing"},
        "rating": 3,
        "text": mine.text,
        "created_at": None,
        "updated_at": None,
    }


@pytest.mark.django_db
def test_it_refuses_anonymous_callers_their_own_reviews(client):
    response = client.get(OWN_REVIEWS)
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_own_reviews_in_a_fixed_number_of_queries(client, alice, rows, django_assert_num_queries):
    api_key = user_api_key_create(user=alice)
    BotReviewFactory.create_batch(rows, user=alice)
    with django_assert_num_queries(3):  # the key's user, the count, the page (bots joined)
        response = client.get(OWN_REVIEWS, {"page_size": 100}, HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    assert len(response.json()["results"]) == rows
