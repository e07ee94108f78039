"""Personas of the partner API.

- acme: a partner marketplace (its own principal, the permission staff grant, a user API key); registers the SMA bot.
- globex: another partner marketplace, registering the same bot: must see nothing of acme's.
- alice and bob (the root conftest's traders) stand for end users through their principals ALICE_P and BOB_P.
- charlie: a trader with a user API key and no partner access.
"""

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone

from accounts.services import user_api_key_create
from accounts.tests.factories import UserFactory
from marketplace.tests.pages import builtin_bot
from partners.principals import encode
from partners.services import registration_create


def principal_of(name: str) -> str:
    """A self-authenticating principal id (29 bytes ending in 0x02), as Internet Identity gives users."""
    return encode(hashlib.sha224(name.encode()).digest() + b"\x02")


ALICE_P = principal_of("alice")
BOB_P = principal_of("bob")
API_KEY = "testnetKeyForAlice-0123456789-WXYZ"
API_SECRET = "testnetSecretForAlice-0123456789-SECRET"


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # The throttles count in the cache, which outlives a test.
    cache.clear()


def make_partner(email: str) -> tuple:
    """(partner user, its user API key in clear)."""
    user = UserFactory(email=email, user_principal_id=principal_of(email))
    user.user_permissions.add(Permission.objects.get(codename="add_botmarketplaceregistration"))
    return user, user_api_key_create(user=user)


@pytest.fixture
def acme(db):
    return make_partner("acme@example.com")


@pytest.fixture
def globex(db):
    return make_partner("globex@example.com")


@pytest.fixture
def charlie(db):
    user = UserFactory(email="charlie@example.com")
    return user, user_api_key_create(user=user)


@pytest.fixture
def sma(db):
    return builtin_bot("sma-crossover")


@pytest.fixture
def acme_reg(acme, sma):
    """(acme's registration of the SMA bot, its bot API key)."""
    return registration_create(
        partner=acme[0], bot=sma, marketplace_name="Acme SMA", price_on_marketplace=Decimal("19.00")
    )


@pytest.fixture
def globex_reg(globex, sma):
    return registration_create(
        partner=globex[0], bot=sma, marketplace_name="Globex SMA", price_on_marketplace=Decimal("25.00")
    )


def user_key(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Api-Key {key}"}


def bot_key(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Marketplace-Key {key}"}


def window(days: int = 30) -> dict:
    now = timezone.now()
    return {"started_at": now.isoformat(), "expires_at": (now + timedelta(days=days)).isoformat()}


def subscription_body(**fields) -> dict:
    body = {
        "instance_name": "Alice's SMA",
        **window(),
        "exchange_type": "BINANCE",
        "network_type": "testnet",
        "trading_pair": "BTC/USDT",
        "timeframe": "1h",
        "strategy_config": {"fast": 5, "slow": 20},
    }
    body.update(fields)
    return body
