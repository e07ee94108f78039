"""A bot author's JSON Schema patterns run on RE2, in time linear in the text: a catastrophic-backtracking
pattern (`(a+)+$`) answers at once through the subscribe form, the subscription API and the upload, and patterns RE2
cannot evaluate are refused at upload with a message (bots/sdk/config.py).

Python's `re` took about 5 s for 26 characters; 31 take minutes. Every check here allows a generous second.
"""

import contextlib
import json
import time
from contextlib import contextmanager

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.services import user_api_key_create
from bots.models import Bot, BotVersion
from bots.sdk import ConfigError, validate_config, validate_schema
from bots.tests.factories import ApprovedBotFactory, BotFactory, BotVersionFactory
from bots.tests.test_developer_apis import SMA_SOURCE
from marketplace.tests.pages import subscribe_post
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db
EVIL = "(a+)+$"
SLOW_TEXT = "a" * 30 + "!"
BOUND_S = 1.0


@contextmanager
def fast():
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND_S, f"took {elapsed:.2f} s"


def schema_with(**tag) -> dict:
    return {
        "type": "object",
        "properties": {
            "fast": {"type": "integer", "default": 10},
            "tag": {"type": "string", "default": "aaa", **tag},
        },
    }


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    cache.clear()


@pytest.fixture
def uploaded_bot(db):
    """An approved bot of uploaded code (validated against its stored schema) with the backtracking pattern."""
    schema = schema_with(pattern=EVIL)
    bot = ApprovedBotFactory(slug="tagger", config_schema=schema, default_config={"fast": 10, "tag": "aaa"})
    BotVersionFactory(
        bot=bot,
        version="1.0.0",
        builtin_slug="",
        code_path=f"bots/{bot.pk}/1.0.0/code.py",
        config_schema=schema,
        default_config={"fast": 10, "tag": "aaa"},
        validation_status=BotVersion.ValidationStatus.PASSED,
        approved_at=timezone.now(),
    )
    return bot


# --- The SDK's validators -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema, config",
    [
        (schema_with(pattern=EVIL), {"tag": SLOW_TEXT}),
        ({"type": "object", "properties": {}, "patternProperties": {EVIL: {"type": "integer"}}}, {SLOW_TEXT: 1}),
        (
            {"type": "object", "properties": {}, "patternProperties": {EVIL: {}}, "additionalProperties": False},
            {SLOW_TEXT: 1},
        ),
        ({"type": "object", "propertyNames": {"pattern": EVIL}}, {SLOW_TEXT: 1}),
        ({"type": "object", "properties": {"l": {"type": "array", "items": {"pattern": EVIL}}}}, {"l": [SLOW_TEXT]}),
    ],
    ids=["pattern", "patternProperties", "additionalProperties", "propertyNames", "nested"],
)
def test_it_evaluates_a_backtracking_pattern_in_linear_time(schema, config):
    # Refused or accepted alike: the point is the time.
    with fast(), contextlib.suppress(ConfigError):
        validate_config(schema, config)


def test_it_still_matches_like_json_schema_patterns():
    schema = {
        "type": "object",
        "properties": {"tag": {"type": "string", "pattern": "^[a-z]+-\\d{2}$", "default": "ab-12"}},
        "patternProperties": {"^x_": {"type": "integer"}},
        "additionalProperties": False,
    }
    assert validate_config(schema, {"tag": "zz-99", "x_one": 1}) == {"tag": "zz-99", "x_one": 1}
    with pytest.raises(ConfigError) as refused:
        validate_config(schema, {"tag": "ZZ-99", "x_two": "two", "other": 1})
    fields = {error["field"] for error in refused.value.errors}
    assert fields == {"tag", "x_two", "other"}


@pytest.mark.parametrize("pattern", ["(?=a)b", "(?!a)", "(a)\\1", "(?<=a)b", "x" * 1001])
def test_it_refuses_a_pattern_re2_cannot_evaluate_with_a_message(pattern):
    with pytest.raises(ConfigError) as refused:
        validate_schema(schema_with(pattern=pattern, default="b"))
    assert "not supported" in str(refused.value) or "at most" in str(refused.value)


def test_it_refuses_unevaluated_properties_with_pattern_properties():
    schema = {
        "type": "object",
        "properties": {"fast": {"type": "integer", "default": 1}},
        "patternProperties": {"^x": {}},
        "unevaluatedProperties": False,
    }
    with pytest.raises(ConfigError, match="unevaluatedProperties"):
        validate_schema(schema)
    with fast(), pytest.raises(ConfigError, match="unevaluatedProperties"):
        validate_config(schema, {SLOW_TEXT: 1})


# --- Through the site -------------------------------------------------------------------------------------------


def test_it_answers_the_subscribe_form_at_once(client, alice, uploaded_bot):
    client.force_login(alice)
    url = reverse("subscriptions:subscribe", args=[uploaded_bot.slug])
    with fast():
        response = client.post(url, subscribe_post(uploaded_bot, strategy__tag=SLOW_TEXT, strategy__slow=None))
    assert response.status_code == 400
    assert "strategy__tag" in response.context["form"].errors
    assert not Subscription.objects.exists()
    # The same form subscribes with a matching value (the pattern still works).
    response = client.post(url, subscribe_post(uploaded_bot, strategy__tag="aaaa", strategy__slow=None))
    assert response.status_code == 302, response.context["form"].errors
    assert Subscription.objects.get().strategy_config["tag"] == "aaaa"


def test_it_answers_the_subscription_api_at_once(client, alice, uploaded_bot):
    key = user_api_key_create(user=alice)
    body = {
        "bot": uploaded_bot.slug,
        "mode": "paper",
        "exchange_type": "BINANCE",
        "trading_pair": "BTC/USDT",
        "timeframe": "1h",
        "instance_name": "Tagger",
        "strategy_config": {"tag": SLOW_TEXT},
    }
    with fast():
        response = client.post(
            reverse("api:subscription-list"), body, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
        )
    assert response.status_code == 400
    assert "strategy_config.tag" in response.json()["error"]["fields"]
    assert not Subscription.objects.exists()


def _upload(client, schema: dict, default_config: dict):
    form = {
        "name": "Tagger",
        "description": "Tags.",
        "bot_type": "TECHNICAL",
        "price_per_month": "0",
        "trial_days": "0",
        "version": "1.0.0",
        "code_file": SimpleUploadedFile("bot.py", SMA_SOURCE),
        "config_schema": json.dumps(schema),
        "default_config": json.dumps(default_config),
    }
    return client.post(reverse("api:developer-bot-list"), form)


def test_it_answers_an_upload_whose_default_backtracks_at_once(client, dev, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    client.force_login(dev)
    with fast():
        response = _upload(client, schema_with(pattern=EVIL, default=SLOW_TEXT), {})
    assert response.status_code == 400
    assert any(name.startswith("config_schema") for name in response.json()["error"]["fields"])
    assert not Bot.objects.exists()


def test_it_refuses_an_upload_with_a_pattern_re2_cannot_evaluate(client, dev, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    client.force_login(dev)
    response = _upload(client, schema_with(pattern="^(?!admin).*$"), {})
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert any("not supported" in message for messages in fields.values() for message in messages), fields
    assert not Bot.objects.exists()


def test_it_answers_a_version_upload_at_once(client, dev, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    client.force_login(dev)
    bot = BotFactory(developer=dev)
    form = {
        "version": "1.1.0",
        "code_file": SimpleUploadedFile("bot.py", SMA_SOURCE),
        "config_schema": json.dumps(schema_with(pattern=EVIL)),
        "default_config": json.dumps({"tag": SLOW_TEXT}),
    }
    with fast():
        response = client.post(reverse("api:developer-version-list", args=[bot.slug]), form)
    assert response.status_code == 400
    assert "default_config.tag" in response.json()["error"]["fields"]
    assert not bot.versions.exists()
