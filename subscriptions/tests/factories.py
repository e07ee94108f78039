from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from bots.tests.factories import ApprovedBotFactory
from subscriptions.models import PerformanceLog, Subscription, Trade


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    bot = factory.SubFactory(ApprovedBotFactory)
    instance_name = factory.Sequence(lambda n: f"My bot {n}")
    trading_pair = "BTC/USDT"
    timeframe = "1h"
    execution_config = factory.LazyFunction(
        lambda: {"buy_order_type": "PERCENTAGE", "buy_order_value": 100, "sell_order_type": "ALL"}
    )
    risk_config = factory.LazyFunction(lambda: {"stop_loss_percent": 5, "take_profit_percent": 10})


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
