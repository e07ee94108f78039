"""Writes of the bots app: moderation (every moderation writes an audit log row) and reviews."""

from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from bots.exceptions import IllegalBotTransition, InvalidReview, RejectionReasonRequired, ReviewNotAllowed
from bots.models import Bot, BotReview
from subscriptions.models import Subscription

S = Bot.Status
# The moderation workflow: which status may follow which. Anything else is an IllegalBotTransition.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.APPROVED, S.REJECTED, S.ARCHIVED},
    S.APPROVED: {S.ARCHIVED, S.PENDING},
    S.REJECTED: {S.PENDING, S.ARCHIVED},
    S.ARCHIVED: {S.PENDING},
}


def _transition(*, bot: Bot, target: str, actor: User, action: str, request: HttpRequest | None, **changes) -> Bot:
    """Move a locked bot row to `target`, apply `changes`, and audit it. Raises IllegalBotTransition."""
    # Lock the row: two staff members moderating the same bot at once must not both succeed.
    locked = Bot.objects.select_for_update().get(pk=bot.pk)
    if target not in ALLOWED_TRANSITIONS[locked.status]:
        raise IllegalBotTransition(locked, target)
    old_values = {"status": locked.status}
    locked.status = target
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", "updated_at", *changes])
    new_values = {"status": target} | (
        {"rejection_reason": changes["rejection_reason"]} if changes.get("rejection_reason") else {}
    )
    audit_log_record(
        actor=actor, action=action, instance=locked, old_values=old_values, new_values=new_values, request=request
    )
    return locked


@transaction.atomic
def bot_approve(*, bot: Bot, actor: User, request: HttpRequest | None = None) -> Bot:
    """Approve a pending bot: it enters the catalog. Sets approved_by/approved_at; clears any old rejection."""
    return _transition(
        bot=bot,
        target=S.APPROVED,
        actor=actor,
        action="bot.approve",
        request=request,
        approved_by=actor,
        approved_at=timezone.now(),
        rejection_reason="",
    )


@transaction.atomic
def bot_reject(*, bot: Bot, actor: User, reason: str, request: HttpRequest | None = None) -> Bot:
    """Reject a pending bot with a reason the developer sees. Raises RejectionReasonRequired if it is blank."""
    reason = (reason or "").strip()
    if not reason:
        raise RejectionReasonRequired()
    return _transition(
        bot=bot,
        target=S.REJECTED,
        actor=actor,
        action="bot.reject",
        request=request,
        rejection_reason=reason,
        approved_by=None,
        approved_at=None,
    )


@transaction.atomic
def bot_archive(*, bot: Bot, actor: User, request: HttpRequest | None = None) -> Bot:
    """Retire a bot from the catalog; it stays findable with its full record."""
    return _transition(bot=bot, target=S.ARCHIVED, actor=actor, action="bot.archive", request=request)


REVIEW_TEXT_MAX = 5000
RATING_PLACES = Decimal("0.01")


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
    totals = BotReview.objects.filter(bot=locked).aggregate(count=Count("pk"), rating_sum=Sum("rating"))
    count, rating_sum = totals["count"], totals["rating_sum"] or 0
    # From the integer sum, rounded half-up like the nightly refresh (trading.maintenance): AVG of integers comes
    # back as a float on some databases.
    average = (Decimal(rating_sum) / count).quantize(RATING_PLACES, rounding=ROUND_HALF_UP) if count else Decimal(0)
    Bot.objects.filter(pk=locked.pk).update(average_rating=average, total_reviews=count)
    bot.average_rating, bot.total_reviews = average, count
    return review, created
