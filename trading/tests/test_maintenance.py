"""The engine's periodic maintenance services: expiry, bot statistics, log pruning, key validation, late runs."""

import logging
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditLog, ExchangeCredential
from accounts.services import credential_create
from bots.models import Bot, BotPerformance
from bots.tests.factories import ApprovedBotFactory, BotReviewFactory
from subscriptions.models import PerformanceLog, Subscription
from subscriptions.tests.factories import ClosedTradeFactory, PerformanceLogFactory, SubscriptionFactory, TradeFactory
from trading import maintenance
from trading.maintenance import (
    PERIOD_ENDED,
    TRIAL_ENDED,
    WITHDRAWALS_REFUSED,
    bot_statistics_refresh,
    credentials_validate,
    max_drawdown,
    performance_logs_prune,
    runs_health_check,
    subscriptions_expire,
)
from trading.tests.conftest import API_KEY, API_SECRET, make_testnet_subscription
from trading.tests.factories import PaperAccountFactory

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
DAY_START = datetime(2025, 3, 10, tzinfo=UTC)


# --- expiry --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_expires_active_and_paused_subscriptions_whose_period_ended(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    active = SubscriptionFactory(user=alice, expires_at=NOW - timedelta(minutes=1))
    paused = SubscriptionFactory(user=alice, status=Subscription.Status.PAUSED, expires_at=NOW)
    running = SubscriptionFactory(user=alice, expires_at=NOW + timedelta(days=3))

    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_expire(now=NOW) == 2

    for subscription in (active, paused, running):
        subscription.refresh_from_db()
    assert active.status == paused.status == Subscription.Status.EXPIRED
    assert active.status_reason == PERIOD_ENDED
    assert running.status == Subscription.Status.ACTIVE
    audits = AuditLog.objects.filter(action="subscription.expire").order_by("record_id")
    assert [a.record_id for a in audits] == [active.pk, paused.pk]
    assert audits[0].old_values == {"status": "ACTIVE"} and audits[1].old_values == {"status": "PAUSED"}
    assert audits[0].user is None
    assert len(mailoutbox) == 2
    assert mailoutbox[0].to == ["alice@example.com"] and "expired" in mailoutbox[0].subject
    assert PERIOD_ENDED in mailoutbox[0].body


@pytest.mark.django_db
def test_it_expires_a_trial_whose_trial_ended_and_emails_the_owner_once(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    trial = SubscriptionFactory(user=alice, is_trial=True, trial_expires_at=NOW - timedelta(hours=1))
    # A trial date on a subscription that is no longer a trial (it was paid for) does not expire it.
    converted = SubscriptionFactory(user=alice, is_trial=False, trial_expires_at=NOW - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_expire(now=NOW) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_expire(now=NOW) == 0

    trial.refresh_from_db()
    converted.refresh_from_db()
    assert trial.status == Subscription.Status.EXPIRED and trial.status_reason == TRIAL_ENDED
    assert converted.status == Subscription.Status.ACTIVE
    assert AuditLog.objects.filter(action="subscription.expire", record_id=trial.pk).count() == 1
    assert len(mailoutbox) == 1 and TRIAL_ENDED in mailoutbox[0].body


@pytest.mark.django_db
def test_it_leaves_cancelled_and_stopped_subscriptions_alone(alice, mailoutbox, django_capture_on_commit_callbacks):
    past = NOW - timedelta(days=1)
    cancelled = SubscriptionFactory(user=alice, status=Subscription.Status.CANCELLED, expires_at=past)
    cancelled_trial = SubscriptionFactory(
        user=alice, status=Subscription.Status.CANCELLED, is_trial=True, trial_expires_at=past
    )
    stopped = SubscriptionFactory(user=alice, status=Subscription.Status.ERROR, expires_at=past)

    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_expire(now=NOW) == 0

    for subscription, status in ((cancelled, "CANCELLED"), (cancelled_trial, "CANCELLED"), (stopped, "ERROR")):
        subscription.refresh_from_db()
        assert subscription.status == status
    assert not AuditLog.objects.filter(action="subscription.expire").exists()
    assert mailoutbox == []


# --- statistics and the daily snapshot ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_counts_only_active_subscribers_and_averages_ratings_to_two_places():
    rated, unrated, thirds = ApprovedBotFactory(), ApprovedBotFactory(), ApprovedBotFactory()
    BotReviewFactory(bot=rated, rating=4)
    BotReviewFactory(bot=rated, rating=5)
    for rating in (5, 5, 4):  # 4.666… rounds half-up to 4.67
        BotReviewFactory(bot=thirds, rating=rating)
    SubscriptionFactory.create_batch(2, bot=rated)
    for status in ("PAUSED", "CANCELLED", "EXPIRED", "ERROR"):
        SubscriptionFactory(bot=rated, status=status)

    assert bot_statistics_refresh(today=TODAY) == 3

    rated.refresh_from_db()
    unrated.refresh_from_db()
    thirds.refresh_from_db()
    assert (rated.total_subscribers, rated.average_rating, rated.total_reviews) == (2, Decimal("4.50"), 2)
    assert (unrated.total_subscribers, unrated.average_rating, unrated.total_reviews) == (0, Decimal("0.00"), 0)
    assert (thirds.average_rating, thirds.total_reviews) == (Decimal("4.67"), 3)


@pytest.mark.django_db
def test_it_brings_stale_statistics_back_down():
    bot = ApprovedBotFactory()
    Bot.objects.filter(pk=bot.pk).update(total_subscribers=9, average_rating=Decimal("3.10"), total_reviews=4)

    bot_statistics_refresh(today=TODAY)

    bot.refresh_from_db()
    assert (bot.total_subscribers, bot.average_rating, bot.total_reviews) == (0, Decimal("0.00"), 0)


def _bots_with_activity(count):
    for _ in range(count):
        bot = ApprovedBotFactory()
        BotReviewFactory(bot=bot, rating=3)
        subscription = SubscriptionFactory(bot=bot)
        PaperAccountFactory(subscription=subscription)
        PerformanceLogFactory(subscription=subscription, timestamp=DAY_START - timedelta(hours=1))
        ClosedTradeFactory(subscription=subscription, exit_time=DAY_START + timedelta(hours=2))
        TradeFactory(subscription=subscription, entry_time=DAY_START - timedelta(hours=3))


@pytest.mark.django_db
def test_it_refreshes_statistics_in_a_number_of_queries_that_does_not_grow_with_the_bots():
    _bots_with_activity(3)
    with CaptureQueriesContext(connection) as few:
        assert bot_statistics_refresh(today=TODAY) == 3
    Bot.objects.update(total_subscribers=0)  # so every bot is written again, not only the new ones
    _bots_with_activity(40)
    with CaptureQueriesContext(connection) as many:
        assert bot_statistics_refresh(today=TODAY) == 43

    assert len(many.captured_queries) == len(few.captured_queries) <= 12
    assert BotPerformance.objects.filter(date=TODAY).count() == 43
    assert set(Bot.objects.values_list("total_subscribers", "average_rating", "total_reviews")) == {
        (1, Decimal("3.00"), 1)
    }


@pytest.mark.django_db
def test_it_writes_the_days_snapshot_from_the_trades_closed_that_day():
    bot, quiet = ApprovedBotFactory(), ApprovedBotFactory()
    paper = SubscriptionFactory(bot=bot, is_paper=True)
    PaperAccountFactory(subscription=paper, starting_balance=Decimal("10000"))
    SubscriptionFactory(bot=bot, status="PAUSED")
    for hour, pnl in ((1, "100"), (2, "-300"), (3, "-200"), (4, "50")):
        ClosedTradeFactory(subscription=paper, pnl=Decimal(pnl), exit_time=DAY_START + timedelta(hours=hour))
    # Not today's: closed yesterday, closed tomorrow, still open.
    ClosedTradeFactory(subscription=paper, pnl=Decimal("-5000"), exit_time=DAY_START - timedelta(seconds=1))
    ClosedTradeFactory(subscription=paper, pnl=Decimal("-5000"), exit_time=DAY_START + timedelta(days=1))
    TradeFactory(subscription=paper, entry_time=DAY_START + timedelta(hours=5))

    bot_statistics_refresh(today=TODAY)

    day = BotPerformance.objects.get(bot=bot, date=TODAY)
    assert (day.total_trades, day.winning_trades, day.total_pnl) == (4, 2, Decimal("-350"))
    assert day.win_rate == Decimal("0.5000")
    # Equity 10000 -> 10100 (peak) -> 9800 -> 9600 (trough) -> 9650: (10100 - 9600) / 10100 = 0.04950…
    assert day.max_drawdown == Decimal("0.0495")
    assert day.active_subscriptions == 1
    empty = BotPerformance.objects.get(bot=quiet, date=TODAY)
    assert (empty.total_trades, empty.total_pnl, empty.win_rate, empty.max_drawdown) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_it_measures_drawdown_against_cash_and_open_positions_at_the_start_of_the_day():
    bot = ApprovedBotFactory()
    live = SubscriptionFactory(bot=bot)
    PerformanceLogFactory(subscription=live, balance=Decimal("1000"), timestamp=DAY_START - timedelta(days=2))
    PerformanceLogFactory(subscription=live, balance=Decimal("4000"), timestamp=DAY_START - timedelta(hours=1))
    PerformanceLogFactory(subscription=live, balance=Decimal("99999"), timestamp=DAY_START + timedelta(hours=1))
    # Bought yesterday (0.1 at 30000, fee 3), sold today at a loss: 4000 cash + 3003 at cost = 7003 of equity.
    ClosedTradeFactory(
        subscription=live,
        quantity=Decimal("0.1"),
        entry_price=Decimal("30000"),
        entry_fee=Decimal("3"),
        entry_time=DAY_START - timedelta(hours=2),
        pnl=Decimal("-1400.60"),
        exit_time=DAY_START + timedelta(hours=6),
    )

    bot_statistics_refresh(today=TODAY)

    day = BotPerformance.objects.get(bot=bot, date=TODAY)
    assert day.max_drawdown == Decimal("0.2000")
    assert day.total_pnl == Decimal("-1400.60") and day.win_rate == 0


@pytest.mark.django_db
def test_it_counts_a_partly_sold_position_once_at_its_whole_cost():
    bot = ApprovedBotFactory()
    live = SubscriptionFactory(bot=bot)
    PerformanceLogFactory(subscription=live, balance=Decimal("0"), timestamp=DAY_START - timedelta(hours=1))
    bought = DAY_START - timedelta(hours=5)
    position = {"entry_price": Decimal("30000"), "entry_time": bought, "entry_fee": Decimal("1.5")}
    # One buy of 0.3, sold in three parts: yesterday (gone by 00:00), today at a loss, and still open.
    ClosedTradeFactory(subscription=live, quantity=Decimal("0.1"), exit_time=bought + timedelta(hours=1), **position)
    ClosedTradeFactory(
        subscription=live,
        quantity=Decimal("0.1"),
        pnl=Decimal("-600.30"),
        exit_time=DAY_START + timedelta(hours=3),
        **position,
    )
    TradeFactory(subscription=live, quantity=Decimal("0.1"), **position)

    bot_statistics_refresh(today=TODAY)

    # Equity at 00:00: 0 cash + two parts of 0.1 at 3001.50 each = 6003; the loss is 600.30 of it.
    assert BotPerformance.objects.get(bot=bot).max_drawdown == Decimal("0.1000")


@pytest.mark.django_db
def test_it_overwrites_the_days_snapshot_when_run_again():
    bot = ApprovedBotFactory()
    subscription = SubscriptionFactory(bot=bot)
    ClosedTradeFactory(subscription=subscription, pnl=Decimal("10"), exit_time=DAY_START + timedelta(hours=1))
    bot_statistics_refresh(today=TODAY)
    ClosedTradeFactory(subscription=subscription, pnl=Decimal("-4"), exit_time=DAY_START + timedelta(hours=2))

    bot_statistics_refresh(today=TODAY)

    day = BotPerformance.objects.get(bot=bot)
    assert (day.total_trades, day.winning_trades, day.total_pnl, day.win_rate) == (2, 1, Decimal("6"), Decimal("0.5"))


def test_it_caps_drawdown_at_all_of_the_equity_and_ignores_unknown_equity():
    assert max_drawdown(equity=Decimal("100"), pnls=[Decimal("-150")]) == Decimal("1")
    assert max_drawdown(equity=Decimal("100"), pnls=[Decimal("10"), Decimal("20")]) == 0
    assert max_drawdown(equity=Decimal("0"), pnls=[Decimal("-5")]) == 0
    assert max_drawdown(equity=Decimal("200"), pnls=[]) == 0


# --- pruning -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_prunes_old_logs_in_batches_and_keeps_the_recent_ones():
    subscription = SubscriptionFactory()
    for days in range(91, 98):
        PerformanceLogFactory(subscription=subscription, timestamp=NOW - timedelta(days=days))
    recent = [
        PerformanceLogFactory(subscription=subscription, timestamp=NOW - timedelta(days=days)).pk
        for days in (0, 30, 89)
    ]

    with CaptureQueriesContext(connection) as queries:
        assert performance_logs_prune(now=NOW, batch_size=3) == 7

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 3 + 3 + 1, never one DELETE for everything
    assert sorted(PerformanceLog.objects.values_list("pk", flat=True)) == sorted(recent)
    assert performance_logs_prune(now=NOW, batch_size=3) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("arguments", [{"keep_days": 0}, {"batch_size": 0}])
def test_it_refuses_a_retention_or_batch_below_one(arguments):
    PerformanceLogFactory(timestamp=NOW)
    with pytest.raises(ValueError, match="at least 1"):
        performance_logs_prune(now=NOW, **arguments)
    assert PerformanceLog.objects.count() == 1


# --- credential validation against the fake Binance ----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_it_marks_a_working_key_valid(alice, fake_binance, alice_key):
    now = timezone.now()
    assert credentials_validate(now=now) == 1

    alice_key.refresh_from_db()
    assert alice_key.validation_status == "valid" and alice_key.validation_error == ""
    assert alice_key.last_validated == now
    assert fake_binance.requests(path="/api/v3/account")[-1].api_key == API_KEY
    assert AuditLog.objects.filter(action="credential.validate", record_id=alice_key.pk).get().new_values == {
        "validation_status": "valid"
    }
    # Already valid: not checked again unless asked to.
    account_calls = len(fake_binance.requests(path="/api/v3/account"))
    assert credentials_validate(now=now) == 0
    assert len(fake_binance.requests(path="/api/v3/account")) == account_calls


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_wrong_secret_and_stops_the_subscriptions_that_use_the_key(
    alice, bob, sma_bot, fake_binance, mailoutbox
):
    wrong_secret = "wrong-secret-0123456789abcdefWXYZ"
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    credential = credential_create(
        user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=wrong_secret, is_testnet=True
    )
    uses_key = make_testnet_subscription(alice, sma_bot)
    paper = make_testnet_subscription(alice, sma_bot, is_paper=True)
    mainnet = make_testnet_subscription(alice, sma_bot, network_type="mainnet")
    bobs = make_testnet_subscription(bob, sma_bot)

    now = timezone.now()
    assert credentials_validate(now=now) == 1

    credential.refresh_from_db()
    assert credential.validation_status == "invalid" and credential.last_validated == now
    assert "refused the API key" in credential.validation_error
    uses_key.refresh_from_db()
    assert uses_key.status == "ERROR" and "failed validation" in uses_key.status_reason
    for untouched in (paper, mainnet, bobs):
        untouched.refresh_from_db()
        assert untouched.status == "ACTIVE"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["alice@example.com"]
    assert "stopped" in mailoutbox[0].subject
    shown = [credential.validation_error, uses_key.status_reason, uses_key.last_error, mailoutbox[0].body]
    shown += [str(a.new_values) for a in AuditLog.objects.all()]
    assert not any(API_KEY in text or wrong_secret in text or API_SECRET in text for text in shown)


@pytest.fixture
def alice_mainnet_key(alice, fake_binance):
    """Alice's mainnet key; the fake answers for Binance's live URLs too (EXCHANGE_API_BASE_URLS re-roots them)."""
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    return credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=API_SECRET, is_testnet=False)


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_key_that_can_withdraw(alice, sma_bot, fake_binance, alice_mainnet_key, mailoutbox):
    fake_binance.set_restrictions(API_KEY, enableWithdrawals=True)
    subscription = make_testnet_subscription(alice, sma_bot, network_type="mainnet")

    now = timezone.now()
    assert credentials_validate(now=now) == 1

    alice_mainnet_key.refresh_from_db()
    assert alice_mainnet_key.validation_status == "invalid"
    assert alice_mainnet_key.validation_error == WITHDRAWALS_REFUSED
    assert "without withdrawal permission" in alice_mainnet_key.validation_error
    subscription.refresh_from_db()
    assert subscription.status == "ERROR" and "withdraw" in subscription.status_reason
    assert len(mailoutbox) == 1
    assert API_KEY not in mailoutbox[0].body and API_SECRET not in mailoutbox[0].body


@pytest.mark.django_db(transaction=True)
def test_it_accepts_a_mainnet_key_without_withdrawals(alice, fake_binance, alice_mainnet_key):
    now = timezone.now()
    assert credentials_validate(now=now) == 1

    alice_mainnet_key.refresh_from_db()
    assert alice_mainnet_key.validation_status == "valid"
    assert len(fake_binance.requests(path="/sapi/v1/account/apiRestrictions")) == 1


@pytest.mark.django_db(transaction=True)
def test_it_does_not_ask_the_testnet_about_withdrawals(alice, fake_binance, alice_key):
    # Binance's spot testnet has no /sapi endpoints (ccxt refuses them in sandbox mode) and holds no real money.
    fake_binance.set_restrictions(API_KEY, enableWithdrawals=True)

    now = timezone.now()
    assert credentials_validate(now=now) == 1

    alice_key.refresh_from_db()
    assert alice_key.validation_status == "valid"
    assert fake_binance.requests(path="/sapi/v1/account/apiRestrictions") == []


@pytest.mark.django_db(transaction=True)
def test_it_catches_a_valid_key_that_later_gained_withdrawals_on_a_full_recheck(alice, fake_binance, alice_mainnet_key):
    now = timezone.now()
    credentials_validate(now=now)
    fake_binance.set_restrictions(API_KEY, enableWithdrawals=True)

    assert credentials_validate(now=now, only_pending=True) == 0
    alice_mainnet_key.refresh_from_db()
    assert alice_mainnet_key.validation_status == "valid"

    assert credentials_validate(now=now + timedelta(days=1), only_pending=False) == 1
    alice_mainnet_key.refresh_from_db()
    assert alice_mainnet_key.validation_status == "invalid"
    assert alice_mainnet_key.validation_error == WITHDRAWALS_REFUSED
    assert alice_mainnet_key.last_validated == now + timedelta(days=1)


@pytest.mark.django_db(transaction=True)
def test_it_stops_subscriptions_only_when_the_key_becomes_invalid(alice, sma_bot, fake_binance, mailoutbox):
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret="not-the-secret-0123456789")
    make_testnet_subscription(alice, sma_bot)
    now = timezone.now()
    credentials_validate(now=now)

    later = make_testnet_subscription(alice, sma_bot)
    assert credentials_validate(now=now + timedelta(hours=1), only_pending=False) == 1

    later.refresh_from_db()
    assert later.status == "ACTIVE"  # credential_for refuses the invalid key when it runs: no second email here
    assert len(mailoutbox) == 1
    assert AuditLog.objects.filter(action="credential.validate").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_stops_a_marketplace_principals_subscriptions_with_its_key(alice, sma_bot, fake_binance, mailoutbox):
    principal = "rrkah-fqaaa-aaaaa-aaaaq-cai"
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    credential_create(
        user=alice, exchange="BINANCE", api_key=API_KEY, api_secret="not-the-secret-0123456789", principal_id=principal
    )
    principals = make_testnet_subscription(alice, sma_bot, user_principal_id=principal)
    alices_own = make_testnet_subscription(alice, sma_bot)

    now = timezone.now()
    assert credentials_validate(now=now) == 1

    principals.refresh_from_db()
    alices_own.refresh_from_db()
    assert principals.status == "ERROR"
    assert alices_own.status == "ACTIVE"  # her own subscriptions use her own key, not the principal's
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("outage", ["closed_port", "http_503"])
def test_it_leaves_the_key_pending_when_the_exchange_is_unreachable(
    alice, sma_bot, fake_binance, alice_key, settings, mailoutbox, outage
):
    if outage == "closed_port":
        settings.EXCHANGE_API_BASE_URLS = {"BINANCE": f"http://127.0.0.1:{_closed_port()}"}
    else:
        fake_binance.arm_fault("http_5xx", method="GET", path="/api/v3/account", status=503)
    subscription = make_testnet_subscription(alice, sma_bot)

    now = timezone.now()
    assert credentials_validate(now=now) == 0

    alice_key.refresh_from_db()
    assert alice_key.validation_status == "pending"
    assert alice_key.last_validated is None and alice_key.validation_error == ""
    subscription.refresh_from_db()
    assert subscription.status == "ACTIVE" and mailoutbox == []
    # The next run, with the exchange back, gives the verdict.
    settings.EXCHANGE_API_BASE_URLS = {"BINANCE": fake_binance.base_url}
    assert credentials_validate(now=now) == 1


@pytest.mark.django_db
def test_it_stores_no_verdict_on_a_key_edited_during_the_check(alice):
    credential = credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=API_SECRET)
    as_read = ExchangeCredential.objects.get(pk=credential.pk)
    ExchangeCredential.objects.filter(pk=credential.pk).update(updated_at=timezone.now() + timedelta(seconds=1))

    now = timezone.now()
    stored = maintenance._credential_store(credential=as_read, status="invalid", error="refused", now=now)

    assert stored is None
    credential.refresh_from_db()
    assert credential.validation_status == "pending" and credential.last_validated is None


# --- late runs -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_flags_late_subscriptions_without_stopping_them_or_hiding_real_errors(alice, caplog):
    started = NOW - timedelta(days=1)
    ran_at = datetime(2025, 3, 10, 9, 0, 5, tzinfo=UTC)
    late = SubscriptionFactory(
        user=alice, started_at=started, last_run_at=ran_at, next_run_at=NOW - timedelta(minutes=10)
    )
    never_ran = SubscriptionFactory(user=alice, started_at=started, next_run_at=NOW - timedelta(hours=1))
    failing = SubscriptionFactory(
        user=alice,
        started_at=started,
        next_run_at=NOW - timedelta(hours=1),
        last_error="BUY skipped: balance too small",
    )
    within_grace = SubscriptionFactory(user=alice, started_at=started, next_run_at=NOW - timedelta(minutes=4))
    paused = SubscriptionFactory(user=alice, started_at=started, status="PAUSED", next_run_at=NOW - timedelta(hours=1))
    ended = SubscriptionFactory(
        user=alice, started_at=started, expires_at=NOW - timedelta(hours=2), next_run_at=NOW - timedelta(hours=3)
    )

    with caplog.at_level(logging.WARNING, logger="trading.maintenance"):
        assert runs_health_check(now=NOW, grace_s=300) == [late.pk, never_ran.pk, failing.pk]

    for subscription in (late, never_ran, failing, within_grace, paused, ended):
        subscription.refresh_from_db()
    assert late.last_error == "No run since 2025-03-10 09:00 UTC: the platform is catching up."
    assert never_ran.last_error == "No run yet, due 2025-03-10 11:00 UTC: the platform is catching up."
    assert failing.last_error == "BUY skipped: balance too small"
    assert within_grace.last_error == paused.last_error == ended.last_error == ""
    assert {late.status, never_ran.status, failing.status} == {"ACTIVE"}
    assert "3 active subscription(s) have not run" in caplog.text


@pytest.mark.django_db
def test_it_updates_its_own_lateness_message_and_logs_nothing_when_all_is_well(alice, caplog):
    subscription = SubscriptionFactory(
        user=alice, started_at=NOW - timedelta(days=1), next_run_at=NOW - timedelta(hours=1)
    )
    runs_health_check(now=NOW)
    Subscription.objects.filter(pk=subscription.pk).update(last_run_at=datetime(2025, 3, 10, 10, tzinfo=UTC))

    assert runs_health_check(now=NOW) == [subscription.pk]
    subscription.refresh_from_db()
    assert subscription.last_error == "No run since 2025-03-10 10:00 UTC: the platform is catching up."

    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=NOW + timedelta(minutes=5), last_error="")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="trading.maintenance"):
        assert runs_health_check(now=NOW) == []
    assert caplog.records == []
