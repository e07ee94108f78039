"""Reads of the bots app: the version a subscription runs, which bots a visitor may see, and a developer's own bots
and versions. The catalog's figures (subscribers, returns, reviews) are catalog.selectors: they read subscriptions.
"""

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from bots.models import Bot, BotVersion


def bot_version_for_run(*, bot_id: int, pinned_version_id: int | None) -> BotVersion | None:
    """The version a subscription runs: the one it is pinned to, else the bot's newest version that passed
    validation and that staff approved (a new upload keeps subscribers on the old one until then). None if none."""
    if pinned_version_id is not None:
        return BotVersion.objects.select_related("bot").get(pk=pinned_version_id)
    return (
        BotVersion.objects.select_related("bot")
        .filter(bot_id=bot_id, validation_status=BotVersion.ValidationStatus.PASSED, approved_at__isnull=False)
        .order_by("-created_at", "-id")
        .first()
    )


# Who may see a bot: everyone once approved (archived bots keep their page), its developer and staff before.
PUBLIC_STATUSES = (Bot.Status.APPROVED, Bot.Status.ARCHIVED)


def bot_get_for_page(*, slug: str, viewer) -> Bot:
    """The bot behind /bots/<slug>/: approved or archived for everyone; pending or rejected only for its developer
    and staff (a preview). Raises Http404 otherwise."""
    bot = get_object_or_404(Bot.objects.select_related("developer", "category"), slug=slug)
    if bot.status in PUBLIC_STATUSES:
        return bot
    if viewer.is_authenticated and (viewer.is_staff or viewer.pk == bot.developer_id):
        return bot
    raise Http404("No such bot.")


def bot_versions(*, bot: Bot) -> QuerySet[BotVersion]:
    return BotVersion.objects.filter(bot=bot).order_by("-created_at", "-pk")


def developer_bot_get(*, slug: str, developer) -> Bot:
    """One of `developer`'s bots. Raises Http404 for an unknown slug or someone else's bot."""
    return get_object_or_404(Bot, slug=slug, developer=developer)


def developer_version_get(*, version_id: int, developer) -> BotVersion:
    """A version of one of `developer`'s bots. Raises Http404 otherwise (someone else's exists or not: same)."""
    return get_object_or_404(BotVersion.objects.select_related("bot"), pk=version_id, bot__developer=developer)
