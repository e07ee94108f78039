import factory
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from bots.tests.factories import ApprovedBotFactory
from subscriptions.models import Subscription


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
