"""The rules of reviews: who may review a bot (a trader who has or had a subscription to it, never its developer),
and what a review may say. The review rows and their moderation (review_delete, for staff) are the bots app's."""

from django.db import transaction

from accounts.models import User
from bots.models import Bot, BotReview
from bots.services import bot_review_totals_refresh
from catalog.exceptions import InvalidReview, ReviewNotAllowed
from subscriptions.models import Subscription

REVIEW_TEXT_MAX = 5000


@transaction.atomic
def review_create_or_update(*, bot: Bot, user: User, rating: int, text: str = "") -> tuple[BotReview, bool]:
    """Write `user`'s one review of `bot` (a second call edits it) and refresh the bot's average_rating and
    total_reviews. Returns (review, created).

    Raises ReviewNotAllowed unless the user has or had a subscription to the bot (and is not its developer), and
    InvalidReview for a rating outside 1–5 or a text over REVIEW_TEXT_MAX characters; nothing is written then.
    """
    if user.pk == bot.developer_id or not Subscription.objects.filter(bot=bot, user=user).exists():
        raise ReviewNotAllowed()
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise InvalidReview("The rating must be a whole number of stars from 1 to 5.")
    text = (text or "").strip()
    if len(text) > REVIEW_TEXT_MAX:
        raise InvalidReview(f"Keep the review under {REVIEW_TEXT_MAX} characters.")
    # Lock the bot row: two reviews saved at once must not both write an average that misses the other.
    locked = Bot.objects.select_for_update().get(pk=bot.pk)
    review, created = BotReview.objects.update_or_create(
        bot=locked, user=user, defaults={"rating": rating, "text": text}
    )
    bot.average_rating, bot.total_reviews = bot_review_totals_refresh(locked)
    return review, created
