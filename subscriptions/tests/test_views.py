"""The trader's pages: dashboard, subscribe, a subscription's page, its settings, pause/resume/cancel."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import ExchangeCredentialFactory
from marketplace.tests.pages import REPLAY_START, builtin_bot, paper_subscription, subscribe_post
from subscriptions.models import PerformanceLog, Subscription
from subscriptions.tests.factories import ClosedTradeFactory, PerformanceLogFactory, TradeFactory

DASHBOARD = reverse("subscriptions:dashboard")


def _detail(subscription) -> str:
    return reverse("subscriptions:detail", args=[subscription.pk])


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_log_in(client, alice):
    subscription = paper_subscription(alice, builtin_bot())
    for url in (
        DASHBOARD,
        reverse("subscriptions:subscribe", args=["sma-crossover"]),
        _detail(subscription),
        reverse("subscriptions:edit", args=[subscription.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"{reverse('accounts:login')}?next={url}"
    client.post(reverse("subscriptions:cancel", args=[subscription.pk]))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE


@pytest.mark.django_db
def test_it_subscribes_from_the_form(alice_client, alice):
    bot = builtin_bot()
    page = alice_client.get(reverse("subscriptions:subscribe", args=[bot.slug])).content.decode()
    assert "Fast period" in page and "Stop loss (%)" in page and 'value="10"' in page
    assert "BTC/USDT" in page and "ETH/USDT" in page and "you have none yet" in page
    response = alice_client.post(reverse("subscriptions:subscribe", args=[bot.slug]), subscribe_post(bot), follow=True)
    subscription = Subscription.objects.get(user=alice)
    assert response.redirect_chain[-1][0] == _detail(subscription)
    assert "Subscribed" in response.content.decode()
    assert subscription.is_paper and subscription.risk_config["stop_loss_percent"] == 5
    assert subscription.execution_config["sell_order_value"] is None
    assert subscription.strategy_config == {"fast": 10, "slow": 30}


@pytest.mark.django_db
def test_it_shows_per_field_errors_and_stores_nothing(alice_client, alice):
    bot = builtin_bot()
    url = reverse("subscriptions:subscribe", args=[bot.slug])
    response = alice_client.post(url, subscribe_post(bot, strategy__fast="40", execution__order_type="market"))
    assert response.status_code == 400
    assert response.context["form"].errors["strategy__fast"] == ["must be less than slow (30)"]
    response = alice_client.post(
        url, subscribe_post(bot, execution__order_type="limit", execution__limit_offset_percent="75")
    )
    assert response.context["form"].errors["execution__limit_offset_percent"] == ["Must be less than 50."]
    response = alice_client.post(url, subscribe_post(bot, risk__stop_loss_percent="100", strategy__slow="9999"))
    assert set(response.context["form"].errors) == {"risk__stop_loss_percent", "strategy__slow"}
    ExchangeCredentialFactory(user=alice, exchange="KRAKEN", is_testnet=False, validation_status="valid")
    response = alice_client.post(url, subscribe_post(bot, mode="mainnet"))
    assert "yours: Kraken mainnet: valid" in response.content.decode()
    form = response.context["form"]
    assert "Add your Binance mainnet API key" in form.errors["mode"][0]
    assert form.errors["mainnet_confirmed"] == ["Confirm that this subscription trades real money."]
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_it_marks_payment_as_out_of_scope_and_offers_the_trial(alice_client, alice):
    bot = builtin_bot(price_per_month=Decimal("19.00"), is_free=False, trial_days=7)
    page = alice_client.get(reverse("subscriptions:subscribe", args=[bot.slug])).content.decode()
    assert "Payment is not part of this platform yet." in page
    assert "Start with the free 7-day trial" in page
    alice_client.post(reverse("subscriptions:subscribe", args=[bot.slug]), subscribe_post(bot, trial="on"))
    assert Subscription.objects.get(user=alice).is_trial


@pytest.mark.django_db
def test_it_refuses_to_subscribe_to_a_retired_bot(alice_client):
    bot = builtin_bot(status="ARCHIVED")
    response = alice_client.post(reverse("subscriptions:subscribe", args=[bot.slug]), subscribe_post(bot), follow=True)
    assert "is not open for subscriptions" in response.content.decode()
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_it_lists_my_subscriptions_with_their_results(alice_client, alice, bob):
    bot = builtin_bot()
    mine = paper_subscription(
        alice, bot, instance_name="Alice SMA", total_trades=4, winning_trades=3, total_pnl=Decimal("12.5")
    )
    paper_subscription(bob, bot, instance_name="Bob SMA")
    TradeFactory(subscription=mine, quantity=Decimal("1"), entry_price=Decimal("100"), entry_fee=Decimal("0"))
    PerformanceLogFactory(subscription=mine, price=Decimal("90"))
    late = paper_subscription(alice, bot, instance_name="Late one", next_run_at=timezone.now() - timedelta(minutes=6))
    response = alice_client.get(DASHBOARD)
    page = response.content.decode()
    assert "Alice SMA" in page and "Bob SMA" not in page
    assert "+12.50" in page and "75.0 %" in page and "open −10.00" in page
    rows = {s.instance_name: s for s in response.context["subscriptions"]}
    assert rows["Late one"].late and not rows["Alice SMA"].late
    assert late.pk and "late" in page


@pytest.mark.django_db
def test_it_shows_an_empty_dashboard_helpfully(alice_client):
    assert "Browse the catalog" in alice_client.get(DASHBOARD).content.decode()


def _populate_dashboard(owner, bot, count):
    for _ in range(count):
        subscription = paper_subscription(owner, bot)
        TradeFactory(subscription=subscription)
        ClosedTradeFactory(subscription=subscription)
        PerformanceLogFactory(subscription=subscription)


@pytest.mark.django_db
def test_it_lists_the_dashboard_with_a_query_count_that_does_not_grow(
    alice_client, alice, django_assert_max_num_queries
):
    bot = builtin_bot()
    _populate_dashboard(alice, bot, 2)
    with django_assert_max_num_queries(5) as few:
        alice_client.get(DASHBOARD)
    _populate_dashboard(alice, bot, 30)
    with django_assert_max_num_queries(5) as many:
        response = alice_client.get(DASHBOARD)
    assert len(response.context["subscriptions"]) == 32
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
def test_it_answers_404_for_someone_elses_subscription(client, alice, bob):
    subscription = paper_subscription(alice, builtin_bot())
    client.force_login(bob)
    for name in ("detail", "edit"):
        assert client.get(reverse(f"subscriptions:{name}", args=[subscription.pk])).status_code == 404
    for name in ("pause", "cancel"):
        assert client.post(reverse(f"subscriptions:{name}", args=[subscription.pk])).status_code == 404
    response = client.post(reverse("subscriptions:edit", args=[subscription.pk]), {"instance_name": "mine now"})
    assert response.status_code == 404
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE and subscription.instance_name != "mine now"
    assert "Page not found" in client.get(_detail(subscription)).content.decode()


@pytest.mark.django_db
def test_it_pauses_resumes_and_cancels_through_the_services(alice_client, alice):
    subscription = paper_subscription(alice, builtin_bot())
    assert alice_client.get(reverse("subscriptions:pause", args=[subscription.pk])).status_code == 405
    alice_client.post(reverse("subscriptions:pause", args=[subscription.pk]))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAUSED
    response = alice_client.post(reverse("subscriptions:resume", args=[subscription.pk]), {"back": "dashboard"})
    assert response["Location"] == DASHBOARD
    alice_client.post(reverse("subscriptions:cancel", args=[subscription.pk]))
    response = alice_client.post(reverse("subscriptions:resume", args=[subscription.pk]), follow=True)
    assert "cannot be resumed" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED
    actions = list(AuditLog.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["subscription.pause", "subscription.resume", "subscription.cancel"]


@pytest.mark.django_db
def test_it_shows_trades_decisions_health_and_the_stop_reason(alice_client, alice):
    subscription = paper_subscription(
        alice,
        builtin_bot(),
        status=Subscription.Status.ERROR,
        status_reason="The bot failed: boom",
        last_run_at=REPLAY_START,
        next_run_at=None,
    )
    ClosedTradeFactory(subscription=subscription, pnl=Decimal("7"), exit_time=REPLAY_START, exit_reason="SIGNAL")
    TradeFactory(subscription=subscription, quantity=Decimal("1"), entry_price=Decimal("100"), entry_fee=Decimal("0"))
    for hour in range(30):
        PerformanceLogFactory(
            subscription=subscription,
            timestamp=REPLAY_START + timedelta(hours=hour),
            price=Decimal("110"),
            signal_data={"reason": f"reason {hour}", "indicators": {"sma_fast": 1.5}},
        )
    response = alice_client.get(_detail(subscription))
    page = response.content.decode()
    assert "Stopped:" in page and "The bot failed: boom" in page
    assert "reason 29" in page and "reason 4" not in page and "sma_fast=1.50" in page
    assert "Page 1 of 2" in page
    assert "reason 4" in alice_client.get(_detail(subscription), {"page": 2}).content.decode()
    points = response.context["equity_points"]
    assert [point["pnl"] for point in points] == ["0", "7", "17"]  # + the open trade marked at 110
    assert "+10.00" in page  # its floating P&L


@pytest.mark.django_db
def test_it_flags_a_late_run(alice_client, alice):
    subscription = paper_subscription(alice, builtin_bot(), next_run_at=timezone.now() - timedelta(minutes=10))
    assert alice_client.get(_detail(subscription)).context["late"]
    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=timezone.now() - timedelta(minutes=2))
    assert not alice_client.get(_detail(subscription)).context["late"]


@pytest.mark.django_db
def test_it_edits_the_settings_and_refuses_bad_ones(alice_client, alice):
    bot = builtin_bot()
    alice_client.post(reverse("subscriptions:subscribe", args=[bot.slug]), subscribe_post(bot))
    subscription = Subscription.objects.get(user=alice)
    url = reverse("subscriptions:edit", args=[subscription.pk])
    page = alice_client.get(url).content.decode()
    assert 'value="My SMA"' in page
    fields = {k: v for k, v in subscribe_post(bot).items() if "__" in k}
    response = alice_client.post(url, {**fields, "instance_name": "Renamed", "strategy__fast": "50"})
    assert response.status_code == 400
    assert response.context["form"].errors["strategy__fast"] == ["must be less than slow (30)"]
    subscription.refresh_from_db()
    assert subscription.instance_name == "My SMA" and subscription.strategy_config["fast"] == 10
    response = alice_client.post(url, {**fields, "instance_name": "Renamed", "strategy__fast": "12"})
    assert response["Location"] == _detail(subscription)
    subscription.refresh_from_db()
    assert subscription.instance_name == "Renamed" and subscription.strategy_config["fast"] == 12


@pytest.mark.django_db
def test_it_shows_the_decision_of_a_scheduler_tick(alice_client, alice):
    bot = builtin_bot()
    subscription = paper_subscription(alice, bot)
    call_command("run_due_subscriptions", "--now", REPLAY_START.isoformat())
    log = PerformanceLog.objects.get(subscription=subscription)
    page = alice_client.get(_detail(subscription)).content.decode()
    assert log.get_action_display() in page and "sma_fast=" in page
