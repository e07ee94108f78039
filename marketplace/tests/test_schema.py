"""The database itself enforces the seed's rules, not only Django."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from bots.tests.factories import ApprovedBotFactory, BotReviewFactory
from subscriptions.models import Trade
from subscriptions.tests.factories import ClosedTradeFactory, SubscriptionFactory, TradeFactory


@pytest.mark.django_db
@pytest.mark.parametrize("rating", [0, 6])
def test_it_refuses_a_rating_outside_one_to_five(rating):
    with pytest.raises(IntegrityError):
        BotReviewFactory(rating=rating)


@pytest.mark.django_db
def test_it_allows_one_review_per_user_and_bot(alice):
    review = BotReviewFactory(user=alice)
    with pytest.raises(IntegrityError):
        BotReviewFactory(user=alice, bot=review.bot)


@pytest.mark.django_db
def test_it_refuses_an_unknown_enum_value():
    subscription = SubscriptionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(subscription).objects.filter(pk=subscription.pk).update(status="RUNNING")
    with pytest.raises(IntegrityError), transaction.atomic():
        TradeFactory(side="HODL")


@pytest.mark.django_db
def test_it_keeps_money_as_decimal_end_to_end():
    trade = ClosedTradeFactory(pnl=Decimal("0.12345678"), entry_price=Decimal("65432.12345678"))
    trade = Trade.objects.get(pk=trade.pk)
    assert trade.pnl == Decimal("0.12345678") and isinstance(trade.pnl, Decimal)
    # SQLite keeps 15 significant digits (it stores REAL); MariaDB keeps DECIMAL(20,8) exactly.
    assert trade.entry_price == Decimal("65432.12345678")
    assert trade.entry_time.tzinfo is not None


@pytest.mark.django_db
def test_it_fills_database_defaults_for_rows_inserted_in_sql(alice):
    bot = ApprovedBotFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscriptions (user_id, bot_id, instance_name, execution_config, risk_config) "
            "VALUES (%s, %s, 'raw', '{}', '{}')",
            [alice.pk, bot.pk],
        )
    subscription = alice.subscriptions.get(instance_name="raw")
    assert (subscription.status, subscription.exchange_type, subscription.trading_pair) == (
        "ACTIVE",
        "BINANCE",
        "BTC/USDT",
    )
    assert (subscription.network_type, subscription.trade_mode, subscription.timeframe) == ("testnet", "Spot", "1h")
    assert subscription.strategy_config == {} and subscription.total_pnl == 0 and subscription.started_at is not None


@pytest.mark.django_db
def test_it_serves_the_seeds_analytics_views(alice):
    if connection.vendor != "mysql":
        pytest.skip("the seed's views are created on MySQL/MariaDB only (CI runs this there)")
    subscription = SubscriptionFactory(user=alice)
    ClosedTradeFactory(subscription=subscription, pnl=Decimal("10"))
    ClosedTradeFactory(subscription=subscription, pnl=Decimal("-4"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT active_subscriptions, total_trades, winning_trades, total_pnl, win_rate "
            "FROM user_performance_summary WHERE user_id = %s",
            [alice.pk],
        )
        active, trades, winners, total_pnl, win_rate = cursor.fetchone()
        cursor.execute("SELECT total_trades FROM bot_performance_summary WHERE bot_id = %s", [subscription.bot_id])
        (bot_trades,) = cursor.fetchone()
    assert (active, trades, int(winners), Decimal(str(total_pnl)), Decimal(str(win_rate))) == (1, 2, 1, 6, 50)
    assert bot_trades == 2


@pytest.mark.django_db(transaction=True)
def test_it_cascades_deletes_in_the_database_on_mysql(alice):
    if connection.vendor != "mysql":
        pytest.skip("ON DELETE rules are checked at the database level on MySQL/MariaDB only (CI runs it there)")
    subscription = SubscriptionFactory(user=alice)
    TradeFactory(subscription=subscription)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM users WHERE id = %s", [alice.pk])
        cursor.execute("SELECT COUNT(*) FROM trades")
        assert cursor.fetchone()[0] == 0
