"""A trader's journey in a real browser: sign up, browse, filter, open a bot, subscribe on paper, watch the
scheduler's decision arrive, add an exchange key whose secret never comes back; and another user sees nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command

from accounts.models import ExchangeCredential
from accounts.tests.factories import PASSWORD, ExchangeCredentialFactory, UserFactory
from marketplace.tests.pages import REPLAY_START, builtin_bot, paper_subscription
from subscriptions.models import PerformanceLog, Subscription

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

API_KEY = "pw9Xc2LrT4uVb7NzQe3KsYh6JdFg8MaW1oRt5EyUiOpAsDfGhJkLzXcVbNmQwE2k"
API_SECRET = "SECRETs3cr3tZx9Qw8Er7Ty6Ui5Op4As3Df2Gh1JkLzXcVbNmQwErTyUiOpAsDf"


def test_it_takes_a_trader_from_sign_up_to_a_running_paper_bot(web, settings):
    from playwright.sync_api import expect  # here: the `web` fixture has checked that Playwright is installed

    # Carol is the bot's only paper subscriber: publish outcomes of a group of one here, to see her record fill up
    # (the privacy rule itself is marketplace/tests/security/test_aggregate_outcomes.py).
    settings.SUBSCRIBER_OUTCOMES_MIN_GROUP = 1
    cache.clear()
    builtin_bot("sma-crossover")
    builtin_bot("rsi-reversion", price_per_month=Decimal("19.00"), is_free=False, trial_days=7)
    page = web.page

    # Sign up as a trader.
    web.goto("/")
    web.screenshot("01-catalog")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill("carol@example.com")
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-42")
    page.get_by_label("Password again").fill("a-long-passphrase-42")
    page.get_by_label("Trader: I want to run bots on my exchange account").check()
    web.screenshot("02-signup")
    page.get_by_role("button", name="Sign up").click()
    assert "Your trader account is ready" in web.remember()

    # Browse and filter: free bots only.
    assert page.get_by_role("heading", name="2 bots").is_visible()
    page.get_by_label("Price", exact=True).select_option("free")
    page.get_by_label("Sort by").select_option("return")
    page.get_by_role("button", name="Apply").click()
    html = web.remember()
    assert "1 bot" in html and "SMA crossover" in html and "RSI" not in html.split("results-title")[1]
    web.screenshot("03-catalog-filtered")

    # The bot's page: backtest with its chart, empty paper/live records.
    page.get_by_role("link", name="SMA crossover").click()
    html = web.remember()
    assert "Performance, as the platform ran it" in html and "Binance BTC/USDT, 1h candles" in html
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-backtest'))")
    assert "No paper trading subscription has run this bot yet." in html
    web.screenshot("04-bot")

    # Subscribe on paper with a stop loss.
    page.get_by_role("link", name="Subscribe").click()
    assert page.get_by_label("Paper: simulated orders on real prices, no exchange key needed").is_checked()
    expect(page.locator("#mainnet-confirm")).to_be_hidden()  # site.js shows it for mainnet only
    page.get_by_label("Mainnet: real orders with real money").check()
    expect(page.locator("#mainnet-confirm")).to_be_visible()
    page.get_by_label("Paper: simulated orders on real prices, no exchange key needed").check()
    page.get_by_label("Name").fill("Carol's SMA")
    page.get_by_label("Fast period").fill("5")
    page.get_by_label("Slow period").fill("20")
    page.get_by_label("Stop loss (%)").fill("3")
    web.screenshot("05-subscribe")
    page.get_by_role("button", name="Subscribe").click()
    html = web.remember()
    assert "Subscribed: “Carol's SMA”" in html
    subscription = Subscription.objects.get(user__email="carol@example.com")
    assert subscription.is_paper and subscription.risk_config["stop_loss_percent"] == 3

    # The dashboard lists it.
    page.get_by_role("link", name="Dashboard").click()
    html = web.remember()
    assert "Carol's SMA" in html and "Active" in html and "at the next tick" in html
    web.screenshot("06-dashboard")

    # One scheduler tick inside the shipped candles; the decision appears in the log.
    Subscription.objects.filter(pk=subscription.pk).update(started_at=REPLAY_START - timedelta(hours=1))
    call_command("run_due_subscriptions", "--now", REPLAY_START.isoformat())
    decision = PerformanceLog.objects.get(subscription=subscription)
    page.get_by_role("link", name="Carol's SMA").click()
    html = web.remember()
    assert decision.get_action_display() in html and "sma_fast=" in html and "sma_slow=" in html
    assert "Last run" in html and "not yet" not in html.split("Last run")[1][:80]

    # A week of hourly ticks: trades open and close, the chart and the bot's paper record fill up.
    for hour in range(1, 24 * 7):
        call_command("run_due_subscriptions", "--now", (REPLAY_START + timedelta(hours=hour)).isoformat())
    subscription.refresh_from_db()
    assert subscription.total_trades > 0
    page.reload()
    web.remember()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-subscription'))")
    web.screenshot("07-subscription")
    web.goto("/bots/sma-crossover/")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-paper'))")
    assert "What its 1 subscription got" in web.html[-1][1]
    web.screenshot("07b-bot-with-paper-record")

    # Add an exchange key: the secret is never shown again, on any page.
    page.get_by_role("link", name="Exchange keys").click()
    assert page.get_by_role("heading", name="Never give a key permission to withdraw").is_visible()
    expect(page.get_by_label("Passphrase")).to_be_hidden()  # Binance issues none
    page.get_by_label("Exchange").select_option("BINANCE")
    page.get_by_label("API key").fill(API_KEY)
    page.get_by_label("API secret").fill(API_SECRET)
    page.get_by_role("button", name="Save the key").click()
    html = web.remember()
    assert "••••" + API_KEY[-4:] in html
    web.screenshot("08-credentials")
    for path in (
        "/accounts/credentials/",
        "/subscriptions/",
        f"/subscriptions/{subscription.pk}/",
        "/accounts/profile/",
        "/bots/sma-crossover/",
        "/subscriptions/new/sma-crossover/",
        "/accounts/api-key/",
    ):
        web.goto(path)
    web.screenshot("09-subscribe-form-for-another")
    leaked = [url for url, content in web.html if API_SECRET in content or API_KEY in content]
    assert leaked == []
    assert ExchangeCredential.objects.get().api_key_hint == API_KEY[-4:]


def test_it_shows_nobody_else_my_subscription_or_keys(web, live_server):
    alice = UserFactory(email="alice@example.com")
    UserFactory(email="bob@example.com")
    subscription = paper_subscription(alice, builtin_bot(), instance_name="Alice's secret strategy")
    credential = ExchangeCredentialFactory(user=alice, api_key="alice-api-key-000000-QRST")
    page = web.page

    web.goto("/accounts/login/")
    page.get_by_label("Email").fill("bob@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert "No bots yet" in web.remember()

    for path in (f"/subscriptions/{subscription.pk}/", f"/subscriptions/{subscription.pk}/settings/"):
        response = web.goto(path)
        assert response.status == 404
        assert "Page not found" in web.html[-1][1] and "Alice's secret strategy" not in web.html[-1][1]
    web.screenshot("10-not-found")

    web.goto("/accounts/credentials/")
    assert "QRST" not in web.html[-1][1] and "No exchange keys yet" in web.html[-1][1]
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/accounts/credentials/{credential.pk}/delete/", headers={"X-CSRFToken": csrf}
    )
    assert response.status == 404
    assert ExchangeCredential.objects.filter(pk=credential.pk).exists()
    web.errors = [error for error in web.errors if "status of 404" not in error]

    # The catalog on a phone: one column, nothing cut off.
    page.set_viewport_size({"width": 390, "height": 844})
    web.goto("/bots/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    web.screenshot("11-catalog-phone")
