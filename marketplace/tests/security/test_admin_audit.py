"""Staff actions in the admin, failed logins and password changes are audited (accounts.AuditLog), with the actor,
the row, and old → new values, never a password or a hash; approval fields cannot be changed by hand."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.forms import MultiWidget
from django.test import Client
from django.urls import reverse

from accounts.models import AuditLog, User
from accounts.tests.factories import PASSWORD, StaffFactory
from bots.models import Bot, BotReview, BotVersion
from bots.tests.factories import BotFactory, BotReviewFactory, BotVersionFactory, PaidBotFactory

pytestmark = pytest.mark.django_db


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return str(value)


def change_form_data(client, url: str) -> dict:
    """The change form at `url` as the browser would post it back unchanged: every editable field of the form and
    of its inlines, with the management forms."""
    response = client.get(url)
    assert response.status_code == 200, url
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for bound in form:
            names = [bound.html_name]
            if bound.field.show_hidden_initial:  # fields with a callable default also post their initial value
                names.append(bound.html_initial_name)
            for name in names:
                data.update(_posted(name, bound.field.widget, bound.value()))
    return data


def _posted(name: str, widget, value) -> dict:
    if isinstance(widget, MultiWidget) and not isinstance(value, list):
        return {f"{name}_{index}": _plain(part) for index, part in enumerate(widget.decompress(value))}
    if isinstance(value, bool):
        return {name: "on"} if value else {}
    return {name: _plain(value)}


def save(client, url: str, **changes):
    data = change_form_data(client, url) | changes | {"_save": "Save"}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    return response


def only_entry(action: str) -> AuditLog:
    entries = list(AuditLog.objects.filter(action=action))
    assert len(entries) == 1, [(e.action, e.old_values, e.new_values) for e in AuditLog.objects.all()]
    return entries[0]


def no_secret_in(entry: AuditLog) -> None:
    text = f"{entry.old_values} {entry.new_values}"
    assert "bcrypt" not in text and PASSWORD not in text and "hashed" not in text


# --- Users: role, superuser, password -------------------------------------------------------------------------


def test_a_role_change_is_audited(staff_client, staff, alice):
    save(staff_client, reverse("admin:accounts_user_change", args=[alice.pk]), role="ADMIN")
    alice.refresh_from_db()
    assert alice.role == User.Role.ADMIN
    entry = only_entry("user.admin_change")
    assert entry.user == staff and entry.table_name == "users" and entry.record_id == alice.pk
    assert entry.old_values == {"role": "USER"} and entry.new_values == {"role": "ADMIN"}
    no_secret_in(entry)


def test_a_superuser_grant_is_audited(staff_client, staff, alice):
    save(staff_client, reverse("admin:accounts_user_change", args=[alice.pk]), is_superuser="on")
    alice.refresh_from_db()
    assert alice.is_superuser
    entry = only_entry("user.admin_change")
    assert entry.user == staff and entry.record_id == alice.pk
    assert entry.old_values == {"is_superuser": False} and entry.new_values == {"is_superuser": True}


def test_a_save_without_changes_writes_nothing(staff_client, alice):
    save(staff_client, reverse("admin:accounts_user_change", args=[alice.pk]))
    assert not AuditLog.objects.filter(action__startswith="user.admin").exists()


def test_a_user_added_by_staff_is_audited_without_the_password(staff_client, staff):
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "carol@example.com", "role": "DEVELOPER", "usable_password": "true",
         "password1": "a-long-passphrase-42", "password2": "a-long-passphrase-42", "_save": "Save"},
    )
    assert response.status_code == 302
    carol = User.objects.get(email="carol@example.com")
    entry = only_entry("user.admin_create")
    assert entry.user == staff and entry.record_id == carol.pk
    assert entry.new_values["role"] == "DEVELOPER" and entry.new_values["email"] == "carol@example.com"
    assert "a-long-passphrase-42" not in str(entry.new_values)
    no_secret_in(entry)


def test_a_password_set_by_staff_is_audited_as_a_fact(staff_client, staff, alice):
    response = staff_client.post(
        reverse("admin:auth_user_password_change", args=[alice.pk]),
        {"usable_password": "true", "password1": "staff-chosen-pass-91", "password2": "staff-chosen-pass-91"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("staff-chosen-pass-91")
    entry = only_entry("user.password_admin_set")
    assert entry.user == staff and entry.record_id == alice.pk and entry.new_values == {"by": "admin_set"}
    assert "staff-chosen-pass-91" not in str(entry.new_values) and entry.old_values is None


def test_a_refused_password_set_is_not_audited(staff_client, alice):
    response = staff_client.post(
        reverse("admin:auth_user_password_change", args=[alice.pk]),
        {"usable_password": "true", "password1": "staff-chosen-pass-91", "password2": "something-else-92"},
    )
    assert response.status_code == 200
    assert not AuditLog.objects.filter(action__startswith="user.password").exists()


# --- Bots: price, approval fields, versions, reviews ------------------------------------------------------------


def test_a_price_change_is_audited(staff_client, staff):
    bot = PaidBotFactory(price_per_month=Decimal("29.00"))
    save(staff_client, reverse("admin:bots_bot_change", args=[bot.pk]), price_per_month="49.50")
    bot.refresh_from_db()
    assert bot.price_per_month == Decimal("49.50")
    entry = only_entry("bot.admin_change")
    assert entry.user == staff and entry.table_name == "bots" and entry.record_id == bot.pk
    assert entry.old_values == {"price_per_month": "29.00"} and entry.new_values == {"price_per_month": "49.50"}


def test_approval_fields_of_a_bot_cannot_be_posted(staff_client, staff):
    bot = BotFactory(code_path="bots/approved.py")
    save(
        staff_client,
        reverse("admin:bots_bot_change", args=[bot.pk]),
        status="APPROVED",
        approved_by=str(staff.pk),
        approved_at_0="2026-01-01",
        approved_at_1="00:00:00",
        rejection_reason="",
        code_path="bots/unreviewed.py",
        version="9.9.9",
        config_schema="{}",
    )
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PENDING and bot.approved_by is None and bot.approved_at is None
    assert bot.code_path == "bots/approved.py" and bot.version == "1.0.0"
    assert not AuditLog.objects.filter(action__in=["bot.approve", "bot.admin_change"]).exists()


def test_approval_fields_of_a_version_cannot_be_posted(staff_client, staff):
    version = BotVersionFactory(builtin_slug="", code_path="bots/v1.py", validation_status="FAILED")
    save(
        staff_client,
        reverse("admin:bots_botversion_change", args=[version.pk]),
        validation_status="PASSED",
        approved_by=str(staff.pk),
        approved_at_0="2026-01-01",
        approved_at_1="00:00:00",
        code_path="bots/other.py",
        changelog="Fixed the typo.",
    )
    version.refresh_from_db()
    assert version.validation_status == "FAILED" and version.approved_at is None and version.approved_by is None
    assert version.code_path == "bots/v1.py"
    # The one editable field, the changelog, is audited.
    entry = only_entry("botversion.admin_change")
    assert entry.user == staff and entry.new_values == {"changelog": "Fixed the typo."}


def test_versions_are_never_added_by_hand(staff_client):
    assert staff_client.get(reverse("admin:bots_botversion_add")).status_code == 403
    assert staff_client.post(reverse("admin:bots_botversion_add"), {"validation_status": "PASSED"}).status_code == 403
    assert not BotVersion.objects.exists()


def test_a_review_deleted_in_the_admin_is_audited_and_recounted(staff_client, staff):
    review = BotReviewFactory(rating=1, text="Lost my money.")
    BotReviewFactory(bot=review.bot, rating=5)
    bot = review.bot
    Bot.objects.filter(pk=bot.pk).update(average_rating=Decimal("3.00"), total_reviews=2)
    response = staff_client.post(reverse("admin:bots_botreview_delete", args=[review.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not BotReview.objects.filter(pk=review.pk).exists()
    entry = only_entry("review.delete")
    assert entry.user == staff and entry.table_name == "bot_reviews" and entry.record_id == review.pk
    assert entry.old_values == {"bot": bot.pk, "user": review.user_id, "rating": 1, "text": "Lost my money."}
    bot.refresh_from_db()
    assert bot.total_reviews == 1 and bot.average_rating == Decimal("5.00")


def test_reviews_deleted_in_bulk_are_each_audited(staff_client, staff):
    reviews = BotReviewFactory.create_batch(3)
    response = staff_client.post(
        reverse("admin:bots_botreview_changelist"),
        {"action": "delete_selected", "_selected_action": [r.pk for r in reviews], "post": "yes"},
    )
    assert response.status_code == 302
    assert not BotReview.objects.exists()
    entries = AuditLog.objects.filter(action="review.delete")
    assert sorted(entries.values_list("record_id", flat=True)) == sorted(r.pk for r in reviews)
    assert {entry.user for entry in entries} == {staff}


def test_a_review_cannot_be_edited_in_the_admin(staff_client):
    review = BotReviewFactory(rating=1, text="Lost my money.")
    url = reverse("admin:bots_botreview_change", args=[review.pk])
    staff_client.post(url, {"bot": review.bot_id, "user": review.user_id, "rating": 5, "text": "Great!"})
    review.refresh_from_db()
    assert review.rating == 1 and review.text == "Lost my money."


def test_a_bot_deleted_in_the_admin_is_audited(staff_client, staff):
    bot = BotFactory(price_per_month=Decimal("0.00"))
    response = staff_client.post(reverse("admin:bots_bot_delete", args=[bot.pk]), {"post": "yes"})
    assert response.status_code == 302
    entry = only_entry("bot.admin_delete")
    assert entry.user == staff and entry.record_id == bot.pk and entry.old_values["name"] == bot.name


# --- Logins and passwords --------------------------------------------------------------------------------------


def test_a_failed_login_is_audited_without_the_password(client, alice):
    client.post(reverse("accounts:login"), {"username": "alice@example.com", "password": "hunter2-guess"},
                REMOTE_ADDR="198.51.100.7")
    entry = only_entry("user.login_failed")
    assert entry.user is None and entry.table_name == "users" and entry.record_id == alice.pk
    assert entry.ip_address == "198.51.100.7"
    assert entry.new_values == {"account_exists": True, "path": "/accounts/login/", "locked_out": False}
    assert "hunter2" not in str(entry.new_values)


def test_a_failed_admin_login_is_audited(client):
    boss = StaffFactory(email="boss@example.com")
    client.post(reverse("admin:login"), {"username": "boss@example.com", "password": "guess"})
    entry = only_entry("user.login_failed")
    assert entry.record_id == boss.pk and entry.new_values["path"] == "/admin/login/"


def test_a_failed_login_for_no_account_stores_no_name(client):
    client.post(reverse("accounts:login"), {"username": "my-secret-password", "password": "x"})
    entry = only_entry("user.login_failed")
    assert entry.record_id is None and entry.new_values["account_exists"] is False
    assert "my-secret-password" not in f"{entry.new_values} {entry.old_values}"


def test_failures_after_a_lockout_do_not_flood_the_audit(client, alice, settings):
    for n in range(settings.AXES_FAILURE_LIMIT + 10):
        client.post(reverse("accounts:login"), {"username": "alice@example.com", "password": f"wrong-{n}"})
    entries = AuditLog.objects.filter(action="user.login_failed")
    assert entries.count() == settings.AXES_FAILURE_LIMIT
    assert entries.order_by("-id").first().new_values["locked_out"] is True


def test_a_password_change_is_audited(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "my-new-passphrase-55", "new_password2": "my-new-passphrase-55"},
    )
    assert response.status_code == 302
    entry = only_entry("user.password_change")
    assert entry.user == alice and entry.record_id == alice.pk and entry.new_values == {"by": "change"}
    no_secret_in(entry)
    assert "my-new-passphrase-55" not in str(entry.new_values)


def test_a_refused_password_change_is_not_audited(client, alice):
    client.force_login(alice)
    client.post(
        reverse("accounts:password_change"),
        {"old_password": "not-it", "new_password1": "my-new-passphrase-55", "new_password2": "my-new-passphrase-55"},
    )
    assert not AuditLog.objects.filter(action__startswith="user.password").exists()


def test_a_password_reset_is_audited(alice):
    client = Client()
    client.post(reverse("accounts:password_reset"), {"email": "alice@example.com"})
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"})
    assert response.status_code == 302
    entry = only_entry("user.password_reset")
    assert entry.user == alice and entry.record_id == alice.pk
    assert "brand-new-pass-77" not in str(entry.new_values)


def test_a_credential_deleted_in_the_admin_goes_through_its_audited_service(staff_client, staff, alice):
    from accounts.models import ExchangeCredential
    from accounts.tests.factories import ExchangeCredentialFactory

    credential = ExchangeCredentialFactory(user=alice)
    response = staff_client.post(
        reverse("admin:accounts_exchangecredential_delete", args=[credential.pk]), {"post": "yes"}
    )
    assert response.status_code == 302 and not ExchangeCredential.objects.exists()
    entry = only_entry("credential.delete")
    assert entry.user == staff and entry.record_id == credential.pk
    assert entry.old_values["key"] == credential.masked_key and "secret" not in str(entry.old_values)


def test_login_logs_cannot_be_deleted_by_hand(staff_client, alice):
    from axes.models import AccessLog

    Client().post(reverse("accounts:login"), {"username": "alice@example.com", "password": PASSWORD})
    row = AccessLog.objects.get(username="alice@example.com")
    assert staff_client.get(reverse("admin:axes_accesslog_changelist")).status_code == 200
    assert staff_client.post(reverse("admin:axes_accesslog_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    assert AccessLog.objects.filter(pk=row.pk).exists()


def test_a_subscriptions_running_version_cannot_be_posted_and_edits_are_audited(staff_client, staff):
    from subscriptions.tests.factories import SubscriptionFactory

    subscription = SubscriptionFactory(instance_name="Alice's BTC")
    approved = BotVersionFactory(bot=subscription.bot, validation_status="PASSED")
    unreviewed = BotVersionFactory(bot=subscription.bot, builtin_slug="", code_path="bots/unreviewed.py")
    type(subscription).objects.filter(pk=subscription.pk).update(bot_version=approved)
    save(
        staff_client,
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk]),
        bot_version=str(unreviewed.pk),
        instance_name="Renamed by staff",
    )
    subscription.refresh_from_db()
    assert subscription.bot_version_id == approved.pk and subscription.instance_name == "Renamed by staff"
    entry = only_entry("subscription.admin_change")
    assert entry.user == staff and entry.record_id == subscription.pk
    assert entry.old_values == {"instance_name": "Alice's BTC"}
    assert entry.new_values == {"instance_name": "Renamed by staff"}


def test_a_password_set_for_a_missing_user_audits_nothing(staff_client):
    response = staff_client.post(
        reverse("admin:auth_user_password_change", args=[999_999]),
        {"usable_password": "true", "password1": "staff-chosen-pass-91", "password2": "staff-chosen-pass-91"},
    )
    assert response.status_code in (302, 404)
    assert not AuditLog.objects.exists()
