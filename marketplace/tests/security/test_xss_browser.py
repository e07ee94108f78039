"""The hostile texts of hostile.py in a real Chromium: on the pages staff, a trader and the developer open, no
payload runs (it would set window.__xss to its number), each shows as text, and the pages raise no
Content-Security-Policy violation (our own code needs nothing the policy refuses). And if escaping ever failed,
the policy alone stops an injected script.

One or two page loads per group of fields: the exhaustive list of pages is test_xss.py's (server-side HTML).
"""

import pytest

from accounts.tests.factories import PASSWORD
from marketplace.tests.browser import conftest as browser_fixtures
from marketplace.tests.security.hostile import FIELDS, NUMBER, hostile_world
from subscriptions.models import Subscription

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

# The browser tests' fixtures (Debian's Chromium through Playwright; `web` fails a test on any console error).
browser = browser_fixtures.browser
web = browser_fixtures.web

# Before any script of each page: a payload that runs sets window.__xss; the policy's refusals are collected.
WATCH = """
window.__xss = undefined;
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture(autouse=True)
def memory_storage(settings):
    # Process-wide: the live server's thread and the eager validation read the uploads from the same memory.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


@pytest.fixture
def world():
    return hostile_world()


def log_in(page, base_url: str, email: str) -> None:
    page.context.add_init_script(WATCH)
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("load")


def visit(page, url: str, *shown: str) -> None:
    """Open `url` and assert: no payload ran, no policy violation, and the `shown` fields' payloads are on the
    page as text."""
    response = page.goto(url)
    assert response.status == 200, f"{url}: {response.status}"
    ran = page.evaluate("window.__xss")
    assert ran is None, f"{url}: the payload of {FIELDS[ran - 1]} ran"
    assert page.evaluate("window.__csp") == [], f"{url}: Content-Security-Policy violations"
    text = page.evaluate("document.documentElement.textContent")
    missing = [field for field in shown if f"<img src=x onerror=window.__xss={NUMBER[field]}>" not in text]
    assert missing == [], f"{url} does not show {missing} as text"


def test_it_runs_no_payload_on_the_pages_staff_open(web, live_server, world):
    page, base = web.page, live_server.url
    log_in(page, base, world.staff.email)
    bot, rejected = world.bot, world.rejected_bot

    # The forms a config schema drives (the reported flaw) and the preview of a bot waiting for review.
    visit(page, f"{base}/subscriptions/new/{bot.slug}/", "bot_name", "schema_title", "schema_description", "enum_label")
    visit(page, f"{base}/bots/{bot.slug}/backtests/new/", "schema_title", "schema_description", "enum_label")
    visit(page, f"{base}/bots/{rejected.slug}/", "rejected_bot_name", "developer_name")
    # The bot's page (its chart data goes through json_script).
    visit(page, f"{base}/bots/{bot.slug}/", "bot_name", "bot_description", "developer_name", "developer_bio", "review")

    # The admin: the bot, its failed version's report, the subscription's errors, the decision log.
    visit(page, f"{base}/admin/bots/bot/{bot.pk}/change/", "bot_name", "bot_description")
    visit(page, f"{base}/admin/bots/botversion/{world.failed_version.pk}/change/", "bot_exception", "changelog")
    visit(
        page, f"{base}/admin/subscriptions/subscription/{world.subscription.pk}/change/", "instance_name", "run_error"
    )
    visit(
        page,
        f"{base}/admin/subscriptions/performancelog/{world.decision.pk}/change/",
        "decision_reason",
        "indicator_name",
    )
    visit(page, f"{base}/admin/partners/botmarketplaceregistration/", "marketplace_name")
    # The developer's profile, on the admin page whose widgets need the most JavaScript (filter_horizontal).
    visit(page, f"{base}/admin/accounts/user/{world.dev.pk}/change/", "developer_bio")
    assert page.locator(".selector .selector-available").count() == 2  # SelectFilter2.js built both pickers


def test_it_runs_no_payload_on_a_traders_pages_and_asks_before_cancelling(browser, live_server, world):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(15_000)
    errors = []
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        base, subscription = live_server.url, world.subscription
        log_in(page, base, world.alice.email)
        url = f"{base}/subscriptions/{subscription.pk}/"
        fields = ("instance_name", "run_error", "decision_reason", "indicator_name", "decision_note")
        visit(page, url, *fields)
        visit(page, f"{base}/accounts/credentials/", "exchange_error")
        visit(page, f"{base}/bots/{world.bot.slug}/backtests/{world.backtest.pk}/", "bot_exception")

        # The cancel button asks first (site.js, data-confirm; no inline handler): dismissed, nothing happens.
        page.goto(url)
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.get_by_role("button", name="Cancel subscription").click()
        page.wait_for_load_state("load")
        subscription.refresh_from_db()
        assert subscription.status != Subscription.Status.CANCELLED
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Cancel subscription").click()
        page.wait_for_url(url)
        subscription.refresh_from_db()
        assert subscription.status == Subscription.Status.CANCELLED
        assert page.evaluate("window.__xss") is None and page.evaluate("window.__csp") == []
    finally:
        context.close()
    assert errors == []


def test_it_runs_no_payload_in_the_developer_portal(web, live_server, world):
    page, base = web.page, live_server.url
    log_in(page, base, world.dev.email)
    visit(page, f"{base}/developer/", "bot_name", "rejected_bot_name", "rejection_reason")
    visit(page, f"{base}/developer/versions/{world.failed_version.pk}/", "changelog", "bot_exception")


def test_the_policy_alone_stops_a_script_that_escaping_missed(browser, live_server, world):
    """Defence in depth: the bot page with payloads spliced in raw (as if a template forgot to escape) under the
    real response headers: the browser refuses to run them and reports the violations."""
    context = browser.new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    injected = (
        '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
        '<svg onload="window.__xss = 3"></svg><a id=js href="javascript:window.__xss = 4">x</a>'
    )

    def splice(route):
        response = route.fetch()
        body = response.text().replace('<main id="content" class="container">', "<main>" + injected, 1)
        assert injected in body
        route.fulfill(response=response, body=body)

    try:
        url = f"{live_server.url}/bots/{world.bot.slug}/"
        page.route(url, splice)
        page.goto(url)
        page.locator("#js").click()
        page.wait_for_timeout(200)
        assert page.evaluate("window.__xss") is None
        directives = {violation.split()[0] for violation in page.evaluate("window.__csp")}
        assert directives & {"script-src", "script-src-elem"} and directives & {"script-src", "script-src-attr"}
    finally:
        context.close()


def test_the_api_docs_work_under_the_policy(web, live_server):
    """Swagger UI (drf-spectacular's split view, its script a file) renders the operations, with no violation."""
    page = web.page
    page.context.add_init_script(WATCH)
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 10
    assert page.evaluate("window.__csp") == []
