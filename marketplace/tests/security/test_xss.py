"""Stored XSS: every text a user wrote is escaped on every page that shows it, the staff admin included.

The hostile texts are stored through the real services (marketplace/tests/security/hostile.py), each page is
rendered for the persona who sees it, and two things are asserted per page: no payload fragment is there
unescaped, and the fields that page shows are there escaped (so the page really printed them: a test that
looked at a page without the text would prove nothing). test_xss_browser.py opens the main pages in Chromium.
"""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.models import AuditLog
from common.schema_forms import schema_fields
from marketplace.tests.security.hostile import hostile_world, payload, runnable_payloads, shown_escaped

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    return hostile_world()


def assert_safe(client, url: str, *shown: str, data: dict | None = None, status: int = 200, **headers) -> str:
    """The page's HTML (GET, or POST of `data`), after asserting it prints no payload unescaped and shows the
    payloads of `shown` escaped."""
    response = client.post(url, data, **headers) if data is not None else client.get(url, **headers)
    assert response.status_code == status, f"{url}: {response.status_code}"
    html = response.content.decode()
    assert runnable_payloads(html) == [], f"{url} prints these fields unescaped"
    missing = [field for field in shown if not shown_escaped(html, field)]
    assert missing == [], f"{url} does not show {missing} at all: nothing was checked there"
    return html


def test_it_escapes_the_public_pages(client, world):
    bot = world.bot
    assert_safe(client, reverse("bots:catalog"), "bot_name", "bot_description", "developer_name")
    assert_safe(
        client,
        reverse("bots:detail", args=[bot.slug]),
        "bot_name",
        "bot_description",
        "developer_name",
        "developer_bio",
        "review",
        "config_default",
    )
    # DRF's browsable API (an API URL opened in a browser).
    assert_safe(client, "/api/v1/bots/", "bot_name", "bot_description", HTTP_ACCEPT="text/html")


def test_it_escapes_the_traders_pages_and_forms(client, world):
    client.force_login(world.alice)
    bot, subscription = world.bot, world.subscription
    schema_texts = ("schema_title", "schema_description", "enum_label", "config_default")
    assert_safe(client, reverse("subscriptions:subscribe", args=[bot.slug]), "bot_name", *schema_texts)
    assert_safe(client, reverse("bots:backtest_new", args=[bot.slug]), "bot_name", *schema_texts)
    assert_safe(
        client, reverse("bots:backtest_detail", args=[bot.slug, world.backtest.pk]), "bot_name", "bot_exception"
    )
    assert_safe(
        client,
        reverse("subscriptions:detail", args=[subscription.pk]),
        "instance_name",
        "bot_name",
        "run_error",
        "decision_reason",
        "indicator_name",
        "decision_note",
        "enum_label",
    )
    assert_safe(
        client,
        reverse("subscriptions:edit", args=[subscription.pk]),
        "instance_name",
        "schema_title",
        "schema_description",
        "enum_label",
    )
    assert_safe(client, reverse("subscriptions:detail", args=[world.testnet_subscription.pk]), "exchange_error")
    assert_safe(client, reverse("subscriptions:dashboard"), "instance_name", "bot_name")
    assert_safe(client, reverse("accounts:credentials"), "exchange_error")


def test_it_escapes_what_a_refused_form_echoes_back(client, world):
    """Reflected, not stored: a refused subscribe form shows the values typed and errors that quote them."""
    client.force_login(world.alice)
    html = assert_safe(
        client,
        reverse("subscriptions:subscribe", args=[world.bot.slug]),
        "instance_name",
        data={
            "instance_name": payload("instance_name"),
            "mode": "paper",
            "exchange_type": "BINANCE",
            "trading_pair": payload("bot_name"),
            "timeframe": payload("run_error"),
            "strategy__period": payload("review"),
            "strategy__style": payload("decision_note"),
        },
        status=400,
    )
    assert "form-errors" in html or "has-errors" in html


def test_it_escapes_the_developer_portal(client, world):
    client.force_login(world.dev)
    assert_safe(client, reverse("developer:dashboard"), "bot_name", "rejected_bot_name", "rejection_reason")
    assert_safe(
        client,
        reverse("developer:version", args=[world.failed_version.pk]),
        "rejected_bot_name",
        "changelog",
        "bot_exception",
    )
    assert_safe(client, reverse("developer:version_new", args=[world.rejected_bot.slug]), "rejected_bot_name")
    assert_safe(client, reverse("accounts:profile"), "developer_name", "developer_bio")


def test_it_escapes_the_preview_staff_open(client, world):
    client.force_login(world.staff)
    assert_safe(client, reverse("bots:detail", args=[world.rejected_bot.slug]), "rejected_bot_name", "developer_name")
    assert_safe(client, reverse("subscriptions:subscribe", args=[world.bot.slug]), "schema_description", "enum_label")


def _admin(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def test_it_escapes_every_admin_page_showing_user_text(client, world):
    client.force_login(world.staff)
    bot, rejected, subscription = world.bot, world.rejected_bot, world.subscription
    bot_create_audit = AuditLog.objects.get(action="bot.create", record_id=bot.pk)
    pages = [
        (_admin("bots_bot_changelist"), ("bot_name", "rejected_bot_name")),
        (_admin("bots_bot_change", bot.pk), ("bot_name", "bot_description", "schema_title", "config_default")),
        (_admin("bots_bot_change", rejected.pk), ("rejected_bot_name", "rejection_reason")),
        (_admin("bots_bot_delete", bot.pk), ("bot_name",)),
        (_admin("bots_bot_history", bot.pk), ("bot_name",)),
        (_admin("bots_botversion_changelist"), ("bot_name", "rejected_bot_name")),
        (_admin("bots_botversion_change", world.failed_version.pk), ("changelog", "bot_exception")),
        (_admin("bots_botreview_changelist"), ("bot_name",)),
        (_admin("bots_botreview_change", world.review.pk), ("review",)),
        (_admin("bots_backtestrun_changelist"), ("bot_name",)),
        (_admin("bots_backtestrun_change", world.backtest.pk), ("bot_exception",)),
        (_admin("partners_botmarketplaceregistration_changelist"), ("marketplace_name", "bot_name")),
        (
            _admin("partners_botmarketplaceregistration_change", world.registration.pk),
            ("marketplace_name", "marketplace_description"),
        ),
        (_admin("subscriptions_subscription_changelist"), ("instance_name", "bot_name")),
        (_admin("subscriptions_subscription_change", subscription.pk), ("instance_name", "run_error")),
        (_admin("subscriptions_performancelog_changelist"), ("instance_name",)),
        (_admin("subscriptions_performancelog_change", world.decision.pk), ("decision_reason", "indicator_name")),
        (_admin("accounts_user_change", world.dev.pk), ("developer_name", "developer_bio")),
        (_admin("accounts_exchangecredential_change", world.credential.pk), ("exchange_error",)),
        (_admin("accounts_auditlog_change", bot_create_audit.pk), ("bot_name",)),
        (_admin("accounts_auditlog_changelist"), ()),
        (_admin("index"), ()),
    ]
    for url, shown in pages:
        assert_safe(client, url, *shown)


def test_it_escapes_the_bot_names_on_the_admins_reject_page(client, world):
    client.force_login(world.staff)
    assert_safe(
        client,
        _admin("bots_bot_changelist"),
        "bot_name",
        data={"action": "reject_selected", "_selected_action": [world.bot.pk]},
    )


def test_it_escapes_user_text_in_flash_messages(client, world):
    """Messages quote names ("“…” is resumed.", "“…” cannot be approved"): base.html and the admin escape them."""
    client.force_login(world.alice)
    resumed = client.post(reverse("subscriptions:resume", args=[world.subscription.pk]), follow=True)
    html = resumed.content.decode()
    assert "is running again" in html and shown_escaped(html, "instance_name") and runnable_payloads(html) == []

    client.force_login(world.staff)  # who can open the rejected bot's page (a preview)
    refused = client.get(reverse("subscriptions:subscribe", args=[world.rejected_bot.slug]), follow=True)
    html = refused.content.decode()
    assert "not open for subscriptions" in html and shown_escaped(html, "rejected_bot_name")
    assert runnable_payloads(html) == []
    approve = {"action": "approve_selected", "_selected_action": [world.rejected_bot.pk]}
    html = client.post(_admin("bots_bot_changelist"), approve, follow=True).content.decode()
    assert "cannot be approved" in html and shown_escaped(html, "rejected_bot_name")
    assert runnable_payloads(html) == []


def test_it_escapes_a_schema_description_even_in_djangos_own_form_templates():
    """Django's as_div/as_p (and the admin) print help_text with |safe: the description is escaped at the source."""
    from django import forms

    schema = {
        "properties": {
            "period": {"type": "integer", "default": 1, "description": payload("schema_description")},
            "style": {"type": "string", "enum": ["calm", payload("enum_label")], "default": "calm"},
        }
    }
    form = type("HostileForm", (forms.Form,), schema_fields(schema, prefix="strategy"))()
    for html in (form.as_div(), form.as_p(), form.as_table(), form.as_ul()):
        assert runnable_payloads(html) == []
        assert shown_escaped(html, "schema_description") and shown_escaped(html, "enum_label")


def test_it_keeps_djangos_own_html_help_texts(client, db):
    """The password rules are HTML Django marked safe: removing |safe from our field template keeps them a list."""
    html = client.get(reverse("accounts:signup")).content.decode()
    assert "<ul><li>" in html and "&lt;li&gt;" not in html


# --- Nothing turns escaping off (so a new page cannot print user text raw by accident) ------------------------------

ROOT = Path(__file__).resolve().parents[3]
APPS = ("core", "common", "accounts", "bots", "subscriptions", "trading", "catalog", "partners", "marketplace")
UNESCAPING_TEMPLATE = re.compile(r"\|\s*safe(seq)?\b|{%\s*autoescape\s+off")
# mark_safe/SafeString mark a string as HTML; format_html with an f-string (or a %/format() result) interpolates
# before escaping; a filter declared is_safe or without autoescape handling could pass user text through.
UNESCAPING_PYTHON = re.compile(
    r"mark_safe\(|SafeString\(|format_html\(\s*f[\"']|is_safe\s*=\s*True|autoescape\s*=\s*False"
)


def _sources(pattern: str, folders) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob(pattern)) if "tests" not in path.parts]


def test_no_template_turns_escaping_off():
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group()}"
        for path in _sources("*.html", ["templates", *APPS])
        for match in UNESCAPING_TEMPLATE.finditer(path.read_text())
    ]
    assert offenders == []


def test_no_module_marks_text_safe():
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group()}"
        for path in _sources("*.py", APPS)
        for match in UNESCAPING_PYTHON.finditer(path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "snippet",
    ["{{ field.help_text|safe }}", "{{ names|safeseq }}", "{% autoescape off %}", "{{ x | safe }}"],
)
def test_the_template_check_catches_each_way(snippet):
    assert UNESCAPING_TEMPLATE.search(snippet)


@pytest.mark.parametrize(
    "snippet",
    ["mark_safe(bot.name)", "SafeString(text)", 'format_html(f"<b>{name}</b>")', "@register.filter(is_safe=True)"],
)
def test_the_module_check_catches_each_way(snippet):
    assert UNESCAPING_PYTHON.search(snippet)
