"""Reads of the bots app."""

from bots.models import BotVersion


def bot_version_for_run(*, bot_id: int, pinned_version_id: int | None) -> BotVersion | None:
    """The version a subscription runs: the one it is pinned to, else the bot's newest version that passed
    validation (a new upload keeps subscribers on the old one until it passes). None if there is none."""
    if pinned_version_id is not None:
        return BotVersion.objects.select_related("bot").get(pk=pinned_version_id)
    return (
        BotVersion.objects.select_related("bot")
        .filter(bot_id=bot_id, validation_status=BotVersion.ValidationStatus.PASSED)
        .order_by("-created_at", "-id")
        .first()
    )
