"""A developer's journey in a real browser: log in, publish a bot from a .py file, read its validation report;
then staff approve it in the admin and it enters the catalog."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from accounts.tests.factories import PASSWORD, DeveloperFactory, StaffFactory
from bots.models import Bot, BotVersion
from core.builtin.sma_crossover import SmaCrossover
from marketplace.tests.browser.conftest import screenshots_dir

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SMA_SOURCE = Path(settings.BASE_DIR, "core", "builtin", "sma_crossover.py").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def memory_storage(settings):
    # The override is process-wide, so the live server's thread stores (and validation reads) in memory too.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


def log_in(web, email: str) -> None:
    page = web.page
    web.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    web.remember()


def test_it_takes_a_developer_from_upload_to_the_catalog(web, browser, live_server, tmp_path):
    DeveloperFactory(email="dana@example.com", developer_name="Dana Quant")
    StaffFactory(email="staff@example.com")
    code_file = tmp_path / "sma_cross_pro.py"
    code_file.write_text(SMA_SOURCE, encoding="utf-8")
    page = web.page

    # The developer logs in through the login page and opens the portal: nothing published yet.
    log_in(web, "dana@example.com")
    web.goto("/developer/")
    assert "You have not published a bot yet." in web.html[-1][1]

    # Publish a bot: the .py file, its config schema and defaults in the JSON textareas.
    page.get_by_role("link", name="Publish a new bot").click()
    web.remember()
    page.get_by_label("Name").fill("SMA Cross Pro")
    page.get_by_label("Description").fill("Crosses two simple moving averages.")
    page.get_by_label("Version").fill("1.0.0")
    page.get_by_label("Code", exact=True).set_input_files(str(code_file))
    page.get_by_label("Config schema").fill(json.dumps(SmaCrossover.config_schema, indent=2))
    page.get_by_label("Default config").fill('{"fast": 8}')
    web.screenshot("20-developer-new-bot")
    # Validation runs eagerly (CELERY_TASK_ALWAYS_EAGER) from transaction.on_commit in the live server's thread:
    # with transactional_db the request's atomic block really commits, so the hook fires before the response.
    page.get_by_role("button", name="Upload and validate").click()
    html = web.remember()
    assert "“SMA Cross Pro” is uploaded" in html

    bot = Bot.objects.get(name="SMA Cross Pro")
    version = BotVersion.objects.get(bot=bot)
    assert bot.status == Bot.Status.PENDING and bot.developer.email == "dana@example.com"
    assert version.validation_status == BotVersion.ValidationStatus.PASSED
    assert version.default_config == {"fast": 8, "slow": 30}
    assert "SMA Cross Pro" in html and "validation: passed" in html
    web.screenshot("21-developer-dashboard")

    # The report: the badge says Passed and every check is ticked.
    page.get_by_role("link", name="1.0.0").click()
    html = web.remember()
    assert page.locator(".badge.validation-passed").inner_text() == "Passed"
    assert "✓" in html and "✗" not in html
    web.screenshot("22-developer-validation-report")

    # Not in the catalog until staff approve it.
    web.goto("/bots/")
    assert "SMA Cross Pro" not in web.html[-1][1]

    # Staff approve it in the admin, in a browser session of their own.
    staff_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
    staff_context.set_default_timeout(15_000)
    try:
        staff_page = staff_context.new_page()
        staff_page.goto(f"{live_server.url}/accounts/login/")
        staff_page.get_by_label("Email").fill("staff@example.com")
        staff_page.get_by_label("Password").fill(PASSWORD)
        staff_page.get_by_role("button", name="Log in").click()
        staff_page.wait_for_load_state("load")
        staff_page.goto(f"{live_server.url}/admin/bots/bot/")
        staff_page.locator(f"input.action-select[value='{bot.pk}']").check()
        staff_page.locator("select[name='action']").select_option("approve_selected")
        staff_page.locator("button[name='index'], input[name='index']").first.click()
        staff_page.wait_for_load_state("load")
        assert "Approved 1 bot(s)." in staff_page.content()
        staff_page.screenshot(path=str(screenshots_dir() / "23-admin-approved.png"), full_page=True)
    finally:
        staff_context.close()

    bot.refresh_from_db()
    assert bot.status == Bot.Status.APPROVED and bot.approved_by.email == "staff@example.com"

    # Now the catalog lists it.
    web.goto("/bots/")
    assert page.get_by_role("link", name="SMA Cross Pro").is_visible()
    web.screenshot("24-catalog-with-approved-bot")
