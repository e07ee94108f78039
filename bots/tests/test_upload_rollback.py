"""Storage is not transactional: files stored by an upload whose transaction rolls back are deleted again."""

from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from bots import services
from bots.models import Bot, BotVersion
from bots.services import bot_create, bot_version_upload
from bots.tests.factories import BotFactory
from core.builtin.sma_crossover import SmaCrossover

pytestmark = pytest.mark.django_db(transaction=True)  # real commits and rollbacks, no test-wide transaction

SCHEMA = SmaCrossover.config_schema
BOT_PY = b"from bots.sdk import Bot\n"


@pytest.fixture(autouse=True)
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


def stored_names(folder="bots"):
    if not default_storage.exists(folder):
        return []
    dirs, files = default_storage.listdir(folder)
    return [f"{folder}/{name}" for name in files] + [n for d in dirs for n in stored_names(f"{folder}/{d}")]


def create(developer, **overrides):
    arguments = {
        "developer": developer,
        "name": "Crossing",
        "description": "Crosses.",
        "category": None,
        "bot_type": Bot.Type.ML,
        "price_per_month": Decimal("0"),
        "trial_days": 0,
        "code_file": SimpleUploadedFile("bot.py", BOT_PY),
        "model_file": SimpleUploadedFile("model.pkl", b"not really a pickle"),
        "config_schema": SCHEMA,
        "default_config": {},
    }
    return bot_create(**arguments | overrides)


def failing_audit(action_to_fail):
    real = services.audit_log_record

    def audit(**kwargs):
        if kwargs["action"] == action_to_fail:
            raise RuntimeError("the audit log is down")
        return real(**kwargs)

    return audit


def test_it_deletes_the_files_when_a_later_step_of_bot_create_fails(dev, monkeypatch):
    # The version row and its audit entry come after the files are stored; the audit failing rolls all back.
    monkeypatch.setattr(services, "audit_log_record", failing_audit("bot.version_upload"))
    with pytest.raises(RuntimeError, match="audit log is down"):
        create(dev)
    assert not Bot.objects.exists()
    assert not BotVersion.objects.exists()
    assert stored_names() == []


def test_it_deletes_the_files_when_a_later_step_of_a_version_upload_fails(dev, monkeypatch):
    bot = BotFactory(developer=dev, status=Bot.Status.REJECTED)
    # A rejected bot goes back to PENDING after the version is stored: that transition is the failing step.
    monkeypatch.setattr(services, "audit_log_record", failing_audit("bot.resubmit"))
    with pytest.raises(RuntimeError):
        bot_version_upload(
            bot=bot,
            developer=dev,
            version="2.0.0",
            code_file=SimpleUploadedFile("bot.py", BOT_PY),
            model_file=SimpleUploadedFile("model.onnx", b"onnx bytes"),
            config_schema=SCHEMA,
            default_config={},
        )
    bot.refresh_from_db()
    assert bot.status == Bot.Status.REJECTED
    assert not BotVersion.objects.filter(bot=bot).exists()
    assert stored_names() == []


def test_it_keeps_the_files_of_a_committed_upload_even_when_enqueueing_fails(dev, monkeypatch):
    # The rows are committed before the on_commit callbacks run: a broker that is down must not delete their files
    # (the stuck-validation sweep enqueues the version later).
    from bots import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.validate_bot_version, "delay", broker_down)
    with pytest.raises(ConnectionError):
        create(dev)
    version = BotVersion.objects.get()
    assert sorted(stored_names()) == sorted([version.code_path, version.model_path])
    assert default_storage.exists(version.code_path)


def test_it_stores_the_files_of_a_successful_upload(dev):
    bot = create(dev)
    version = BotVersion.objects.get(bot=bot)
    assert sorted(stored_names()) == sorted([version.code_path, version.model_path])


def test_it_refuses_to_run_inside_another_transaction(dev):
    # Nested, the outer block could roll back after the files were stored and this block had succeeded.
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        create(dev)
    assert stored_names() == []
    assert not Bot.objects.exists()
