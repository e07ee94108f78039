"""An upload's content hash: taken at upload, equal to the hash of its materialized copy, and checked on every copy."""

import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from bots.code_digest import DigestMismatch, folder_digest
from bots.exceptions import CodeIntegrityError
from bots.models import Bot, BotVersion
from bots.services import bot_create
from bots.uploads import stored_digest, upload_materialize

BOT_PY = b"from bots.sdk import Bot\n"


@pytest.fixture(autouse=True)
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


def zip_file(entries) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return SimpleUploadedFile("bot.zip", buffer.getvalue())


def upload(developer, code_file, model_file=None, name="Crossing"):
    bot = bot_create(
        developer=developer, name=name, description="Crosses.", category=None, bot_type=Bot.Type.TECHNICAL,
        price_per_month=Decimal("10"), trial_days=3, code_file=code_file, model_file=model_file,
        config_schema={"type": "object", "properties": {}}, default_config={},
    )
    return BotVersion.objects.get(bot=bot)


@pytest.mark.parametrize("code_file", [
    lambda: SimpleUploadedFile("bot.py", BOT_PY),
    lambda: zip_file([("bot.py", BOT_PY), ("helpers/util.py", b"X = 1\n"), ("helpers/", b"")]),
])
def test_it_hashes_an_upload_as_the_sandbox_will_receive_it(dev, tmp_path, code_file):
    version = upload(dev, code_file(), SimpleUploadedFile("weights.onnx", b"onnx"))

    upload_materialize(code_path=version.code_path, model_path=version.model_path, folder=tmp_path / "copy")

    assert len(version.code_sha256) == 64
    assert folder_digest(tmp_path / "copy") == version.code_sha256
    assert stored_digest(code_path=version.code_path, model_path=version.model_path) == version.code_sha256


def test_the_hash_covers_every_file_and_the_model(dev):
    hashes = {
        upload(dev, SimpleUploadedFile("bot.py", BOT_PY), name="a").code_sha256,
        upload(dev, SimpleUploadedFile("bot.py", BOT_PY + b"# changed\n"), name="b").code_sha256,
        upload(dev, SimpleUploadedFile("bot.py", BOT_PY), SimpleUploadedFile("m.onnx", b"1"), name="c").code_sha256,
        upload(dev, SimpleUploadedFile("bot.py", BOT_PY), SimpleUploadedFile("m.onnx", b"2"), name="d").code_sha256,
        upload(dev, zip_file([("bot.py", BOT_PY), ("extra.py", b"")]), name="e").code_sha256,
    }

    assert len(hashes) == 5


def test_a_copy_of_other_code_is_refused(dev, tmp_path):
    version = upload(dev, SimpleUploadedFile("bot.py", BOT_PY))
    with default_storage.open(version.code_path, "wb") as stored:  # storage changed behind the database's back
        stored.write(b"import os\n")

    with pytest.raises(CodeIntegrityError, match="not the code uploaded for this version"):
        upload_materialize(code_path=version.code_path, model_path=None, folder=tmp_path / "copy",
                           expected_sha256=version.code_sha256)


def test_a_folder_with_a_link_or_an_extra_file_is_not_the_same_code(dev, tmp_path):
    version = upload(dev, SimpleUploadedFile("bot.py", BOT_PY))
    folder = tmp_path / "copy"
    upload_materialize(code_path=version.code_path, model_path=None, folder=folder)

    (folder / "code" / "sitecustomize.py").write_text("import os\n")
    assert folder_digest(folder) != version.code_sha256
    (folder / "code" / "sitecustomize.py").unlink()
    (folder / "code" / "link").symlink_to("/etc/passwd")
    with pytest.raises(DigestMismatch, match="not a regular file"):
        folder_digest(folder)


def test_the_migration_hashes_existing_versions_from_storage(dev):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("bots.migrations.0005_version_code_sha256")
    version = upload(dev, SimpleUploadedFile("bot.py", BOT_PY), SimpleUploadedFile("m.onnx", b"1"))
    expected = version.code_sha256
    missing = upload(dev, SimpleUploadedFile("bot.py", BOT_PY), name="gone").bot.versions.get()
    default_storage.delete(missing.code_path)
    BotVersion.objects.update(code_sha256="")

    migration.fill_code_sha256(apps, None)

    version.refresh_from_db()
    missing.refresh_from_db()
    assert version.code_sha256 == expected
    assert missing.code_sha256 == ""  # hashed from storage on its first run instead
