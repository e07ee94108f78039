"""Crafted input is a clear 400/409 and nothing half-stored: JSON nested 100,000 deep, lone surrogates in keys and
strings, NaN, in API bodies and in JSON typed into forms (common/json_text.py, common/api/parsers.py); two bots of
one name created at once; the same version uploaded twice at once (bots/services.py).

The concurrency cases run real threads on the configured database (SQLite in-memory by default, MariaDB in CI with
DATABASE_URL=mysql://...).
"""

import contextlib
import json
import sqlite3
import threading
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.urls import reverse

from accounts.models import AuditLog, User
from accounts.services import user_api_key_create
from bots import services as bot_services
from bots.models import Bot, BotVersion
from bots.tests.factories import BotFactory
from bots.tests.test_developer_apis import SMA_SOURCE, stored_files
from common.json_text import MAX_JSON_DEPTH, JsonInputError, json_loads_bounded, json_object_parse
from marketplace.tests.pages import builtin_bot, subscribe_post
from subscriptions.models import Subscription

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000
# Bodies as raw text: json.dumps would write the escapes the attacker typed as they are anyway.
CRAFTED_BODIES = {
    "deep array": DEEP,
    "deep object": DEEP_OBJECT,
    "surrogate in a string": '{"bot": "sma-crossover", "instance_name": "x\\ud800y"}',
    "surrogate in a key": '{"bot": "sma-crossover", "strategy_config": {"\\udfff": 1}}',
    "NaN": '{"bot": "sma-crossover", "strategy_config": {"fast": NaN}}',
    "infinite number": '{"bot": "sma-crossover", "strategy_config": {"fast": 1e999}}',
    "invalid UTF-8": b'{"instance_name": "\xff\xfe"}',
}


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    cache.clear()


@pytest.fixture(autouse=True)
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


def _nothing_stored_for(user: User) -> None:
    assert not Subscription.objects.filter(user=user).exists()
    assert not AuditLog.objects.filter(user=user).exclude(action="user.api_key_create").exists()


# --- The reader -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [DEEP, DEEP_OBJECT, "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)])
def test_it_refuses_json_nested_too_deeply(text):
    with pytest.raises(JsonInputError, match="nested too deeply"):
        json_loads_bounded(text)


def test_it_reads_json_at_the_depth_limit_and_valid_surrogate_pairs():
    assert json_loads_bounded("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    assert json_loads_bounded('{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001f600"}


@pytest.mark.parametrize(
    "text",
    ['"\\ud800"', '{"a": "\\udc00"}', '{"\\ud800": 1}', '[["x\\udbff"]]', '{"a": {"\\ude00b": {}}}'],
)
def test_it_refuses_a_lone_surrogate_in_a_string_or_a_key(text):
    with pytest.raises(JsonInputError, match="surrogate"):
        json_loads_bounded(text)


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", "[-Infinity]", "[1e999]", "[" + "9" * 5000 + "]"])
def test_it_refuses_numbers_json_does_not_have(text):
    with pytest.raises(JsonInputError):
        json_loads_bounded(text)


def test_it_reads_form_text_with_the_same_rules():
    assert json_object_parse("  ") == {}
    for text in (DEEP_OBJECT, '{"a": "\\ud800"}', "[1]"):
        with pytest.raises(ValueError):
            json_object_parse(text)


# --- API bodies -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("body", CRAFTED_BODIES.values(), ids=CRAFTED_BODIES.keys())
def test_it_answers_a_crafted_api_body_with_400_and_stores_nothing(client, alice, body):
    builtin_bot()
    key = user_api_key_create(user=alice)
    response = client.post(
        reverse("api:subscription-list"), body, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "parse_error"
    _nothing_stored_for(alice)


@pytest.mark.django_db
def test_it_answers_crafted_bodies_on_every_json_endpoint_with_400(client, alice, dev):
    bot = builtin_bot()
    client.force_login(alice)
    subscription = Subscription.objects.create(
        user=alice, bot=bot, instance_name="Mine", trading_pair="BTC/USDT", timeframe="1h", status="ACTIVE"
    )
    targets = [
        ("post", reverse("api:bot-review-list", args=[bot.slug])),
        ("patch", reverse("api:subscription-detail", args=[subscription.pk])),
    ]
    for method, url in targets:
        for body in CRAFTED_BODIES.values():
            response = getattr(client, method)(url, body, content_type="application/json")
            assert response.status_code == 400, (url, response.content[:300])
    subscription.refresh_from_db()
    assert (subscription.instance_name, subscription.status) == ("Mine", "ACTIVE")
    assert not bot.reviews.exists()


@pytest.mark.django_db
def test_it_answers_crafted_config_text_in_a_developer_upload_with_400(client, dev):
    client.force_login(dev)
    for text in (DEEP_OBJECT, '{"type": "object", "properties": {}, "title": "\\ud800"}', '{"\\udfff": 1}'):
        form = {
            "name": "Crafted",
            "description": "x",
            "bot_type": "TECHNICAL",
            "price_per_month": "0",
            "trial_days": "0",
            "version": "1.0.0",
            "code_file": SimpleUploadedFile("bot.py", SMA_SOURCE),
            "config_schema": text,
            "default_config": "{}",
        }
        response = client.post(reverse("api:developer-bot-list"), form)
        assert response.status_code == 400
        assert "config_schema" in response.json()["error"]["fields"]
    assert not Bot.objects.exists() and stored_files() == []


# --- Web forms --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("text", [DEEP_OBJECT, '{"type": "object", "description": "\\ud800"}', '{"a": NaN}'])
def test_it_shows_crafted_schema_text_in_the_portal_as_a_field_error(client, dev, text):
    client.force_login(dev)
    data = {
        "name": "Crafted",
        "description": "x",
        "bot_type": "TECHNICAL",
        "pricing": "free",
        "price_per_month": "0",
        "trial_days": "0",
        "version": "1.0.0",
        "code_file": SimpleUploadedFile("bot.py", SMA_SOURCE),
        "config_schema": text,
        "default_config": text,
    }
    response = client.post(reverse("developer:bot_new"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "config_schema" in errors and "default_config" in errors
    assert not Bot.objects.exists() and stored_files() == []


@pytest.mark.django_db
@pytest.mark.parametrize("text", [DEEP, '["\\ud800"]', "[NaN]"])
def test_it_shows_crafted_json_in_a_subscribe_form_setting_as_a_field_error(client, alice, text):
    bot = builtin_bot()
    schema = {
        "type": "object",
        "properties": {
            "fast": {"type": "integer", "default": 10},
            "slow": {"type": "integer", "default": 30},
            "levels": {"type": "array", "default": [1]},
        },
    }
    Bot.objects.filter(pk=bot.pk).update(config_schema=schema)
    client.force_login(alice)
    response = client.post(
        reverse("subscriptions:subscribe", args=[bot.slug]), subscribe_post(bot, strategy__levels=text)
    )
    assert response.status_code == 400
    assert "strategy__levels" in response.context["form"].errors
    _nothing_stored_for(alice)


# --- Races (real threads) ---------------------------------------------------------------------------------------


@pytest.fixture
def concurrent_db(transactional_db, tmp_path):
    """The test database as production has it for concurrent writers. MariaDB is that already. SQLite's in-memory
    test database is shared-cache, whose table locks fail at once ("database table is locked") instead of waiting:
    on SQLite the test runs on a file copy of it (with the settings' WAL, busy timeout and IMMEDIATE transactions),
    in this thread and every thread it starts, and the in-memory database is back afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    path = tmp_path / "concurrent.sqlite3"
    copy = sqlite3.connect(path)
    connection.connection.backup(copy)
    copy.close()
    in_memory_settings, in_memory_connection = connections.settings["default"], connections["default"]
    connections.settings["default"] = {**in_memory_settings, "NAME": str(path)}
    connections["default"] = connections.create_connection("default")
    try:
        yield
    finally:
        connections["default"].close()
        connections.settings["default"] = in_memory_settings
        connections["default"] = in_memory_connection


def _run_together(*targets) -> list:
    """Run each callable in its own thread, started together; returns what each returned or raised."""
    results: list = [None] * len(targets)
    start = threading.Barrier(len(targets))

    def run(index, target):
        try:
            start.wait(timeout=10)
            results[index] = target()
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[index] = error
        finally:
            connections["default"].close()

    threads = [threading.Thread(target=run, args=(index, target)) for index, target in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _new_bot(developer):
    return bot_services.bot_create(
        developer=developer,
        name="Twin",
        description="Same name.",
        category=None,
        bot_type="TECHNICAL",
        price_per_month=0,
        trial_days=0,
        code_file=SimpleUploadedFile("bot.py", SMA_SOURCE),
        config_schema={"type": "object", "properties": {"fast": {"type": "integer", "default": 5}}},
        default_config={},
    )


def test_it_creates_two_bots_of_one_name_at_once_with_two_slugs(concurrent_db, dev, monkeypatch):
    # Both requests pick the same slug before either inserts (the window the race needs), then insert.
    chosen = threading.Barrier(2)
    pick = bot_services._unique_slug

    def slug_in_step(name, *, random_suffix=False):
        slug = pick(name, random_suffix=random_suffix)
        if not random_suffix:
            # A database that runs the two transactions one after the other (SQLite) never meets here.
            with contextlib.suppress(threading.BrokenBarrierError):
                chosen.wait(timeout=2)
        return slug

    monkeypatch.setattr(bot_services, "_unique_slug", slug_in_step)
    results = _run_together(lambda: _new_bot(dev), lambda: _new_bot(dev))
    assert all(isinstance(result, Bot) for result in results), results
    slugs = sorted(Bot.objects.values_list("slug", flat=True))
    assert len(slugs) == 2 and len(set(slugs)) == 2 and "twin" in slugs
    assert BotVersion.objects.count() == 2 and len(stored_files()) == 2


@pytest.mark.django_db(transaction=True)
def test_it_turns_a_slug_the_index_refuses_into_another_slug(dev, monkeypatch):
    # The check saw the slug free but another bot holds it by the insert: the unique index decides, a retry draws.
    BotFactory(slug="twin")
    monkeypatch.setattr(
        bot_services,
        "_unique_slug",
        lambda name, random_suffix=False: f"twin-{'again' if random_suffix else ''}".rstrip("-"),
    )
    bot = _new_bot(dev)
    assert bot.slug == "twin-again"


def test_it_uploads_the_same_version_twice_at_once_once(concurrent_db, dev):
    bot = BotFactory(developer=dev)

    def upload():
        return bot_services.bot_version_upload(
            bot=bot,
            developer=dev,
            version="2.0.0",
            code_file=SimpleUploadedFile("bot.py", SMA_SOURCE),
            config_schema={"type": "object", "properties": {"fast": {"type": "integer", "default": 5}}},
            default_config={},
        )

    results = _run_together(upload, upload)
    stored = [result for result in results if isinstance(result, BotVersion)]
    refused = [result for result in results if isinstance(result, bot_services.UploadRejected)]
    assert len(stored) == 1 and len(refused) == 1, results
    assert refused[0].field == "version"
    assert bot.versions.filter(version="2.0.0").count() == 1
    assert stored_files() == [stored[0].code_path], "the loser's files are deleted"


@pytest.mark.django_db(transaction=True)
def test_it_answers_a_version_the_index_refuses_with_409_and_stores_nothing(client, dev, monkeypatch):
    # What the lock and IMMEDIATE transactions prevent, if it slipped through: the unique index is the last word.
    bot = BotFactory(developer=dev)
    BotVersion.objects.create(bot=bot, version="2.0.0")
    real_filter = BotVersion.objects.filter

    class Blind:
        def exists(self):
            return False

    def blind_filter(*args, **kwargs):
        return Blind() if kwargs.get("version") == "2.0.0" else real_filter(*args, **kwargs)

    monkeypatch.setattr(BotVersion.objects, "filter", blind_filter)
    client.force_login(dev)
    form = {
        "version": "2.0.0",
        "code_file": SimpleUploadedFile("bot.py", SMA_SOURCE),
        "config_schema": json.dumps({"type": "object", "properties": {"fast": {"type": "integer", "default": 5}}}),
        "default_config": "{}",
    }
    response = client.post(reverse("api:developer-version-list", args=[bot.slug]), form)
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "conflict" and "version" in response.json()["error"]["fields"]
    assert real_filter(bot=bot).count() == 1 and stored_files() == []


@pytest.mark.django_db
def test_it_answers_crafted_bodies_on_the_partner_api_with_400(client):
    from partners.services import registration_create
    from partners.tests.conftest import ALICE_P, bot_key, make_partner

    partner, _ = make_partner("acme@example.com")
    _, key = registration_create(
        partner=partner, bot=builtin_bot(), marketplace_name="Acme", price_on_marketplace=Decimal("19.00")
    )
    urls = [
        reverse("api:marketplace-credential", args=[ALICE_P, "BINANCE", "testnet"]),
        reverse("api:marketplace-subscription-list", args=[ALICE_P]),
    ]
    for url, method in zip(urls, ("put", "post"), strict=True):
        for body in CRAFTED_BODIES.values():
            response = getattr(client, method)(url, body, content_type="application/json", **bot_key(key))
            assert response.status_code == 400, (url, response.content[:300])
    assert not User.objects.filter(user_principal_id=ALICE_P).exists()
    assert not Subscription.objects.exists()
