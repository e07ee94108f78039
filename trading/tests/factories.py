from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from subscriptions.tests.factories import SubscriptionFactory
from trading.models import Order, PaperAccount


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
