"""Subscribers run only code staff approved: a new version waits for its own approval."""

from django.urls import reverse

from accounts.models import AuditLog
from bots.models import BotVersion
from bots.selectors import bot_version_for_run
from bots.services import bot_version_approve
from bots.tests.factories import ApprovedBotFactory, BotVersionFactory


def _bot_with_new_version(status="PASSED"):
    bot = ApprovedBotFactory()
    old = BotVersionFactory(bot=bot, version="1.0.0", validation_status="PASSED")
    new = BotVersionFactory(
        bot=bot,
        version="1.1.0",
        validation_status=status,
        approved_at=None,
        config_schema={"type": "object", "properties": {"fast": {"type": "integer", "default": 7}}},
    )
    return bot, old, new


def test_it_keeps_subscribers_on_the_approved_version_until_the_new_one_is_approved(staff):
    bot, old, new = _bot_with_new_version()
    assert bot_version_for_run(bot_id=bot.pk, pinned_version_id=None) == old
    bot_version_approve(version=new, actor=staff)
    assert bot_version_for_run(bot_id=bot.pk, pinned_version_id=None) == new
    bot.refresh_from_db()
    assert bot.version == "1.1.0" and bot.config_schema == new.config_schema
    audit = AuditLog.objects.get(action="bot.version_approve")
    assert audit.user == staff and audit.new_values == {"version": "1.1.0"}


def test_it_refuses_to_approve_a_version_that_did_not_pass(staff):
    for status in ("PENDING", "RUNNING", "FAILED"):
        bot, old, new = _bot_with_new_version(status=status)
        new.builtin_slug = ""
        new.save()
        try:
            bot_version_approve(version=new, actor=staff)
            raise AssertionError("approved a version that did not pass")
        except Exception as exc:  # noqa: BLE001
            assert "has not passed validation" in str(exc)
        new.refresh_from_db()
        assert new.approved_at is None
        assert bot_version_for_run(bot_id=bot.pk, pinned_version_id=None) == old


def test_it_approves_versions_from_the_admin(staff_client):
    bot, _, new = _bot_with_new_version()
    staff_client.post(
        reverse("admin:bots_botversion_changelist"),
        {"action": "approve_selected_versions", "_selected_action": [new.pk]},
    )
    new.refresh_from_db()
    assert new.approved_at is not None
    assert BotVersion.objects.get(pk=new.pk) == bot_version_for_run(bot_id=bot.pk, pinned_version_id=None)
