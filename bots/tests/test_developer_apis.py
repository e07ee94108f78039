"""The developer's own bots under /api/v1/developer/: access, figures, uploads refused without a trace."""

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditLog
from accounts.services import user_api_key_create
from accounts.tests.factories import DeveloperFactory
from bots import uploads
from bots.models import Bot, BotVersion
from bots.tasks import validate_bot_version
from bots.tests.factories import BotFactory, BotVersionFactory, PaidBotFactory
from core.builtin.sma_crossover import SmaCrossover
from subscriptions.tests.factories import SubscriptionFactory

SMA_SOURCE = (Path(__file__).resolve().parents[2] / "core" / "builtin" / "sma_crossover.py").read_bytes()
BOTS = reverse("api:developer-bot-list")


@pytest.fixture(autouse=True)
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # The throttles count in the cache, which outlives a test.
    cache.clear()


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The version ids whose validation was enqueued (the Celery boundary, not the validation itself)."""
    ids: list[int] = []
    monkeypatch.setattr(validate_bot_version, "delay", ids.append)
    return ids


@pytest.fixture
def dev_client(client, dev):
    client.force_login(dev)
    return client


def bot_url(bot, name: str = "api:developer-bot-detail") -> str:
    return reverse(name, args=[bot.slug])


def version_url(version) -> str:
    return reverse("api:developer-version-detail", args=[version.bot.slug, version.pk])


def new_bot_form(**overrides) -> dict:
    form = {
        "name": "SMA Cross Pro",
        "description": "Crosses two averages.",
        "bot_type": "TECHNICAL",
        "price_per_month": "19.00",
        "trial_days": "5",
        "version": "1.0.0",
        "code_file": SimpleUploadedFile("sma.py", SMA_SOURCE),
        "config_schema": json.dumps(SmaCrossover.config_schema),
        "default_config": '{"fast": 8}',
    }
    return {name: value for name, value in (form | overrides).items() if value is not None}


def new_version_form(**overrides) -> dict:
    return (
        new_bot_form(name=None, description=None, bot_type=None, price_per_month=None, trial_days=None)
        | {
            "version": "1.1.0",
            "changelog": "Faster.",
            "code_file": SimpleUploadedFile("bot.py", SMA_SOURCE),
        }
        | overrides
    )


def stored_files() -> list[str]:
    def walk(folder):
        if not default_storage.exists(folder):
            return []
        dirs, files = default_storage.listdir(folder)
        return [f"{folder}/{name}" for name in files] + [name for sub in dirs for name in walk(f"{folder}/{sub}")]

    return walk("bots")


@pytest.mark.django_db
def test_it_keeps_traders_out_with_403_and_anonymous_callers_with_401(client, alice, dev):
    bot = BotFactory(developer=dev)
    urls = [BOTS, bot_url(bot), bot_url(bot, "api:developer-version-list")]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    client.force_login(alice)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert client.post(BOTS, new_bot_form()).status_code == 403
    assert Bot.objects.count() == 1 and stored_files() == []


@pytest.mark.django_db
def test_it_creates_a_pending_bot_from_a_multipart_upload(
    dev_client, dev, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = dev_client.post(BOTS, new_bot_form(category=None))
    assert response.status_code == 201, response.json()
    body = response.json()
    bot = Bot.objects.get(developer=dev)
    assert body["slug"] == bot.slug and body["status"] == "PENDING" and body["price_per_month"] == "19.00"
    assert (body["newest_version"], body["newest_validation_status"], body["monthly_revenue"]) == (
        "1.0.0",
        "PENDING",
        "0.00",
    )
    assert body["default_config"] == {"fast": 8, "slow": 30}
    assert (bot.status, bot.price_per_month, bot.trial_days, bot.is_free) == ("PENDING", Decimal("19.00"), 5, False)
    version = bot.versions.get()
    assert stored_files() == [version.code_path] == [f"bots/{bot.pk}/1.0.0/code.py"]
    assert enqueued == [version.pk], "validation is queued after the commit"
    assert AuditLog.objects.filter(action="bot.create", record_id=bot.pk).exists()


def big_code_file(monkeypatch):
    monkeypatch.setattr(uploads, "CODE_MAX_BYTES", 100)
    return SimpleUploadedFile("bot.py", b"#" * 101)


def zip_without_bot_py():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("strategy.py", SMA_SOURCE)
    return SimpleUploadedFile("bot.zip", buffer.getvalue())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (lambda mp: {"code_file": SimpleUploadedFile("sma.exe", SMA_SOURCE)}, "code_file"),
        (lambda mp: {"code_file": SimpleUploadedFile("bot.zip", b"not a zip")}, "code_file"),
        (lambda mp: {"code_file": zip_without_bot_py()}, "code_file"),
        (lambda mp: {"code_file": big_code_file(mp)}, "code_file"),
        (lambda mp: {"code_file": None}, "code_file"),
        (lambda mp: {"model_file": SimpleUploadedFile("weights.exe", b"x")}, "model_file"),
        (lambda mp: {"config_schema": "{not json"}, "config_schema"),
        (lambda mp: {"default_config": "[1, 2]"}, "default_config"),
        (lambda mp: {"default_config": '{"fast": "ten"}'}, "default_config.fast"),
        (lambda mp: {"version": "../1.0"}, "version"),
        (lambda mp: {"price_per_month": "-1"}, "price_per_month"),
        (lambda mp: {"category": "no-such-category"}, "category"),
    ],
)
def test_it_refuses_a_bad_upload_naming_the_field_and_stores_nothing(dev_client, monkeypatch, overrides, field):
    response = dev_client.post(BOTS, new_bot_form(**overrides(monkeypatch)))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    assert not Bot.objects.exists() and not BotVersion.objects.exists()
    assert stored_files() == [] and not AuditLog.objects.exists()


@pytest.mark.django_db
def test_it_lists_only_the_developers_own_bots_with_subscribers_and_revenue(dev_client, dev):
    paid = PaidBotFactory(developer=dev, price_per_month=Decimal("29.00"), rejection_reason="")
    SubscriptionFactory.create_batch(2, bot=paid)
    SubscriptionFactory(bot=paid, is_trial=True)
    SubscriptionFactory(bot=paid, status="CANCELLED")
    rejected = BotFactory(developer=dev, status=Bot.Status.REJECTED, rejection_reason="Looks ahead.")
    BotFactory()  # another developer's

    body = dev_client.get(BOTS).json()
    assert body["count"] == 2
    rows = {row["slug"]: row for row in body["results"]}
    assert set(rows) == {paid.slug, rejected.slug}
    assert (
        rows[paid.slug]["active_subscribers"],
        rows[paid.slug]["paid_subscribers"],
        rows[paid.slug]["total_subscriptions"],
        rows[paid.slug]["monthly_revenue"],
    ) == (3, 2, 4, "52.20")
    assert rows[rejected.slug]["status"] == "REJECTED" and rows[rejected.slug]["rejection_reason"] == "Looks ahead."

    detail = dev_client.get(bot_url(paid)).json()
    assert detail["monthly_revenue"] == "52.20" and detail["config_schema"] == paid.config_schema


@pytest.mark.django_db
def test_it_answers_another_developers_bot_and_versions_with_404(dev_client, dev):
    other = BotFactory(developer=DeveloperFactory())
    version = BotVersionFactory(bot=other)
    assert dev_client.get(bot_url(other)).status_code == 404
    assert dev_client.get(bot_url(other, "api:developer-version-list")).status_code == 404
    assert dev_client.get(version_url(version)).status_code == 404
    response = dev_client.post(bot_url(other, "api:developer-version-list"), new_version_form())
    assert response.status_code == 404
    assert other.versions.count() == 1 and stored_files() == []


@pytest.mark.django_db
@pytest.mark.parametrize("bots", [3, 30])
def test_it_lists_bots_in_a_fixed_number_of_queries(client, dev, bots, django_assert_num_queries):
    api_key = user_api_key_create(user=dev)
    for bot in PaidBotFactory.create_batch(bots, developer=dev):
        BotVersionFactory(bot=bot)
        SubscriptionFactory(bot=bot)
    # The key's user, the bots with their figures, the total subscriptions.
    with django_assert_num_queries(3):
        response = client.get(BOTS, {"page_size": 100}, HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    assert len(response.json()["results"]) == bots


@pytest.mark.django_db
def test_it_uploads_a_version_and_shows_its_report(dev_client, dev, enqueued, django_capture_on_commit_callbacks):
    bot = BotFactory(developer=dev, status=Bot.Status.APPROVED)
    BotVersionFactory(bot=bot, version="1.0.0", validation_status="PASSED")
    with django_capture_on_commit_callbacks(execute=True):
        response = dev_client.post(bot_url(bot, "api:developer-version-list"), new_version_form())
    assert response.status_code == 201, response.json()
    version = bot.versions.get(version="1.1.0")
    assert response.json()["id"] == version.pk and response.json()["approved"] is False
    assert (version.changelog, version.validation_status) == ("Faster.", "PENDING") and enqueued == [version.pk]
    assert stored_files() == [version.code_path]

    listed = dev_client.get(bot_url(bot, "api:developer-version-list")).json()
    assert [row["version"] for row in listed["results"]] == ["1.1.0", "1.0.0"]

    BotVersion.objects.filter(pk=version.pk).update(
        validation_status="FAILED", validation_report={"checks": [{"name": "lookahead", "passed": False}]}
    )
    body = dev_client.get(version_url(version)).json()
    assert body["validation_status"] == "FAILED"
    assert body["validation_report"] == {"checks": [{"name": "lookahead", "passed": False}]}


@pytest.mark.django_db
def test_it_refuses_a_version_number_twice_and_stores_nothing(dev_client, dev):
    bot = BotFactory(developer=dev)
    BotVersionFactory(bot=bot, version="1.1.0")
    response = dev_client.post(bot_url(bot, "api:developer-version-list"), new_version_form())
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"version"}
    assert bot.versions.count() == 1 and stored_files() == []


@pytest.mark.django_db
def test_it_answers_a_version_under_another_of_the_developers_bots_with_404(dev_client, dev):
    first, second = BotFactory(developer=dev), BotFactory(developer=dev)
    version = BotVersionFactory(bot=first)
    assert dev_client.get(version_url(version)).status_code == 200
    url = reverse("api:developer-version-detail", args=[second.slug, version.pk])
    assert dev_client.get(url).status_code == 404
