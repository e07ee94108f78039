"""Factories of the partner API's models."""

import factory
from factory.django import DjangoModelFactory

from bots.tests.factories import ApprovedBotFactory
from partners.models import BotMarketplaceRegistration


class BotMarketplaceRegistrationFactory(DjangoModelFactory):
    class Meta:
        model = BotMarketplaceRegistration

    bot = factory.SubFactory(ApprovedBotFactory)
    user_principal_id = "rrkah-fqaaa-aaaaa-aaaaq-cai"
    api_key = factory.Sequence(lambda n: f"{n:064x}")
    marketplace_name = "ICP Bot Bazaar"
