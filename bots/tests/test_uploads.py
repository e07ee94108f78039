"""Checking and storing uploads: unsafe or oversized files are refused and nothing is stored."""

import io
import stat
import zipfile
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditLog
from bots import uploads
from bots.exceptions import BotConfigInvalid, NotBotDeveloper, UploadRejected
from bots.models import Bot, BotVersion
from bots.services import bot_create, bot_version_upload
from bots.tests.factories import BotFactory
from core.builtin.sma_crossover import SmaCrossover

SCHEMA = SmaCrossover.config_schema
BOT_PY = b"from bots.sdk import Bot\n"


@pytest.fixture(autouse=True)
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


def stored_names(folder="bots"):
    names = []
    dirs, files = default_storage.listdir(folder) if default_storage.exists(folder) else ([], [])
    names += [f"{folder}/{name}" for name in files]
    for name in dirs:
        names += stored_names(f"{folder}/{name}")
    return names


def make_zip(entries, *, name="bot.zip") -> SimpleUploadedFile:
    """entries: (ZipInfo or name, bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return SimpleUploadedFile(name, buffer.getvalue())


def symlink_entry(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def create(developer, code_file, **overrides):
    arguments = {
        "developer": developer,
        "name": "Crossing",
        "description": "Crosses.",
        "category": None,
        "bot_type": Bot.Type.TECHNICAL,
        "price_per_month": Decimal("10"),
        "trial_days": 3,
        "code_file": code_file,
        "config_schema": SCHEMA,
        "default_config": {"fast": 5},
    }
    return bot_create(**arguments | overrides)


@pytest.mark.parametrize(
    ("code_file", "message"),
    [
        (lambda: make_zip([("bot.py", BOT_PY), ("../evil.py", b"x")]), "leaves its folder"),
        (lambda: make_zip([("bot.py", BOT_PY), ("pkg/../../evil.py", b"x")]), "leaves its folder"),
        (lambda: make_zip([("bot.py", BOT_PY), ("/etc/cron.d/evil", b"x")]), "absolute path"),
        (lambda: make_zip([("bot.py", BOT_PY), symlink_entry("secrets", "/etc/passwd")]), "symbolic link"),
        (lambda: make_zip([("bot.py", BOT_PY), ("zeros.bin", b"\0" * (5 * 1024 * 1024))]), "zip bomb"),
        (lambda: make_zip([("bot.py", BOT_PY)] + [(f"f{n}.py", b"") for n in range(uploads.ZIP_MAX_FILES)]), "entries"),
        (lambda: make_zip([("strategy.py", BOT_PY)]), "bot.py at its root"),
        (lambda: SimpleUploadedFile("bot.zip", b"not a zip"), "not a valid zip"),
        (lambda: SimpleUploadedFile("bot.py", b"#" * (uploads.CODE_MAX_BYTES + 1)), "at most 1 MB"),
        (lambda: SimpleUploadedFile("bot.exe", BOT_PY), ".py file or a .zip"),
        (lambda: SimpleUploadedFile("bot.py", b""), "empty"),
    ],
)
def test_it_refuses_unsafe_code_and_stores_nothing(dev, code_file, message):
    with pytest.raises(UploadRejected, match=message) as error:
        create(dev, code_file())
    assert error.value.field == "code_file"
    assert stored_names() == [] and not Bot.objects.exists() and not AuditLog.objects.exists()


def test_it_refuses_a_zip_that_expands_too_much(dev, monkeypatch):
    monkeypatch.setattr(uploads, "ZIP_MAX_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(UploadRejected, match="expands to"):
        create(dev, make_zip([("bot.py", BOT_PY), ("data.txt", bytes(range(256)) * 8)]))
    assert stored_names() == []


def test_it_refuses_a_model_that_is_too_big_or_of_a_wrong_kind(dev, monkeypatch):
    monkeypatch.setattr(uploads, "MODEL_MAX_BYTES", 10)
    with pytest.raises(UploadRejected, match="at most") as error:
        create(dev, SimpleUploadedFile("bot.py", BOT_PY), model_file=SimpleUploadedFile("m.onnx", b"x" * 11))
    assert error.value.field == "model_file"
    with pytest.raises(UploadRejected, match="model file ends in"):
        create(dev, SimpleUploadedFile("bot.py", BOT_PY), model_file=SimpleUploadedFile("m.exe", b"x"))
    assert stored_names() == [] and not Bot.objects.exists()


def test_it_stores_code_and_model_under_the_bot_and_version(dev):
    bot = create(
        dev,
        make_zip([("bot.py", BOT_PY), ("helpers/util.py", b"")]),
        model_file=SimpleUploadedFile("weights.onnx", b"onnx"),
        version="2.1.0",
    )
    version = BotVersion.objects.get(bot=bot)
    assert version.code_path == f"bots/{bot.pk}/2.1.0/code.zip"
    assert version.model_path == f"bots/{bot.pk}/2.1.0/model.onnx"
    assert sorted(stored_names()) == [version.code_path, version.model_path]
    assert default_storage.open(version.model_path).read() == b"onnx"
    assert (bot.status, bot.is_free, bot.code_path) == (Bot.Status.PENDING, False, version.code_path)
    assert version.default_config == {"fast": 5, "slow": 30}  # the schema's defaults filled in
    assert set(AuditLog.objects.values_list("action", flat=True)) == {"bot.create", "bot.version_upload"}


def test_it_refuses_a_bad_schema_per_field(dev):
    properties = {"fast": {"type": "integer"}, "slow": {"type": "integer", "default": "x"}}
    schema = {"type": "object", "properties": properties}
    with pytest.raises(BotConfigInvalid) as error:
        create(dev, SimpleUploadedFile("bot.py", BOT_PY), config_schema=schema)
    fields = {e["field"] for e in error.value.errors["config_schema"]}
    assert fields == {"fast", "slow"}
    assert stored_names() == [] and not Bot.objects.exists()


def test_it_refuses_defaults_that_do_not_match_the_schema_per_field(dev):
    with pytest.raises(BotConfigInvalid) as error:
        create(dev, SimpleUploadedFile("bot.py", BOT_PY), default_config={"fast": "ten", "slow": 1, "extra": 1})
    fields = {e["field"] for e in error.value.errors["default_config"]}
    assert fields == {"fast", "slow", "extra"}
    assert stored_names() == []


def test_it_refuses_a_trader_as_a_bot_author(alice):
    with pytest.raises(NotBotDeveloper):
        create(alice, SimpleUploadedFile("bot.py", BOT_PY))


def test_it_refuses_another_developers_version_upload(dev):
    bot = BotFactory()
    with pytest.raises(NotBotDeveloper):
        bot_version_upload(
            bot=bot,
            developer=dev,
            version="2.0.0",
            code_file=SimpleUploadedFile("bot.py", BOT_PY),
            config_schema=SCHEMA,
            default_config={},
        )
    assert stored_names() == [] and not BotVersion.objects.exists()


def test_it_keeps_old_versions_and_refuses_a_duplicate_number(dev, django_capture_on_commit_callbacks):
    bot = BotFactory(developer=dev, status=Bot.Status.REJECTED, rejection_reason="Fix it.")
    arguments = {"bot": bot, "developer": dev, "config_schema": SCHEMA, "default_config": {}}
    bot_version_upload(version="1.0.0", code_file=SimpleUploadedFile("bot.py", BOT_PY), **arguments)
    bot_version_upload(version="1.1.0", code_file=SimpleUploadedFile("bot.py", BOT_PY), **arguments)
    with pytest.raises(UploadRejected, match="exists already") as error:
        bot_version_upload(version="1.1.0", code_file=SimpleUploadedFile("bot.py", BOT_PY), **arguments)
    assert error.value.field == "version"
    assert sorted(BotVersion.objects.filter(bot=bot).values_list("version", flat=True)) == ["1.0.0", "1.1.0"]
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PENDING  # a rejected bot goes back to review with its new version


def test_it_refuses_a_version_label_that_is_not_a_safe_path(dev):
    with pytest.raises(UploadRejected, match="version") as error:
        create(dev, SimpleUploadedFile("bot.py", BOT_PY), version="../1")
    assert error.value.field == "version"
