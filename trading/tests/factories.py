from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from subscriptions.tests.factories import SubscriptionFactory
from trading.models import Order, PaperAccount, PerformanceLog, Trade


class TradeFactory(DjangoModelFactory):
    class Meta:
        model = Trade

    subscription = factory.SubFactory(SubscriptionFactory)
    side = "BUY"
    trading_pair = factory.LazyAttribute(lambda o: o.subscription.trading_pair)
    quantity = Decimal("0.01000000")
    entry_price = Decimal("35000.00000000")


class ClosedTradeFactory(TradeFactory):
    status = Trade.Status.CLOSED
    exit_price = Decimal("36000.00000000")
    pnl = Decimal("9.29000000")
    pnl_percentage = Decimal("2.6543")
    exit_time = factory.LazyFunction(timezone.now)


class PerformanceLogFactory(DjangoModelFactory):
    class Meta:
        model = PerformanceLog

    subscription = factory.SubFactory(SubscriptionFactory)
    action = PerformanceLog.Action.HOLD
    price = Decimal("35000.00000000")
    quantity = Decimal("0")
    balance = Decimal("10000.00000000")
    signal_data = factory.LazyFunction(lambda: {"fast_sma": 35010.5, "slow_sma": 34990.1})


class OrderFactory(DjangoModelFactory):
    class Meta:
        model = Order

    subscription = factory.SubFactory(SubscriptionFactory)
    candle_at = factory.LazyFunction(lambda: timezone.now().replace(minute=0, second=0, microsecond=0))
    side = "BUY"
    purpose = Order.Purpose.ENTRY
    client_order_id = factory.Sequence(lambda n: f"bm-test-{n:08d}")
    requested_quantity = Decimal("0.01000000")


class PaperAccountFactory(DjangoModelFactory):
    class Meta:
        model = PaperAccount

    subscription = factory.SubFactory(SubscriptionFactory, is_paper=True)
    starting_balance = Decimal("10000.00000000")
    quote_balance = factory.LazyAttribute(lambda o: o.starting_balance)
    exact_state = factory.LazyAttribute(lambda o: {"balance": str(o.starting_balance)})
