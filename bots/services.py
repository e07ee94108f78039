"""Writes of the bots app: moderation. Every moderation writes an audit log row."""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from bots.exceptions import IllegalBotTransition, RejectionReasonRequired
from bots.models import Bot

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
