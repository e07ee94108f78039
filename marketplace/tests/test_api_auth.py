"""What every /api/ endpoint shares: API-key authentication, the error shape, throttling, the schema and docs."""

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from accounts.models import User
from accounts.services import user_api_key_create, user_api_key_revoke
from bots.exceptions import BotConfigInvalid, UploadRejected
from bots.sdk import ConfigError
from common.api.exceptions import api_exception_handler
from subscriptions.exceptions import SubscriptionInvalid


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # The throttles count in the cache, which outlives a test.
    cache.clear()


@pytest.fixture
def alice_key(alice):
    return user_api_key_create(user=alice)


def api_key_header(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Api-Key {key}"}


@pytest.mark.django_db
def test_it_tells_a_key_holder_who_they_are(client, alice, alice_key):
    response = client.get(reverse("api:me"), **api_key_header(alice_key))
    assert response.status_code == 200
    assert response.json() == {"email": "alice@example.com", "role": "USER"}


@pytest.mark.django_db
def test_it_also_accepts_the_browser_session(client, dev):
    client.force_login(dev)
    assert client.get(reverse("api:me")).json() == {"email": "dev@example.com", "role": "DEVELOPER"}


@pytest.mark.django_db
def test_it_refuses_anonymous_access_to_me_with_401_in_the_error_shape(client):
    response = client.get(reverse("api:me"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "fields": {},
        }
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Api-Key bmk_not-a-real-key", "Api-Key", "Api-Key two parts", "api-key bmk_not-a-real-key"],
)
def test_it_refuses_a_wrong_or_malformed_key(client, alice_key, header):
    response = client.get(reverse("api:me"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_it_refuses_a_revoked_key_even_on_public_endpoints(client, alice, alice_key):
    user_api_key_revoke(user=alice)
    alice.refresh_from_db()
    assert alice.api_key is None
    for url in (reverse("api:me"), reverse("api:bot-list")):
        response = client.get(url, **api_key_header(alice_key))
        assert response.status_code == 401
        error = response.json()["error"]
        assert error == {"code": "authentication_failed", "message": "Invalid API key.", "fields": {}}


@pytest.mark.django_db
def test_it_refuses_the_key_of_a_disabled_user(client, alice, alice_key):
    User.objects.filter(pk=alice.pk).update(is_active=False)
    response = client.get(reverse("api:me"), **api_key_header(alice_key))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This account is disabled."


@pytest.mark.django_db
def test_it_refuses_an_old_key_after_a_new_one_is_made(client, alice, alice_key):
    new_key = user_api_key_create(user=alice)
    assert client.get(reverse("api:me"), **api_key_header(alice_key)).status_code == 401
    assert client.get(reverse("api:me"), **api_key_header(new_key)).status_code == 200


@pytest.mark.django_db
def test_it_lets_anonymous_read_the_public_endpoints(client):
    for name in ("api:bot-list", "api:category-list"):
        assert client.get(reverse(name)).status_code == 200


@pytest.mark.django_db
def test_it_answers_an_unknown_bot_with_404_in_the_error_shape(client):
    response = client.get(reverse("api:bot-detail", args=["no-such-bot"]))
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_it_turns_domain_errors_into_400s_with_their_fields():
    cases = [
        (UploadRejected("Too big.", field="code_file"), {"code_file": ["Too big."]}),
        (ConfigError([{"field": "fast", "message": "Must be an integer."}]), {"fast": ["Must be an integer."]}),
        (
            BotConfigInvalid({"default_config": [{"field": "fast", "message": "Too small."}]}),
            {"default_config.fast": ["Too small."]},
        ),
        (SubscriptionInvalid({"trading_pair": ["Unknown pair."]}), {"trading_pair": ["Unknown pair."]}),
    ]
    for exc, fields in cases:
        response = api_exception_handler(exc, {})
        assert response.status_code == 400
        assert response.data == {"error": {"code": "invalid", "message": str(exc), "fields": fields}}
    assert api_exception_handler(RuntimeError("boom"), {}) is None, "unexpected errors stay 500s"


def test_it_configures_throttling_per_user_and_per_client():
    rest = settings.REST_FRAMEWORK
    assert "rest_framework.throttling.UserRateThrottle" in rest["DEFAULT_THROTTLE_CLASSES"]
    assert "rest_framework.throttling.AnonRateThrottle" in rest["DEFAULT_THROTTLE_CLASSES"]
    assert set(rest["DEFAULT_THROTTLE_RATES"]) == {"anon", "user"}


@pytest.mark.django_db
def test_it_throttles_a_key_in_the_error_shape(client, alice_key, monkeypatch):
    # The rates are read when the throttle classes are defined; patch them there.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": "2/minute"})
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": "2/minute"})
    for _ in range(2):
        assert client.get(reverse("api:me"), **api_key_header(alice_key)).status_code == 200
    response = client.get(reverse("api:me"), **api_key_header(alice_key))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_it_generates_the_schema_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    # --fail-on-warn turns any drf-spectacular warning or error into a SystemExit.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    assert "/api/v1/bots/{slug}/:" in schema and "/api/v1/me/:" in schema
    assert "ApiKeyAuth:" in schema


@pytest.mark.django_db
def test_it_serves_the_schema(client):
    response = client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["components"]["securitySchemes"]["ApiKeyAuth"]["in"] == "header"


@pytest.mark.django_db
def test_its_docs_page_loads_only_local_static_files(client):
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the page loads Swagger UI from somewhere"
    # The page's own script comes from the page's URL (?script=: drf-spectacular's split view, for the CSP).
    script_url = reverse("api:docs") + "?script="
    assert script_url in assets
    for url in assets:
        if url == script_url:
            continue
        assert url.startswith(settings.STATIC_URL), url
        assert finders.find(url.removeprefix(settings.STATIC_URL)), f"{url} is not a shipped static file"
    # Nothing absolute either (a CDN link in the page or its script): every URL is relative to this site.
    script = client.get(script_url).content.decode()
    assert not re.search(r"https?://|//cdn|unpkg|jsdelivr", page + script)
