import pytest
from django.urls import reverse

from accounts.models import AuditLog
from bots.models import Bot, BotVersion
from bots.tests.factories import ApprovedBotFactory, BotFactory, BotVersionFactory

CHANGELIST = reverse("admin:bots_bot_changelist")


def validated_bot(**fields) -> Bot:
    """A bot whose newest uploaded version passed the automatic validation: staff may approve it."""
    bot = BotFactory(**fields)
    BotVersionFactory(bot=bot, builtin_slug="", code_path="bots/1/1.0.0/code.py", validation_status="PASSED")
    return bot


def test_it_approves_selected_bots_and_audits_it(staff_client, staff):
    bot = validated_bot()
    response = staff_client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [bot.pk]}, follow=True)
    assert response.status_code == 200
    bot.refresh_from_db()
    assert bot.status == Bot.Status.APPROVED
    assert bot.approved_by == staff and bot.approved_at is not None
    audit = AuditLog.objects.get(action="bot.approve")
    assert (audit.user, audit.table_name, audit.record_id) == (staff, "bots", bot.pk)
    assert audit.old_values == {"status": "PENDING"} and audit.new_values == {"status": "APPROVED"}


def test_it_asks_for_a_reason_before_rejecting(staff_client):
    bot = BotFactory()
    response = staff_client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": [bot.pk]})
    assert response.status_code == 200
    assert b"The developer reads this" in response.content
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PENDING
    assert not AuditLog.objects.filter(action="bot.reject").exists()


def test_it_rejects_with_the_reason_the_developer_will_see(staff_client, staff):
    bot = BotFactory()
    reason = "Uses future candles in its signal; fix the lookahead."
    staff_client.post(
        CHANGELIST, {"action": "reject_selected", "_selected_action": [bot.pk], "apply": "1", "reason": reason}
    )
    bot.refresh_from_db()
    assert bot.status == Bot.Status.REJECTED and bot.rejection_reason == reason
    audit = AuditLog.objects.get(action="bot.reject")
    assert audit.user == staff and audit.new_values["rejection_reason"] == reason


def test_it_keeps_a_blank_rejection_from_happening(staff_client):
    bot = BotFactory()
    response = staff_client.post(
        CHANGELIST, {"action": "reject_selected", "_selected_action": [bot.pk], "apply": "1", "reason": "   "}
    )
    assert b"This field is required" in response.content
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PENDING


def test_it_refuses_to_approve_a_rejected_bot_directly(staff_client):
    bot = validated_bot(status=Bot.Status.REJECTED, rejection_reason="no")
    response = staff_client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [bot.pk]}, follow=True)
    assert "cannot become approved" in response.content.decode()
    bot.refresh_from_db()
    assert bot.status == Bot.Status.REJECTED
    assert not AuditLog.objects.filter(action="bot.approve").exists()


@pytest.mark.parametrize("status", ["PENDING", "RUNNING", "FAILED"])
def test_it_refuses_to_approve_until_the_newest_version_passed(staff_client, status):
    bot = BotFactory()
    BotVersionFactory(bot=bot, version="1.0.0", builtin_slug="", validation_status="PASSED")
    BotVersionFactory(bot=bot, version="1.1.0", builtin_slug="", validation_status=status)
    response = staff_client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [bot.pk]}, follow=True)
    assert "has not passed validation" in response.content.decode()
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PENDING and bot.approved_by is None
    assert not AuditLog.objects.filter(action="bot.approve").exists()


def test_it_refuses_to_approve_a_bot_without_any_version(staff_client):
    bot = BotFactory()
    response = staff_client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [bot.pk]}, follow=True)
    assert "no version to run" in response.content.decode()
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PENDING


def test_it_approves_a_bot_running_a_builtin_version(staff_client):
    bot = BotFactory()
    BotVersionFactory(bot=bot, builtin_slug="sma-crossover", validation_status=BotVersion.ValidationStatus.PENDING)
    staff_client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [bot.pk]})
    bot.refresh_from_db()
    assert bot.status == Bot.Status.APPROVED


def test_it_shows_the_validation_report_to_staff(staff_client):
    bot = BotFactory()
    version = BotVersionFactory(
        bot=bot, builtin_slug="", validation_status="FAILED",
        validation_report={"passed": False, "checks": [{"name": "load", "passed": False, "message": "ImportError",
                                                        "traceback": "Traceback: boom"}], "backtests": []},
    )
    response = staff_client.get(reverse("admin:bots_botversion_change", args=[version.pk]))
    assert response.status_code == 200
    assert "Traceback: boom" in response.content.decode() and "✗ load" in response.content.decode()


def test_it_filters_and_searches_bots(staff_client):
    ApprovedBotFactory(name="Momentum Rider")
    BotFactory(name="Mean Reverter")
    response = staff_client.get(CHANGELIST, {"status__exact": "APPROVED"})
    assert "Momentum Rider" in response.content.decode() and "Mean Reverter" not in response.content.decode()
    response = staff_client.get(CHANGELIST, {"q": "revert"})
    assert "Mean Reverter" in response.content.decode() and "Momentum Rider" not in response.content.decode()


@pytest.mark.django_db
def test_it_keeps_traders_and_developers_out_of_the_admin(client, alice, dev):
    for person in (alice, dev):
        client.force_login(person)
        response = client.get(CHANGELIST)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
