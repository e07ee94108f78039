"""Exchange execution against the fake exchanges, through the real ccxt classes. Tests taking ``fake_exchange`` run
once against the fake Binance and once against the fake Bybit (conftest.py); the others are Binance's own."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import ExchangeCredential
from accounts.services import credential_create
from subscriptions.models import PerformanceLog, Trade
from trading.engine.live import reconcile_orders
from trading.exchanges.binance import BinanceAdapter
from trading.exchanges.registry import adapter_class
from trading.models import Order
from trading.tests.conftest import API_KEY, START, make_testnet_subscription, run_tick

pytestmark = pytest.mark.django_db(transaction=True)


def _run_hours(fake, hours, start=START):
    for hour in range(hours):
        run_tick(start + timedelta(hours=hour), fake)


# What an order's status on the exchange is in our books once settled.
SETTLED_AS = {"FILLED": "FILLED", "CANCELED": "CANCELLED", "EXPIRED": "CANCELLED", "NEW": "OPEN"}


def _assert_books_match(fake):
    """Every order on the exchange is one of ours, recorded once and in the state the exchange has it; every filled
    order of ours is on the exchange."""
    on_exchange = fake.orders()
    ids = Counter(order.client_order_id for order in on_exchange)
    assert all(count == 1 for count in ids.values()), f"duplicate orders on the exchange: {ids}"
    ours = {order.client_order_id: order for order in Order.objects.all()}
    for order in on_exchange:
        assert order.client_order_id in ours, f"{order.client_order_id} is on the exchange but not in our books"
        mine = ours[order.client_order_id]
        if order.status == "CANCELED" and order.executed_qty > 0:
            assert mine.status == "FILLED" and mine.filled_quantity == order.executed_qty  # partly filled
        else:
            assert mine.status == SETTLED_AS[order.status], (order, mine.status)
    for order in ours.values():
        if order.status == Order.Status.FILLED:
            assert order.client_order_id in ids
        else:
            assert order.client_order_id not in ids or order.status in ("SENT", "PENDING", "OPEN", "CANCELLED")


def test_it_trades_on_the_exchange_with_signed_requests(alice, sma_bot, fake_exchange, alice_exchange_key):
    subscription = make_testnet_subscription(alice, sma_bot, exchange_type=fake_exchange.code)
    _run_hours(fake_exchange, 120)
    orders = Order.objects.filter(subscription=subscription)
    assert orders.filter(status="FILLED").count() >= 4
    assert not orders.exclude(status="FILLED").exists()
    _assert_books_match(fake_exchange)
    buys = orders.filter(side="BUY")
    assert Trade.objects.filter(subscription=subscription).count() == buys.count()
    closed = Trade.objects.filter(subscription=subscription, status="CLOSED")
    subscription.refresh_from_db()
    assert subscription.total_trades == closed.count()
    assert subscription.total_pnl == sum(t.pnl for t in closed)
    trade = closed.first()
    assert trade.exchange_order_id and trade.entry_fee > 0 and trade.exit_fee > 0
    # The fill happened at the open of the candle after the decision, at the exchange's price.
    order = buys.first()
    assert order.average_price == _price_at(order.candle_at)
    assert PerformanceLog.objects.filter(subscription=subscription, action="BUY").count() == buys.count()
    sent = fake_exchange.requests(method="POST", path=fake_exchange.order_path)
    assert sent and all(r.api_key == API_KEY for r in sent)
    # Our client id went in the exchange's own parameter (newClientOrderId, orderLinkId).
    client_id_param = adapter_class(fake_exchange.code).client_order_id_param
    assert sorted(r.params[client_id_param] for r in sent) == sorted(orders.values_list("client_order_id", flat=True))


def _price_at(moment):
    from bots.sdk import Candles

    rows = Candles.from_csv("data/candles/binance/BTC_USDT-1h.csv").to_rows()
    opens = {int(row[0]): row[1] for row in rows}
    return Decimal(str(opens[int(moment.timestamp() * 1000)]))


def test_it_looks_a_timed_out_order_up_instead_of_sending_it_again(alice, sma_bot, fake_exchange, alice_exchange_key):
    subscription = make_testnet_subscription(alice, sma_bot, exchange_type=fake_exchange.code)
    fake_exchange.arm_fault("timeout_after_accept", count=1, delay_s=1.5)
    _run_hours(fake_exchange, 60)
    first = Order.objects.filter(subscription=subscription).order_by("candle_at").first()
    assert first.status == "FILLED" and "RequestTimeout" in first.error
    assert len(fake_exchange.orders(client_order_id=first.client_order_id)) == 1
    sent = fake_exchange.requests(method="POST", path=fake_exchange.order_path, client_order_id=first.client_order_id)
    assert len(sent) == 1
    assert Trade.objects.filter(exchange_order_id=first.exchange_order_id).count() == 1
    _assert_books_match(fake_exchange)


@pytest.mark.parametrize("fault", ["http_5xx", "http_429"])
def test_it_marks_an_order_the_exchange_never_took_as_lost(alice, sma_bot, fake_exchange, alice_exchange_key, fault):
    subscription = make_testnet_subscription(alice, sma_bot, exchange_type=fake_exchange.code)
    fake_exchange.arm_fault(fault, count=1)
    _run_hours(fake_exchange, 60)
    first = Order.objects.filter(subscription=subscription).order_by("candle_at").first()
    assert first.status == "LOST" and first.lookup_attempts == 4
    assert fake_exchange.orders(client_order_id=first.client_order_id) == []
    assert first.trade is None
    # The next signals trade normally.
    assert Order.objects.filter(subscription=subscription, status="FILLED").exists()
    subscription.refresh_from_db()
    assert subscription.status == "ACTIVE"
    _assert_books_match(fake_exchange)


# The rejection's text, as each exchange words it (the fake sends the exchange's own codes and messages).
REJECTION_TEXT = {
    ("BINANCE", "insufficient_balance"): "insufficient",
    ("BINANCE", "reject_precision"): "LOT_SIZE",
    ("BYBIT", "insufficient_balance"): "insufficient",
    ("BYBIT", "reject_precision"): "decimal too long",
}


@pytest.mark.parametrize("fault", ["insufficient_balance", "reject_precision"])
def test_it_logs_a_rejected_order_and_goes_on(alice, sma_bot, fake_exchange, alice_exchange_key, fault):
    message = REJECTION_TEXT[(fake_exchange.code, fault)]
    subscription = make_testnet_subscription(alice, sma_bot, exchange_type=fake_exchange.code)
    fake_exchange.arm_fault(fault, count=1)
    _run_hours(fake_exchange, 60)
    first = Order.objects.filter(subscription=subscription).order_by("candle_at").first()
    assert first.status == "REJECTED" and message.lower() in first.error.lower()
    subscription.refresh_from_db()
    assert subscription.status == "ACTIVE"
    log = PerformanceLog.objects.get(subscription=subscription, timestamp=first.candle_at)
    assert message.lower() in " ".join(log.signal_data["notes"]).lower()


def test_it_stops_the_subscription_and_tells_the_owner_when_the_key_is_refused(alice, sma_bot, fake_exchange):
    fake_exchange.add_account(API_KEY, "another-secret-entirely-0123456789", {"USDT": "10000"})
    credential_create(
        user=alice,
        exchange=fake_exchange.code,
        api_key=API_KEY,
        api_secret="wrong-secret-0123456789abcdef",
        is_testnet=True,
    )
    subscription = make_testnet_subscription(alice, sma_bot, exchange_type=fake_exchange.code)
    _run_hours(fake_exchange, 3)
    subscription.refresh_from_db()
    credential = ExchangeCredential.objects.get()
    assert subscription.status == "ERROR" and "refused your API key" in subscription.status_reason
    assert credential.validation_status == "invalid"
    assert len(mail.outbox) == 1 and "stopped" in mail.outbox[0].subject
    assert "wrong-secret" not in mail.outbox[0].body
    assert not Order.objects.exists()


def test_it_refuses_mainnet_without_a_validated_key(alice, sma_bot, fake_binance, alice_key):
    subscription = make_testnet_subscription(alice, sma_bot, network_type="mainnet")
    _run_hours(fake_binance, 1)
    subscription.refresh_from_db()
    assert subscription.status == "ERROR" and "mainnet" in subscription.status_reason.lower()


def test_it_settles_orders_left_behind_by_a_killed_worker(alice, sma_bot, fake_binance, alice_key):
    """Crash after sending (the exchange has it) and crash before sending (it does not): reconcile both."""
    from testsupport.fake_exchange import make_binance_client

    subscription = make_testnet_subscription(alice, sma_bot)
    _run_hours(fake_binance, 1)
    moment = START + timedelta(hours=1)
    fake_binance.set_time(int(moment.timestamp() * 1000))
    sent = Order.objects.create(
        subscription=subscription,
        candle_at=moment.replace(second=0),
        side="BUY",
        purpose="ENTRY",
        client_order_id="bm-crash-sent",
        requested_quantity=Decimal("0.01"),
    )
    make_binance_client(fake_binance.base_url, API_KEY, "x" * 0 + _alice_secret()).create_order(
        "BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "bm-crash-sent"}
    )
    unsent = Order.objects.create(
        subscription=subscription,
        candle_at=moment.replace(second=0),
        side="SELL",
        purpose="EXIT",
        client_order_id="bm-crash-unsent",
        requested_quantity=Decimal("0.01"),
    )
    Order.objects.filter(pk__in=[sent.pk, unsent.pk]).update(updated_at=moment - timedelta(hours=1))
    for _ in range(4):
        reconcile_orders(older_than_s=0)
    sent.refresh_from_db()
    unsent.refresh_from_db()
    assert sent.status == "FILLED" and sent.trade.status == "OPEN" and sent.trade.quantity < Decimal("0.01")
    assert unsent.status == "LOST" and unsent.lookup_attempts == 4
    assert len(fake_binance.orders(client_order_id="bm-crash-sent")) == 1


def _alice_secret():
    from trading.tests.conftest import API_SECRET

    return API_SECRET


def test_it_never_duplicates_or_loses_an_order_under_random_faults(alice, bob, sma_bot, fake_binance, alice_key):
    fake_binance.add_account("bobKey0123456789abcdef", "bobSecret0123456789abcdef", {"USDT": "5000"})
    credential_create(
        user=bob,
        exchange="BINANCE",
        api_key="bobKey0123456789abcdef",
        api_secret="bobSecret0123456789abcdef",
        is_testnet=True,
    )
    subscriptions = [
        make_testnet_subscription(alice, sma_bot),
        make_testnet_subscription(bob, sma_bot, strategy_config={"fast": 3, "slow": 12}),
    ]
    fake_binance.set_chaos(
        7,
        {"timeout_after_accept": 0.15, "http_5xx": 0.1, "http_429": 0.1},
        match=[("POST", "/api/v3/order")],
        options={"timeout_after_accept": {"delay_s": 1.5}},
    )
    _run_hours(fake_binance, 100)
    fake_binance.clear_faults()
    for _ in range(4):
        reconcile_orders(older_than_s=0)
    _assert_books_match(fake_binance)
    for subscription in subscriptions:
        filled_buys = Order.objects.filter(subscription=subscription, side="BUY", status="FILLED").count()
        assert (
            Trade.objects.filter(subscription=subscription).exclude(exit_reason="").count()
            + Trade.objects.filter(subscription=subscription, status="OPEN").count()
            >= filled_buys
        )
    assert Order.objects.filter(status="FILLED").count() >= 6
    assert not Order.objects.filter(status__in=["PENDING", "SENT"]).exists()


def test_it_checks_the_stop_loss_and_take_profit_each_run_where_the_exchange_holds_none(
    alice, sma_bot, fake_exchange, alice_exchange_key, monkeypatch
):
    # Bybit holds none for the engine; Binance is made to look like Kraken, HTX ... today: the per-run check.
    monkeypatch.setattr(BinanceAdapter, "protective_orders", None)
    subscription = make_testnet_subscription(
        alice,
        sma_bot,
        exchange_type=fake_exchange.code,
        risk_config={"stop_loss_percent": 1, "take_profit_percent": 1.5},
    )
    _run_hours(fake_exchange, 120)
    exits = Order.objects.filter(subscription=subscription, purpose__in=["STOP_LOSS", "TAKE_PROFIT"])
    assert exits.filter(status="FILLED").exists()
    for order in exits:
        assert order.trade.exit_reason == order.purpose and order.trade.status == "CLOSED"
        assert PerformanceLog.objects.filter(
            subscription=subscription, action=order.purpose, timestamp=order.candle_at
        ).exists()
    trade = exits.first().trade
    assert trade.stop_loss_price == (trade.entry_price * Decimal("0.99")).quantize(Decimal("1e-8"))
    # Every order on the exchange is a plain market order: nothing rests there between runs.
    assert {order.type for order in fake_exchange.orders()} == {"MARKET"}
    _assert_books_match(fake_exchange)


LIMIT = {"order_type": "limit", "limit_offset_percent": 0.3, "limit_expiry_candles": 1}


def test_it_places_limit_orders_and_cancels_those_not_filled_by_the_next_run(
    alice, sma_bot, fake_exchange, alice_exchange_key
):
    subscription = make_testnet_subscription(alice, sma_bot, exchange_type=fake_exchange.code, execution_config=LIMIT)
    _run_hours(fake_exchange, 150)
    orders = Order.objects.filter(subscription=subscription)
    assert set(orders.values_list("order_type", flat=True)) == {"limit"}
    filled, cancelled = orders.filter(status="FILLED"), orders.filter(status="CANCELLED")
    assert filled.exists() and cancelled.exists()
    for order in filled:
        # At its own price, 0.3 % better than the open it was placed at, and as a maker.
        assert order.average_price == order.limit_price
        opened_at = _price_at(order.candle_at)
        expected = opened_at * Decimal("0.997") if order.side == "BUY" else opened_at * Decimal("1.003")
        assert abs(order.limit_price - expected) <= Decimal("0.01")
        assert order.expires_at == order.candle_at + timedelta(hours=1)
    for order in cancelled:
        assert order.trade is None and order.filled_quantity == 0
        log = PerformanceLog.objects.get(subscription=subscription, timestamp=order.expires_at, action="HOLD")
        assert "expired unfilled" in " ".join(log.signal_data["notes"])
    assert Trade.objects.filter(subscription=subscription).count() == filled.filter(side="BUY").count()
    _assert_books_match(fake_exchange)


def test_it_keeps_the_filled_part_of_a_limit_order_and_cancels_the_rest(alice, sma_bot, fake_binance, alice_key):
    fake_binance.set_partial_fills("0.4")
    subscription = make_testnet_subscription(alice, sma_bot, execution_config=LIMIT)
    _run_hours(fake_binance, 150)
    partial = Order.objects.filter(subscription=subscription, side="BUY", status="FILLED").first()
    assert partial is not None and "Partially filled" in partial.error
    assert partial.filled_quantity < partial.requested_quantity
    on_exchange = fake_binance.orders(client_order_id=partial.client_order_id)[0]
    assert on_exchange.status == "CANCELED" and on_exchange.executed_qty == partial.filled_quantity
    # The position is the filled part (less the fee taken in the base asset, in whole lot steps); later exits may
    # have split it into several trade rows.
    position = sum(t.quantity for t in Trade.objects.filter(entry_time=partial.trade.entry_time))
    assert partial.filled_quantity * Decimal("0.99") < position <= partial.filled_quantity
    _assert_books_match(fake_binance)
