"""The trader's trades and decision logs under /api/v1/, and asking for a key to be validated now."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import ExchangeCredential
from accounts.services import user_api_key_create
from accounts.tests.factories import ExchangeCredentialFactory
from subscriptions.tests.factories import ClosedTradeFactory, PerformanceLogFactory, SubscriptionFactory, TradeFactory
from trading import tasks

TRADES = reverse("api:trade-list")
LOGS = reverse("api:performance-log-list")
T0 = datetime(2021, 5, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # The throttles count in the cache, which outlives a test.
    cache.clear()


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_it_lists_only_the_callers_own_trades_newest_first(alice_client, alice, bob):
    subscription = SubscriptionFactory(user=alice)
    older = ClosedTradeFactory(
        subscription=subscription, entry_time=T0, exit_time=T0 + timedelta(hours=3), pnl=Decimal("9.29")
    )
    newer = TradeFactory(subscription=subscription, entry_time=T0 + timedelta(hours=5))
    TradeFactory(subscription=SubscriptionFactory(user=bob))
    TradeFactory(subscription=SubscriptionFactory(user=alice, user_principal_id="aaaaa-aa"))

    response = alice_client.get(TRADES)
    assert ids(response) == [newer.pk, older.pk]
    row = response.json()["results"][1]
    assert (row["subscription"], row["status"], row["side"]) == (subscription.pk, "CLOSED", "BUY")
    assert (row["pnl"], row["entry_price"], row["entry_time"]) == (
        "9.29000000",
        "35000.00000000",
        "2021-05-01T00:00:00Z",
    )


@pytest.mark.django_db
def test_it_filters_trades_by_subscription_status_and_time(alice_client, alice, bob):
    first, second = SubscriptionFactory(user=alice), SubscriptionFactory(user=alice)
    closed = ClosedTradeFactory(subscription=first, entry_time=T0, exit_time=T0 + timedelta(hours=2))
    opened = TradeFactory(subscription=first, entry_time=T0 + timedelta(days=1))
    other = TradeFactory(subscription=second, entry_time=T0 + timedelta(days=2))
    bobs = SubscriptionFactory(user=bob)
    TradeFactory(subscription=bobs)

    assert ids(alice_client.get(TRADES, {"subscription": first.pk})) == [opened.pk, closed.pk]
    assert ids(alice_client.get(TRADES, {"status": "OPEN"})) == [other.pk, opened.pk]
    assert ids(alice_client.get(TRADES, {"opened_after": "2021-05-02T00:00:00Z"})) == [other.pk, opened.pk]
    assert ids(alice_client.get(TRADES, {"opened_before": "2021-05-02T00:00:00Z"})) == [closed.pk]
    assert ids(alice_client.get(TRADES, {"closed_after": "2021-05-01T01:00:00", "closed_before": "2021-05-01T03:00"}))
    assert ids(alice_client.get(TRADES, {"subscription": bobs.pk})) == []  # someone else's: nothing, not an error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (TRADES, {"opened_after": "yesterday"}, "opened_after"),
        (TRADES, {"status": "HALF"}, "status"),
        (TRADES, {"subscription": "mine"}, "subscription"),
        (TRADES, {"subscription": "9" * 30}, "subscription"),  # beyond any id column: a 400, not an overflow
        (TRADES, {"closed_after": "9999-12-31T23:59:59-05:00"}, "closed_after"),  # past year 9999 in UTC
        (LOGS, {"action": "PANIC"}, "action"),
        (LOGS, {"before": "2021-13-01"}, "before"),
    ],
)
def test_it_refuses_a_bad_filter_value_naming_it(alice_client, url, params, field):
    response = alice_client.get(url, params)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {field}


@pytest.mark.django_db
def test_it_lists_only_the_callers_own_decisions_filtered(alice_client, alice, bob):
    subscription = SubscriptionFactory(user=alice)
    hold = PerformanceLogFactory(subscription=subscription, timestamp=T0)
    buy = PerformanceLogFactory(subscription=subscription, timestamp=T0 + timedelta(hours=1), action="BUY")
    PerformanceLogFactory(subscription=SubscriptionFactory(user=bob), timestamp=T0)

    response = alice_client.get(LOGS)
    assert ids(response) == [buy.pk, hold.pk]
    row = response.json()["results"][1]
    assert row["signal_data"] == {"fast_sma": 35010.5, "slow_sma": 34990.1}
    assert (row["price"], row["balance"], row["action"]) == ("35000.00000000", "10000.00000000", "HOLD")
    assert ids(alice_client.get(LOGS, {"action": "BUY"})) == [buy.pk]
    assert ids(alice_client.get(LOGS, {"after": "2021-05-01T00:30:00Z"})) == [buy.pk]
    assert ids(alice_client.get(LOGS, {"before": "2021-05-01T00:30:00Z", "subscription": subscription.pk})) == [hold.pk]


@pytest.mark.django_db
def test_it_refuses_anonymous_callers_with_401(client, alice):
    PerformanceLogFactory(subscription=SubscriptionFactory(user=alice))
    for url in (TRADES, LOGS):
        response = client.get(url)
        assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_in_a_fixed_number_of_queries(client, alice, rows, django_assert_num_queries):
    api_key = user_api_key_create(user=alice)
    subscriptions = [SubscriptionFactory(user=alice) for _ in range(3)]
    for n in range(rows):
        TradeFactory(subscription=subscriptions[n % 3])
        PerformanceLogFactory(subscription=subscriptions[n % 3])
    for url in (TRADES, LOGS):
        with django_assert_num_queries(3):  # the key's user, the count, the page
            response = client.get(url, {"page_size": 100}, HTTP_AUTHORIZATION=f"Api-Key {api_key}")
        assert response.json()["count"] == rows


# --- POST /api/v1/credentials/{id}/validate/ ------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_validates_the_callers_key_after_the_commit(
    alice_client, alice, fake_binance, alice_key, django_capture_on_commit_callbacks
):
    url = reverse("api:credential-validate", args=[alice_key.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = alice_client.post(url)
    assert response.status_code == 202
    assert response.json()["validation_status"] == "pending" and len(callbacks) == 1
    alice_key.refresh_from_db()
    assert alice_key.validation_status == ExchangeCredential.ValidationStatus.VALID
    assert fake_binance.requests(path="/api/v3/account")


@pytest.mark.django_db
def test_it_refuses_to_validate_another_users_key_or_for_anonymous(
    client, bob, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(tasks.credential_validate, "delay", enqueued.append)
    bobs = ExchangeCredentialFactory(user=bob)
    url = reverse("api:credential-validate", args=[bobs.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 401
        client.force_login(SubscriptionFactory().user)
        response = client.post(url)
    assert response.status_code == 404 and enqueued == []
    bobs.refresh_from_db()
    assert bobs.validation_status == "pending" and bobs.last_validated is None


@pytest.mark.django_db
def test_its_task_validates_one_credential_on_the_maintenance_queue(alice, fake_binance, alice_key, settings):
    assert settings.CELERY_TASK_ROUTES["trading.credential_validate"] == {"queue": "maintenance"}
    assert tasks.credential_validate.delay(alice_key.pk).get() == "valid"
    alice_key.refresh_from_db()
    assert alice_key.validation_status == "valid" and alice_key.last_validated is not None
