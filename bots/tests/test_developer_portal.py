"""The developer portal pages: access, creating a bot, uploading a version, the report, the dashboard."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.factories import DeveloperFactory
from bots.models import Bot, BotVersion
from bots.tests.factories import BotFactory, BotVersionFactory, PaidBotFactory
from core.builtin.sma_crossover import SmaCrossover
from subscriptions.models import Subscription
from subscriptions.tests.factories import SubscriptionFactory

SMA_SOURCE = (Path(__file__).resolve().parents[2] / "core" / "builtin" / "sma_crossover.py").read_bytes()
DASHBOARD = reverse("developer:dashboard")
NEW_BOT = reverse("developer:bot_new")


@pytest.fixture(autouse=True)
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


@pytest.fixture
def dev_client(client, dev):
    client.force_login(dev)
    return client


def new_bot_data(**overrides):
    data = {
        "name": "SMA Cross Pro",
        "description": "Crosses two averages.",
        "bot_type": "TECHNICAL",
        "pricing": "monthly",
        "price_per_month": "19.00",
        "trial_days": "5",
        "version": "1.0.0",
        "code_file": SimpleUploadedFile("sma.py", SMA_SOURCE),
        "config_schema": json.dumps(SmaCrossover.config_schema),
        "default_config": '{"fast": 8}',
    }
    return data | overrides


def test_it_keeps_traders_out_of_the_portal(client, alice):
    client.force_login(alice)
    for url in (DASHBOARD, NEW_BOT):
        assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_log_in(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and "login" in response["Location"]


def test_it_creates_a_bot_and_validates_its_upload(dev_client, dev, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = dev_client.post(NEW_BOT, new_bot_data())
    assert response.status_code == 302 and response["Location"] == DASHBOARD
    bot = Bot.objects.get(developer=dev)
    assert (bot.name, bot.status, bot.price_per_month, bot.trial_days, bot.is_free) == (
        "SMA Cross Pro",
        Bot.Status.PENDING,
        Decimal("19.00"),
        5,
        False,
    )
    version = bot.versions.get()
    assert version.default_config == {"fast": 8, "slow": 30}
    assert version.validation_status == BotVersion.ValidationStatus.PASSED, version.validation_report
    page = dev_client.get(reverse("developer:version", args=[version.pk])).content.decode()
    assert "✓ lookahead" in page and "BTC/USDT" in page and "Return (ROI)" in page
    assert "SMA Cross Pro" in dev_client.get(DASHBOARD).content.decode()


def test_it_shows_json_and_schema_errors_per_field(dev_client, dev):
    response = dev_client.post(NEW_BOT, new_bot_data(config_schema="{not json", default_config="[]"))
    assert response.status_code == 400
    form = response.context["form"]
    assert "Not valid JSON" in form.errors["config_schema"][0] and "line 1" in form.errors["config_schema"][0]
    assert form.errors["default_config"] == ["Give a JSON object: {...}."]

    response = dev_client.post(NEW_BOT, new_bot_data(default_config='{"fast": "ten", "slow": 1}'))
    errors = response.context["form"].errors["default_config"]
    assert any(error.startswith("fast:") for error in errors) and any(error.startswith("slow:") for error in errors)
    assert not Bot.objects.exists()


def test_it_refuses_an_unsafe_upload_next_to_the_field(dev_client):
    response = dev_client.post(NEW_BOT, new_bot_data(code_file=SimpleUploadedFile("sma.exe", SMA_SOURCE)))
    assert ".py file or a .zip" in response.context["form"].errors["code_file"][0]
    assert not Bot.objects.exists() and not default_storage.exists("bots")


def test_it_asks_for_a_price_when_the_bot_is_not_free(dev_client):
    response = dev_client.post(NEW_BOT, new_bot_data(price_per_month=""))
    assert response.context["form"].errors["price_per_month"] == ["Give the monthly price, or choose Free."]


def test_it_uploads_a_new_version_and_keeps_the_old_one(dev_client, dev, django_capture_on_commit_callbacks):
    bot = BotFactory(developer=dev, status=Bot.Status.APPROVED)
    old = BotVersionFactory(bot=bot, version="1.0.0", validation_status="PASSED")
    data = {
        "version": "1.1.0",
        "changelog": "Faster.",
        "code_file": SimpleUploadedFile("bot.py", SMA_SOURCE),
        "config_schema": json.dumps(SmaCrossover.config_schema),
        "default_config": "{}",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = dev_client.post(reverse("developer:version_new", args=[bot.slug]), data)
    new = bot.versions.get(version="1.1.0")
    assert response.status_code == 302 and response["Location"] == reverse("developer:version", args=[new.pk])
    assert new.validation_status == BotVersion.ValidationStatus.PASSED and new.changelog == "Faster."
    assert bot.versions.filter(pk=old.pk).exists()
    bot.refresh_from_db()
    assert bot.status == Bot.Status.APPROVED


def test_it_hides_another_developers_bot_and_report(dev_client):
    other_bot = BotFactory(developer=DeveloperFactory())
    version = BotVersionFactory(bot=other_bot)
    data = {
        "version": "9.0.0",
        "code_file": SimpleUploadedFile("bot.py", SMA_SOURCE),
        "config_schema": json.dumps(SmaCrossover.config_schema),
        "default_config": "{}",
    }
    assert dev_client.post(reverse("developer:version_new", args=[other_bot.slug]), data).status_code == 404
    assert dev_client.get(reverse("developer:version", args=[version.pk])).status_code == 404
    assert other_bot.versions.count() == 1 and not default_storage.exists("bots")


def test_it_shows_status_rejection_subscribers_and_revenue(dev_client, dev):
    paid = PaidBotFactory(developer=dev, name="Paid one", price_per_month=Decimal("29.00"))
    SubscriptionFactory.create_batch(3, bot=paid)
    SubscriptionFactory(bot=paid, is_trial=True)
    SubscriptionFactory(bot=paid, status=Subscription.Status.CANCELLED)
    BotFactory(developer=dev, status=Bot.Status.REJECTED, rejection_reason="Peeks at the next candle.")
    BotVersionFactory(bot=paid, version="2.0.0", builtin_slug="", validation_status="FAILED")
    BotFactory(name="Not mine")
    page = dev_client.get(DASHBOARD).content.decode()
    assert "Peeks at the next candle." in page and "Not mine" not in page
    bots = {bot.name: bot for bot in dev_client.get(DASHBOARD).context["bots"]}
    assert (bots["Paid one"].active_subscribers, bots["Paid one"].paid_subscribers) == (4, 3)
    assert bots["Paid one"].monthly_revenue == Decimal("78.30")  # 3 × 29.00 × 0.9
    assert (bots["Paid one"].newest_version, bots["Paid one"].newest_validation_status) == ("2.0.0", "FAILED")
    assert "78.30" in page and "validation: failed" in page


def test_it_lists_many_bots_in_a_bounded_number_of_queries(dev_client, dev, django_assert_max_num_queries):
    def count_queries():
        with django_assert_max_num_queries(10) as captured:
            assert dev_client.get(DASHBOARD).status_code == 200
        return len(captured.captured_queries)

    bot = PaidBotFactory(developer=dev)
    BotVersionFactory(bot=bot)
    SubscriptionFactory(bot=bot)
    few = count_queries()
    for _ in range(5):
        bot = PaidBotFactory(developer=dev)
        BotVersionFactory(bot=bot)
        SubscriptionFactory.create_batch(2, bot=bot)
    assert count_queries() == few
