"""Who may call what: every endpoint under /api/v1/ against every kind of caller (issue 6's permission matrix).

The callers (`PERSONAS`):
- anonymous: no credentials at all.
- owner: alice, a trader who owns a subscription (with a trade and a decision), an exchange key and a review.
- other_user: bob, a trader who owns nothing.
- bot_developer: dev, the developer of the bot alice subscribes to.
- other_developer: dev2, a developer with a bot of their own.
- staff: an administrator (moderation happens in the admin; the API gives staff no one else's objects).
- partner: acme, a partner marketplace calling with its own user API key.
- bot_key: the bot API key of acme's registration of dev's bot, acting for the principal PRINCIPAL.
- other_bot_key: the bot API key of another partner's (globex's) registration of dev2's bot.

Each row names one operation and the status each caller gets. A test also walks the URL configuration, so an
endpoint added without a row fails here. A caller who gets a 2xx on a list of private things it does not own
must see none of them, and no response to any caller may contain a marker of someone else's private data.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.services import credential_create, user_api_key_create
from accounts.tests.factories import DeveloperFactory, StaffFactory, UserFactory
from catalog.services import review_create_or_update
from core.builtin.sma_crossover import SmaCrossover
from marketplace.tests.pages import builtin_bot, paper_subscription
from partners.principals import encode
from partners.services import principal_credential_store, principal_subscription_create, registration_create
from subscriptions.services import subscription_pause
from subscriptions.tests.factories import ClosedTradeFactory, PerformanceLogFactory

PERSONAS = [
    "anonymous",
    "owner",
    "other_user",
    "bot_developer",
    "other_developer",
    "staff",
    "partner",
    "bot_key",
    "other_bot_key",
]
USERS = ["owner", "other_user", "bot_developer", "other_developer", "staff", "partner"]
KEYS = ["bot_key", "other_bot_key"]

PRINCIPAL = encode(hashlib.sha224(b"matrix principal").digest() + b"\x02")
# Private data of alice and of the principal: no one else's response may contain these.
ALICE_RUN = "Alice private run"
PRINCIPAL_RUN = "Principal private run"
ALICE_KEY = "aliceBinanceKey-0000-AL1C"
PRINCIPAL_KEY = "principalBinanceKey-0000-PR1N"
SECRET = "never-shown-secret-0123456789"


def statuses(default: int, **overrides: int) -> dict[str, int]:
    return {persona: overrides.get(persona, default) for persona in PERSONAS}


# Status shapes shared by many rows. User endpoints ignore a Marketplace-Key header, so a bot key there is an
# anonymous caller; the principal endpoints accept nothing but a bot key.
PUBLIC = statuses(200)
SIGNED_IN = statuses(200, anonymous=401, bot_key=401, other_bot_key=401)
OWNER_ONLY = statuses(404, owner=200, anonymous=401, bot_key=401, other_bot_key=401)
DEVELOPERS = statuses(
    403, bot_developer=200, other_developer=200, staff=200, anonymous=401, bot_key=401, other_bot_key=401
)
BOT_DEVELOPER = statuses(
    403, bot_developer=200, other_developer=404, staff=404, anonymous=401, bot_key=401, other_bot_key=401
)
PARTNER = statuses(403, partner=200, anonymous=401, bot_key=401, other_bot_key=401)
BOT_KEY = statuses(401, bot_key=200, other_bot_key=404)


@dataclass
class World:
    """The objects the rows point at, and a client per persona."""

    bot: object
    other_bot: object
    third_bot: object
    subscription: object
    credential: object
    version: object
    registration: object
    principal_subscription: object
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    method: str
    name: str
    expected: dict[str, int]
    args: Callable[[World], list] = lambda world: []
    body: Callable[[World], dict] | None = None
    multipart: bool = False
    prepare: Callable[[World], None] | None = None
    # A list of someone's private records: a caller who is not their owner must get an empty page.
    private_list: bool = False


def _subscribe_body(world: World) -> dict:
    return {
        "bot": world.bot.slug,
        "mode": "paper",
        "exchange_type": "BINANCE",
        "trading_pair": "BTC/USDT",
        "timeframe": "1h",
        "instance_name": "Matrix run",
    }


def _principal_subscribe_body(world: World) -> dict:
    now = timezone.now()
    return {
        "instance_name": "Matrix rental",
        "started_at": now.isoformat(),
        "expires_at": (now + timezone.timedelta(days=7)).isoformat(),
        "exchange_type": "BINANCE",
        "network_type": "testnet",
        "trade_mode": "Spot",
        "trading_pair": "BTC/USDT",
        "timeframe": "1h",
    }


def _new_bot_body(world: World) -> dict:
    return {
        "name": f"Matrix bot {timezone.now().timestamp()}",
        "description": "Crosses two averages.",
        "bot_type": "TECHNICAL",
        "price_per_month": "0.00",
        "trial_days": "0",
        "version": "1.0.0",
        "code_file": SimpleUploadedFile("sma.py", _sma_source()),
        "config_schema": json.dumps(SmaCrossover.config_schema),
        "default_config": "{}",
    }


def _new_version_body(world: World) -> dict:
    return {
        "version": "9.9.9",
        "code_file": SimpleUploadedFile("sma.py", _sma_source()),
        "config_schema": json.dumps(SmaCrossover.config_schema),
        "default_config": "{}",
    }


def _sma_source() -> bytes:
    import core.builtin.sma_crossover as module

    with open(module.__file__, "rb") as source:
        return source.read()


def _pause_alice(world: World) -> None:
    subscription_pause(subscription=world.subscription, actor=world.subscription.user)


def _pause_principal(world: World) -> None:
    subscription_pause(subscription=world.principal_subscription, actor=None)


def _subscription(world: World) -> list:
    return [world.subscription.pk]


def _principal(world: World) -> list:
    return [PRINCIPAL]


def _principal_subscription(world: World) -> list:
    return [PRINCIPAL, world.principal_subscription.pk]


ROWS = [
    # The account and the public catalog.
    Row("GET", "me", SIGNED_IN),
    Row("GET", "category-list", PUBLIC),
    Row("GET", "bot-list", PUBLIC),
    Row("GET", "bot-detail", PUBLIC, args=lambda world: [world.bot.slug]),
    Row("GET", "bot-review-list", PUBLIC, args=lambda world: [world.bot.slug]),
    # Only a subscriber of the bot may review it (alice replaces her review: 200).
    Row(
        "POST",
        "bot-review-list",
        statuses(403, owner=200, anonymous=401, bot_key=401, other_bot_key=401),
        args=lambda world: [world.bot.slug],
        body=lambda world: {"rating": 4, "text": "Steady."},
    ),
    Row("GET", "review-list", SIGNED_IN, private_list=True),
    # A trader's own subscriptions and records.
    Row("GET", "subscription-list", SIGNED_IN, private_list=True),
    Row(
        "POST", "subscription-list", statuses(201, anonymous=401, bot_key=401, other_bot_key=401), body=_subscribe_body
    ),
    Row("GET", "subscription-detail", OWNER_ONLY, args=_subscription),
    Row(
        "PATCH", "subscription-detail", OWNER_ONLY, args=_subscription, body=lambda world: {"instance_name": "Renamed"}
    ),
    Row("POST", "subscription-pause", OWNER_ONLY, args=_subscription),
    Row("POST", "subscription-resume", OWNER_ONLY, args=_subscription, prepare=_pause_alice),
    Row("POST", "subscription-cancel", OWNER_ONLY, args=_subscription),
    Row("GET", "trade-list", SIGNED_IN, private_list=True),
    Row("GET", "performance-log-list", SIGNED_IN, private_list=True),
    # A trader's exchange keys.
    Row("GET", "credential-list", SIGNED_IN, private_list=True),
    Row(
        "POST",
        "credential-list",
        statuses(201, anonymous=401, bot_key=401, other_bot_key=401),
        body=lambda world: {
            "exchange": "BYBIT",
            "is_testnet": True,
            "api_key": "bybitKey-12345678",
            "api_secret": SECRET,
        },
    ),
    Row("GET", "credential-detail", OWNER_ONLY, args=lambda world: [world.credential.pk]),
    Row(
        "DELETE",
        "credential-detail",
        statuses(404, owner=204, anonymous=401, bot_key=401, other_bot_key=401),
        args=lambda world: [world.credential.pk],
    ),
    Row(
        "POST",
        "credential-validate",
        statuses(404, owner=202, anonymous=401, bot_key=401, other_bot_key=401),
        args=lambda world: [world.credential.pk],
    ),
    # A developer's own bots.
    Row("GET", "developer-bot-list", DEVELOPERS),
    Row(
        "POST",
        "developer-bot-list",
        statuses(403, bot_developer=201, other_developer=201, staff=201, anonymous=401, bot_key=401, other_bot_key=401),
        body=_new_bot_body,
        multipart=True,
    ),
    Row("GET", "developer-bot-detail", BOT_DEVELOPER, args=lambda world: [world.bot.slug]),
    Row("GET", "developer-version-list", BOT_DEVELOPER, args=lambda world: [world.bot.slug]),
    Row(
        "POST",
        "developer-version-list",
        statuses(403, bot_developer=201, other_developer=404, staff=404, anonymous=401, bot_key=401, other_bot_key=401),
        args=lambda world: [world.bot.slug],
        body=_new_version_body,
        multipart=True,
    ),
    Row("GET", "developer-version-detail", BOT_DEVELOPER, args=lambda world: [world.bot.slug, world.version.pk]),
    # A partner's registrations (its own user API key).
    Row("GET", "marketplace-registration-list", PARTNER),
    Row(
        "POST",
        "marketplace-registration-list",
        statuses(403, partner=201, anonymous=401, bot_key=401, other_bot_key=401),
        body=lambda world: {
            "bot": world.third_bot.slug,
            "marketplace_name": "Acme RSI",
            "price_on_marketplace": "9.00",
        },
    ),
    Row("GET", "marketplace-registration-detail", PARTNER, args=lambda world: [world.registration.pk]),
    Row("POST", "marketplace-registration-deactivate", PARTNER, args=lambda world: [world.registration.pk]),
    # A registration acting for a principal (its bot API key).
    Row(
        "GET",
        "marketplace-credential-list",
        statuses(401, bot_key=200, other_bot_key=200),
        args=_principal,
        private_list=True,
    ),
    Row(
        "PUT",
        "marketplace-credential",
        statuses(401, bot_key=200, other_bot_key=409),
        args=lambda world: [PRINCIPAL, "BINANCE", "testnet"],
        body=lambda world: {"api_key": "replacedKey-0000-NEWK", "api_secret": SECRET},
    ),
    Row(
        "DELETE",
        "marketplace-credential",
        statuses(401, bot_key=204, other_bot_key=404),
        args=lambda world: [PRINCIPAL, "BINANCE", "testnet"],
    ),
    Row(
        "GET",
        "marketplace-subscription-list",
        statuses(401, bot_key=200, other_bot_key=200),
        args=_principal,
        private_list=True,
    ),
    Row(
        "POST",
        "marketplace-subscription-list",
        statuses(401, bot_key=201, other_bot_key=400),
        args=_principal,
        body=_principal_subscribe_body,
    ),
    Row("GET", "marketplace-subscription-detail", BOT_KEY, args=_principal_subscription),
    Row(
        "PATCH",
        "marketplace-subscription-detail",
        BOT_KEY,
        args=_principal_subscription,
        body=lambda world: {"instance_name": "Renamed rental"},
    ),
    Row("POST", "marketplace-subscription-pause", BOT_KEY, args=_principal_subscription),
    Row("POST", "marketplace-subscription-resume", BOT_KEY, args=_principal_subscription, prepare=_pause_principal),
    Row("POST", "marketplace-subscription-cancel", BOT_KEY, args=_principal_subscription),
    Row("GET", "marketplace-subscription-trades", BOT_KEY, args=_principal_subscription),
    Row("GET", "marketplace-subscription-performance", BOT_KEY, args=_principal_subscription),
]
# Whose private things each private list shows: a 2xx for anyone else must be an empty page.
PRIVATE_LIST_OWNERS = {"marketplace-credential-list": "bot_key", "marketplace-subscription-list": "bot_key"}


def _partner(email: str):
    user = UserFactory(email=email, user_principal_id=encode(hashlib.sha224(email.encode()).digest() + b"\x02"))
    user.user_permissions.add(Permission.objects.get(codename="add_botmarketplaceregistration"))
    return user


@pytest.fixture
def world(db, settings) -> World:
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    cache.clear()  # the throttles count in the cache, which outlives a test
    alice, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    dev, dev2 = DeveloperFactory(email="dev@example.com"), DeveloperFactory(email="dev2@example.com")
    staff = StaffFactory(email="staff@example.com")
    acme, globex = _partner("acme@example.com"), _partner("globex@example.com")

    bot = builtin_bot("sma-crossover", developer=dev)
    other_bot = builtin_bot("rsi-reversion", developer=dev2)
    third_bot = builtin_bot("macd-trend", developer=dev2)

    subscription = paper_subscription(alice, bot, instance_name=ALICE_RUN)
    ClosedTradeFactory(subscription=subscription)
    PerformanceLogFactory(subscription=subscription)
    credential = credential_create(user=alice, exchange="BINANCE", api_key=ALICE_KEY, api_secret=SECRET)
    review_create_or_update(bot=bot, user=alice, rating=5, text="Alice's review")

    registration, bot_key = registration_create(
        partner=acme, bot=bot, marketplace_name="Acme SMA", price_on_marketplace=Decimal("19.00")
    )
    _, other_bot_key = registration_create(
        partner=globex, bot=other_bot, marketplace_name="Globex RSI", price_on_marketplace=Decimal("9.00")
    )
    principal_credential_store(
        registration=registration,
        principal_id=PRINCIPAL,
        exchange="BINANCE",
        network="testnet",
        api_key=PRINCIPAL_KEY,
        api_secret=SECRET,
    )
    now = timezone.now()
    principal_subscription = principal_subscription_create(
        registration=registration,
        principal_id=PRINCIPAL,
        instance_name=PRINCIPAL_RUN,
        exchange_type="BINANCE",
        network_type="testnet",
        trading_pair="BTC/USDT",
        timeframe="1h",
        started_at=now,
        expires_at=now + timezone.timedelta(days=30),
    )
    ClosedTradeFactory(subscription=principal_subscription, pnl=Decimal("3.5"))

    world = World(
        bot=bot,
        other_bot=other_bot,
        third_bot=third_bot,
        subscription=subscription,
        credential=credential,
        version=bot.versions.get(),
        registration=registration,
        principal_subscription=principal_subscription,
    )
    users = {"owner": alice, "other_user": bob, "bot_developer": dev, "other_developer": dev2, "staff": staff}
    users["partner"] = acme
    world.headers = {"anonymous": {}}
    for persona, user in users.items():
        world.headers[persona] = {"HTTP_AUTHORIZATION": f"Api-Key {user_api_key_create(user=user)}"}
    world.headers["bot_key"] = {"HTTP_AUTHORIZATION": f"Marketplace-Key {bot_key}"}
    world.headers["other_bot_key"] = {"HTTP_AUTHORIZATION": f"Marketplace-Key {other_bot_key}"}
    return world


def _private_markers(persona: str) -> list[str]:
    """What `persona` must never read: alice's private data unless it is alice, the principal's unless it is the
    registration acting for it. Keys are never shown in full to anyone."""
    markers = [SECRET, ALICE_KEY, PRINCIPAL_KEY]
    if persona != "owner":
        markers += [ALICE_RUN, ALICE_KEY[-4:]]
    if persona != "bot_key":
        markers += [PRINCIPAL_RUN, PRINCIPAL_KEY[-4:]]
    return markers


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.name}")
def test_it_gives_each_caller_what_the_matrix_says(client, world, row, persona):
    if row.prepare:
        row.prepare(world)
    watched = (world.subscription, world.principal_subscription)
    before = [type(item).objects.values_list("instance_name", "status").get(pk=item.pk) for item in watched]
    url = reverse(f"api:{row.name}", args=row.args(world))
    body = row.body(world) if row.body else None
    if row.multipart:
        kwargs = {"data": body}
    elif body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    else:
        kwargs = {}
    response = getattr(client, row.method.lower())(url, **kwargs, **world.headers[persona])

    assert response.status_code == row.expected[persona], response.content[:500]
    text = response.content.decode()
    for marker in _private_markers(persona):
        assert marker not in text, f"{persona} read {marker!r}"
    if response.status_code >= 400 and row.method != "GET":
        # A refused write changed nothing.
        after = [type(item).objects.values_list("instance_name", "status").get(pk=item.pk) for item in watched]
        assert after == before
        world.credential.refresh_from_db()
        assert world.registration.exchange_credentials.filter(principal_id=PRINCIPAL).exists()
    owner = PRIVATE_LIST_OWNERS.get(row.name, "owner")
    if row.private_list and response.status_code == 200 and persona != owner:
        assert response.json()["count"] == 0


def _api_operations() -> set[tuple[str, str]]:
    """(method, url name) of every operation under /api/v1/, read from the URL configuration."""
    api = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "api")
    operations = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("v1/"):
                view = pattern.callback.cls
                for method in view.http_method_names:
                    if method not in ("options", "head") and hasattr(view, method):
                        operations.add((method.upper(), pattern.name))

    walk(api.url_patterns, "")
    return operations


def test_it_has_a_row_for_every_operation_of_the_api():
    covered = {(row.method, row.name) for row in ROWS}
    assert _api_operations() - covered == set()
    assert covered - _api_operations() == set()
