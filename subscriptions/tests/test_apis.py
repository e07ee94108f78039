"""The trader's subscriptions under /api/v1/subscriptions/: the same services as the pages, own objects only."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog
from accounts.services import user_api_key_create
from marketplace.tests.pages import builtin_bot, paper_subscription
from subscriptions.models import Subscription

LIST = reverse("api:subscription-list")


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # The throttles count in the cache, which outlives a test.
    cache.clear()


@pytest.fixture
def bot(db):
    return builtin_bot()


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def detail_url(subscription, action: str = "") -> str:
    name = f"api:subscription-{action}" if action else "api:subscription-detail"
    return reverse(name, args=[subscription.pk])


def subscribe_body(**overrides) -> dict:
    body = {
        "bot": "sma-crossover",
        "mode": "paper",
        "exchange_type": "BINANCE",
        "trading_pair": "BTC/USDT",
        "timeframe": "1h",
        "instance_name": "My SMA",
        "strategy_config": {"fast": 7},
        "risk_config": {"stop_loss_percent": 5},
    }
    return body | overrides


@pytest.mark.django_db
def test_it_subscribes_with_an_api_key_and_stores_the_filled_configs(client, alice, bot):
    key = user_api_key_create(user=alice)
    response = client.post(LIST, subscribe_body(), content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 201, response.json()
    body = response.json()
    subscription = Subscription.objects.get(user=alice)
    assert body["id"] == subscription.pk and body["bot"] == {"slug": "sma-crossover", "name": bot.name}
    assert (body["status"], body["mode"], body["instance_name"]) == ("ACTIVE", "paper", "My SMA")
    assert body["strategy_config"] == {"fast": 7, "slow": 30}
    assert body["health"] == {"late": False, "last_error": "", "consecutive_failures": 0}
    assert (body["total_trades"], body["total_pnl"], body["win_rate"]) == (0, "0.00000000", None)
    assert subscription.is_paper and subscription.strategy_config == {"fast": 7, "slow": 30}
    assert subscription.risk_config["stop_loss_percent"] == 5
    assert AuditLog.objects.get(action="subscription.create").user == alice


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"mode": "moon"}, {"mode"}),
        ({"exchange_type": "MTGOX"}, {"exchange_type"}),
        ({"bot": "no-such-bot"}, {"bot"}),
        ({"strategy_config": "fast"}, {"strategy_config"}),
        ({"trading_pair": "DOGE/XYZ", "strategy_config": {"fast": "ten"}}, {"trading_pair", "strategy_config.fast"}),
        ({"mode": "mainnet"}, {"mode", "mainnet_confirmed"}),
        ({"timeframe": "7m"}, {"timeframe"}),
    ],
)
def test_it_refuses_bad_input_naming_the_fields_and_stores_nothing(alice_client, bot, overrides, fields):
    response = alice_client.post(LIST, subscribe_body(**overrides), content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == fields
    assert not Subscription.objects.exists()
    assert not AuditLog.objects.filter(action="subscription.create").exists()


@pytest.mark.django_db
def test_it_refuses_a_pending_bot_as_the_subscribe_page_does(alice_client, bot):
    bot.status = "PENDING"
    bot.save()
    response = alice_client.post(LIST, subscribe_body(), content_type="application/json")
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"bot"}
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_it_lists_only_the_callers_own_subscriptions_and_filters_by_status(alice_client, alice, bob, bot):
    mine = paper_subscription(alice, bot, instance_name="Mine")
    paused = paper_subscription(alice, bot, instance_name="Paused", status=Subscription.Status.PAUSED)
    paper_subscription(bob, bot, instance_name="Bob's")
    paper_subscription(alice, bot, instance_name="A principal's", user_principal_id="aaaaa-aa")

    body = alice_client.get(LIST).json()
    assert body["count"] == 2
    assert {row["id"] for row in body["results"]} == {mine.pk, paused.pk}
    only_paused = alice_client.get(LIST, {"status": "PAUSED"}).json()
    assert [row["instance_name"] for row in only_paused["results"]] == ["Paused"]

    response = alice_client.get(LIST, {"status": "RUNNING"})
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"status"}


@pytest.mark.django_db
def test_it_shows_status_run_health_and_counters(alice_client, alice, bot):
    now = timezone.now()
    subscription = paper_subscription(
        alice,
        bot,
        status_reason="",
        next_run_at=now - timedelta(hours=1),
        last_run_at=now - timedelta(hours=2),
        last_error="No run since 10:00 UTC: the platform is catching up.",
        total_trades=4,
        winning_trades=3,
        total_pnl=Decimal("12.34000000"),
    )
    body = alice_client.get(detail_url(subscription)).json()
    assert body["health"]["late"] is True and body["health"]["last_error"].startswith("No run since")
    assert (body["total_trades"], body["winning_trades"], body["total_pnl"], body["win_rate"]) == (
        4,
        3,
        "12.34000000",
        "0.7500",
    )
    assert body["next_run_at"].endswith("Z") and body["last_run_at"].endswith("Z")


@pytest.mark.django_db
def test_it_pauses_resumes_and_cancels_through_the_services(alice_client, alice, bot):
    subscription = paper_subscription(alice, bot)
    response = alice_client.post(detail_url(subscription, "pause"))
    assert response.status_code == 200 and response.json()["status"] == "PAUSED"
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAUSED

    assert alice_client.post(detail_url(subscription, "resume")).json()["status"] == "ACTIVE"
    assert alice_client.post(detail_url(subscription, "cancel")).json()["status"] == "CANCELLED"
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED
    actions = list(AuditLog.objects.filter(record_id=subscription.pk).order_by("pk").values_list("action", flat=True))
    assert actions == ["subscription.pause", "subscription.resume", "subscription.cancel"]

    response = alice_client.post(detail_url(subscription, "resume"))
    assert response.status_code == 400
    assert response.json()["error"]["message"].endswith("is cancelled and cannot be resumed.")
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED


@pytest.mark.django_db
def test_it_changes_the_name_and_the_configs_it_is_given_and_keeps_the_others(alice_client, alice, bot):
    created = alice_client.post(LIST, subscribe_body(), content_type="application/json").json()
    subscription = Subscription.objects.get(pk=created["id"])
    risk_before = subscription.risk_config

    response = alice_client.patch(
        detail_url(subscription),
        {"instance_name": "Renamed", "strategy_config": {"fast": 8}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    subscription.refresh_from_db()
    assert subscription.instance_name == "Renamed"
    assert subscription.strategy_config == {"fast": 8, "slow": 30}
    assert subscription.risk_config == risk_before
    assert response.json()["strategy_config"] == {"fast": 8, "slow": 30}

    response = alice_client.patch(
        detail_url(subscription), {"strategy_config": {"fast": "ten"}}, content_type="application/json"
    )
    assert response.status_code == 400 and "strategy_config.fast" in response.json()["error"]["fields"]
    subscription.refresh_from_db()
    assert subscription.strategy_config == {"fast": 8, "slow": 30}


@pytest.mark.django_db
def test_it_answers_another_users_subscription_with_404_and_changes_nothing(client, alice, bob, bot):
    subscription = paper_subscription(alice, bot, instance_name="Alice's")
    client.force_login(bob)
    assert client.get(detail_url(subscription)).status_code == 404
    response = client.patch(detail_url(subscription), {"instance_name": "Bob's now"}, content_type="application/json")
    assert response.status_code == 404
    for action in ("pause", "cancel"):
        response = client.post(detail_url(subscription, action))
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    subscription.refresh_from_db()
    assert (subscription.instance_name, subscription.status) == ("Alice's", Subscription.Status.ACTIVE)


@pytest.mark.django_db
def test_it_hides_a_marketplace_principals_subscription_from_its_account(alice_client, alice, bot):
    subscription = paper_subscription(alice, bot, user_principal_id="aaaaa-aa")
    assert alice_client.get(detail_url(subscription)).status_code == 404
    assert alice_client.post(detail_url(subscription, "cancel")).status_code == 404
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE


@pytest.mark.django_db
def test_it_refuses_anonymous_callers_with_401(client, alice, bot):
    subscription = paper_subscription(alice, bot)
    assert client.get(LIST).status_code == 401
    assert client.post(LIST, subscribe_body(), content_type="application/json").status_code == 401
    assert client.get(detail_url(subscription)).status_code == 401
    response = client.post(detail_url(subscription, "cancel"))
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE and Subscription.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_in_a_fixed_number_of_queries(client, alice, bot, rows, django_assert_num_queries):
    key = user_api_key_create(user=alice)
    for _ in range(rows):
        paper_subscription(alice, bot)
    # The key's user, the count, the page (bot joined).
    with django_assert_num_queries(3):
        response = client.get(LIST, {"page_size": 100}, HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert len(response.json()["results"]) == rows
