"""Stop loss and take profit held on the exchange (Binance: one OCO), against the fake Binance server."""

from datetime import timedelta
from decimal import Decimal

import pytest

from subscriptions.models import PerformanceLog, Trade
from trading.models import Order
from trading.tests.conftest import START, make_testnet_subscription
from trading.tests.test_live_engine import _assert_books_match, _run_hours

pytestmark = pytest.mark.django_db(transaction=True)

TIGHT = {"stop_loss_percent": 1, "take_profit_percent": 1.5}
WIDE = {"stop_loss_percent": 30, "take_profit_percent": 60}


def test_it_places_an_oco_after_each_entry_and_closes_the_trade_when_a_leg_fills(
    alice, sma_bot, fake_binance, alice_key
):
    subscription = make_testnet_subscription(alice, sma_bot, risk_config=TIGHT)
    _run_hours(fake_binance, 120)

    legs = Order.objects.filter(subscription=subscription, purpose__in=["STOP_LOSS", "TAKE_PROFIT"])
    filled = legs.filter(status="FILLED")
    assert filled.exists()
    # No per-run market exit: the exchange's legs did it.
    assert not legs.filter(order_type="market").exists()
    for leg in filled:
        trade = leg.trade
        assert trade.status == "CLOSED" and trade.exit_reason == leg.purpose
        expected = trade.stop_loss_price if leg.purpose == "STOP_LOSS" else trade.take_profit_price
        # Filled at the trigger (stop-market) or the limit, on the tick; pnl from that price and both fees.
        assert abs(trade.exit_price - expected) < Decimal("0.01")
        assert trade.pnl == (trade.quantity * trade.exit_price - trade.exit_fee) - (
            trade.quantity * trade.entry_price + trade.entry_fee
        )
        # The other leg of the list expired on the exchange and is cancelled in our books.
        sibling = legs.exclude(pk=leg.pk).get(group_client_id=leg.group_client_id)
        assert sibling.status == "CANCELLED"
        assert PerformanceLog.objects.filter(subscription=subscription, action=leg.purpose).exists()
    closed = Trade.objects.filter(subscription=subscription, status="CLOSED")
    subscription.refresh_from_db()
    assert subscription.total_trades == closed.count()
    assert subscription.total_pnl == sum(t.pnl for t in closed)
    # Every entry got its protection, under deterministic client ids.
    entries = Order.objects.filter(subscription=subscription, side="BUY", status="FILLED")
    for entry in entries:
        assert legs.filter(candle_at=entry.candle_at, purpose="STOP_LOSS").exists()
    assert all(leg.client_order_id.endswith(("-L", "-T")) for leg in legs)
    _assert_books_match(fake_binance)


def test_it_records_a_stop_the_exchange_filled_while_no_run_happened(alice, sma_bot, fake_binance, alice_key):
    subscription = make_testnet_subscription(alice, sma_bot, risk_config=TIGHT)
    hour = 0
    while not Order.objects.filter(subscription=subscription, purpose="STOP_LOSS", status="OPEN").exists():
        _run_hours(fake_binance, 1, start=START + timedelta(hours=hour))
        hour += 1
        assert hour < 200
    # Nobody runs for two days; the exchange keeps working the OCO against the candles.
    fake_binance.set_time(int((START + timedelta(hours=hour + 48)).timestamp() * 1000))
    on_exchange = [o for o in fake_binance.orders() if o.order_list_id > 0 and o.status == "FILLED"]
    assert on_exchange
    _run_hours(fake_binance, 1, start=START + timedelta(hours=hour + 48))
    leg = Order.objects.get(client_order_id=on_exchange[0].client_order_id)
    assert leg.status == "FILLED" and leg.trade.status == "CLOSED"
    # The exit is booked when the exchange traded, not when we noticed.
    assert leg.trade.exit_time < START + timedelta(hours=hour + 48)
    assert leg.trade.exit_reason == leg.purpose
    _assert_books_match(fake_binance)


def test_it_cancels_the_oco_before_the_bots_own_sell_and_never_exits_twice(alice, sma_bot, fake_binance, alice_key):
    subscription = make_testnet_subscription(alice, sma_bot, risk_config=WIDE)
    _run_hours(fake_binance, 120)
    sells = Order.objects.filter(subscription=subscription, purpose="EXIT", status="FILLED")
    assert sells.exists()
    legs = Order.objects.filter(subscription=subscription, purpose__in=["STOP_LOSS", "TAKE_PROFIT"])
    assert legs.filter(status="CANCELLED").count() >= 2 * sells.count()
    for sell in sells:
        # The legs protecting that trade were cancelled on the exchange before the market sell went out.
        guarding = legs.filter(candle_at__lt=sell.candle_at).order_by("-candle_at")[:2]
        assert {leg.status for leg in guarding} == {"CANCELLED"}
        sold_at = _exchange_order(fake_binance, sell).time
        assert all(_exchange_order(fake_binance, leg).update_time <= sold_at for leg in guarding)
    # One exit per trade: every closed trade has exactly one filled sell order.
    for trade in Trade.objects.filter(subscription=subscription, status="CLOSED"):
        assert Order.objects.filter(trade=trade, side="SELL", status="FILLED").count() == 1
    assert fake_binance.balance("fakeKeyAlice0123456789abcdefABCDEF0123456789abcdefABCDEF01234567", "BTC").free >= 0
    _assert_books_match(fake_binance)


def test_it_sells_after_a_cancel_whose_reply_was_lost(alice, sma_bot, fake_binance, alice_key):
    subscription = make_testnet_subscription(alice, sma_bot, risk_config=WIDE)
    # The first cancel is carried out by the exchange but its reply never arrives.
    fake_binance.arm_fault("timeout_after_accept", method="DELETE", path="/api/v3/order", count=1, delay_s=1.5)
    _run_hours(fake_binance, 120)
    first_sell = Order.objects.filter(subscription=subscription, purpose="EXIT").order_by("candle_at").first()
    assert first_sell.status == "FILLED"
    cancelled = Order.objects.filter(
        subscription=subscription, purpose__in=["STOP_LOSS", "TAKE_PROFIT"], candle_at__lt=first_sell.candle_at
    )
    assert cancelled.exists() and set(cancelled.values_list("status", flat=True)) == {"CANCELLED"}
    assert len(fake_binance.requests(method="DELETE", path="/api/v3/order")) >= 1
    _assert_books_match(fake_binance)


def _exchange_order(fake, order):
    return fake.orders(client_order_id=order.client_order_id)[0]

