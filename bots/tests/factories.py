from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.tests.factories import DeveloperFactory, UserFactory
from bots.models import Bot, BotCategory, BotPerformance, BotReview, BotVersion


class BotCategoryFactory(DjangoModelFactory):
    class Meta:
        model = BotCategory
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class BotFactory(DjangoModelFactory):
    class Meta:
        model = Bot

    developer = factory.SubFactory(DeveloperFactory)
    name = factory.Sequence(lambda n: f"Bot {n}")
    slug = factory.Sequence(lambda n: f"bot-{n}")
    description = "Buys crossings, sells the other way."
    category = factory.SubFactory(BotCategoryFactory)
    config_schema = factory.LazyFunction(
        lambda: {"type": "object", "properties": {"fast": {"type": "integer", "default": 10}}}
    )
    default_config = factory.LazyFunction(lambda: {"fast": 10})


class ApprovedBotFactory(BotFactory):
    status = Bot.Status.APPROVED
    approved_at = factory.LazyFunction(timezone.now)


class PaidBotFactory(ApprovedBotFactory):
    is_free = False
    price_per_month = Decimal("29.00")
    trial_days = 7


class BotVersionFactory(DjangoModelFactory):
    class Meta:
        model = BotVersion

    bot = factory.SubFactory(BotFactory)
    version = factory.Sequence(lambda n: f"1.0.{n}")
    builtin_slug = "sma-crossover"
    validation_status = BotVersion.ValidationStatus.PENDING
    # A version that passed is approved by default, as the demo's and most tests' versions are.
    approved_at = factory.LazyAttribute(lambda o: timezone.now() if o.validation_status == "PASSED" else None)


class BotReviewFactory(DjangoModelFactory):
    class Meta:
        model = BotReview

    bot = factory.SubFactory(ApprovedBotFactory)
    user = factory.SubFactory(UserFactory)
    rating = 4
    text = "Does what it says."


class BotPerformanceFactory(DjangoModelFactory):
    class Meta:
        model = BotPerformance

    bot = factory.SubFactory(ApprovedBotFactory)
    date = factory.LazyFunction(lambda: timezone.now().date())
    total_trades = 3
    winning_trades = 2
    total_pnl = Decimal("12.50000000")
