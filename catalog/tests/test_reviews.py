"""Reviews: only subscribers (present or past) review, once each, editable; the bot's average follows."""

from decimal import Decimal

import pytest
from django.urls import reverse

from bots.models import BotReview
from bots.tests.factories import ApprovedBotFactory
from catalog.exceptions import InvalidReview, ReviewNotAllowed
from catalog.services import review_create_or_update
from subscriptions.models import Subscription
from subscriptions.tests.factories import SubscriptionFactory


def _review_url(bot) -> str:
    return reverse("bots:review", args=[bot.slug])


@pytest.mark.django_db
def test_it_lets_a_subscriber_review_once_and_edit_it(alice, bob):
    bot = ApprovedBotFactory()
    SubscriptionFactory(bot=bot, user=alice)
    SubscriptionFactory(bot=bot, user=bob, status=Subscription.Status.CANCELLED)  # had one: may review too
    review, created = review_create_or_update(bot=bot, user=alice, rating=5, text="  Solid.  ")
    assert created and review.text == "Solid."
    review_create_or_update(bot=bot, user=bob, rating=2)
    bot.refresh_from_db()
    assert (bot.average_rating, bot.total_reviews) == (Decimal("3.50"), 2)
    _, created = review_create_or_update(bot=bot, user=alice, rating=4, text="Good, not great.")
    assert not created
    bot.refresh_from_db()
    assert (bot.average_rating, bot.total_reviews) == (Decimal("3.00"), 2)
    assert BotReview.objects.filter(bot=bot, user=alice).get().text == "Good, not great."


@pytest.mark.django_db
def test_it_rounds_the_average_half_up(alice, bob, staff):
    bot = ApprovedBotFactory()
    for user, rating in ((alice, 5), (bob, 5), (staff, 4)):
        SubscriptionFactory(bot=bot, user=user)
        review_create_or_update(bot=bot, user=user, rating=rating)
    bot.refresh_from_db()
    assert bot.average_rating == Decimal("4.67")


@pytest.mark.django_db
def test_it_refuses_non_subscribers_the_developer_and_bad_ratings(alice):
    bot = ApprovedBotFactory()
    with pytest.raises(ReviewNotAllowed):
        review_create_or_update(bot=bot, user=alice, rating=5)
    SubscriptionFactory(bot=bot, user=bot.developer)
    with pytest.raises(ReviewNotAllowed):
        review_create_or_update(bot=bot, user=bot.developer, rating=5)
    SubscriptionFactory(bot=bot, user=alice)
    for rating in (0, 6, True, "5"):
        with pytest.raises(InvalidReview):
            review_create_or_update(bot=bot, user=alice, rating=rating)
    with pytest.raises(InvalidReview):
        review_create_or_update(bot=bot, user=alice, rating=3, text="x" * 5001)
    assert not BotReview.objects.exists()
    bot.refresh_from_db()
    assert bot.total_reviews == 0


@pytest.mark.django_db
def test_it_reviews_from_the_bot_page(client, alice):
    bot = ApprovedBotFactory()
    SubscriptionFactory(bot=bot, user=alice)
    client.force_login(alice)
    page = client.get(reverse("bots:detail", args=[bot.slug])).content.decode()
    assert "Review this bot" in page
    response = client.post(_review_url(bot), {"rating": "4", "text": "Calm in chop."}, follow=True)
    assert "your review is published" in response.content.decode()
    assert "Calm in chop." in response.content.decode()
    assert "Edit your review" in response.content.decode()
    bot.refresh_from_db()
    assert (bot.average_rating, bot.total_reviews) == (Decimal("4.00"), 1)


@pytest.mark.django_db
def test_it_refuses_a_review_from_the_page_without_storing_anything(client, alice, bob):
    bot = ApprovedBotFactory()
    SubscriptionFactory(bot=bot, user=alice)
    client.force_login(bob)
    response = client.post(_review_url(bot), {"rating": "5", "text": "Great!"}, follow=True)
    assert "Only traders who subscribed to this bot can review it." in response.content.decode()
    client.force_login(alice)
    response = client.post(_review_url(bot), {"rating": "9"}, follow=True)
    assert "Select a valid choice" in response.content.decode()
    assert not BotReview.objects.exists()


@pytest.mark.django_db
def test_it_sends_an_anonymous_reviewer_to_log_in(client):
    bot = ApprovedBotFactory()
    response = client.post(_review_url(bot), {"rating": "5"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert client.get(_review_url(bot)).status_code == 405
    assert not BotReview.objects.exists()
