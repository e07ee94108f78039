"""Uploads on S3: django-storages' S3Storage against moto's S3 server, a real HTTP endpoint on 127.0.0.1.

moto runs in server mode, not as an in-process mock of botocore: the requests go over the wire as they would to
AWS or MinIO, so signing, path-style addressing and multipart handling are exercised too.
"""

import uuid
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import FileSystemStorage, default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from storages.backends.s3 import S3Storage

from bots.exceptions import UploadRejected
from bots.models import Bot
from bots.services import bot_create
from bots.uploads import upload_materialize
from core.builtin.sma_crossover import SmaCrossover

moto_server = pytest.importorskip("moto.server", reason="moto[server] is missing (pip install -r requirements-dev.txt)")

SMA_SOURCE = (Path(__file__).resolve().parents[2] / "core" / "builtin" / "sma_crossover.py").read_bytes()
REGION = "us-east-1"
ACCESS_KEY_ID = "testing-access-key"
SECRET_ACCESS_KEY = "testing-secret-key"


@pytest.fixture(scope="module")
def s3_endpoint():
    """The URL of a moto S3 server on an ephemeral port, shared by this module's tests (buckets are per test)."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture
def bucket(s3, s3_endpoint, settings, monkeypatch):
    """A fresh bucket, and S3Storage as the default storage. Credentials come from the environment, as in
    production; a developer's own AWS profile or session token must not leak into the test."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    name = f"bots-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    # Overriding STORAGES sends setting_changed; Django's storages_changed receiver then drops the cached
    # backends and default_storage's wrapped instance, so the next use builds an S3Storage (and the override's
    # undo builds the file system one again).
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_endpoint,
                "region_name": REGION,
                "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    return name


def bucket_keys(s3, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


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
        "model_file": SimpleUploadedFile("weights.npz", b"\x93NUMPY model weights"),
        "config_schema": SmaCrossover.config_schema,
        "default_config": {"fast": 5},
    }
    return bot_create(**arguments | overrides)


def test_it_swaps_the_cached_default_storage_when_storages_is_overridden(bucket):
    assert isinstance(default_storage, S3Storage) and default_storage.bucket_name == bucket
    assert storages["default"] is default_storage._wrapped
    # Undoing an override resets the cache again: the instance built above does not outlive it.
    with override_settings(
        STORAGES={**storages.backends, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    ):
        assert isinstance(default_storage, FileSystemStorage)
    assert isinstance(default_storage, S3Storage)


def test_it_stores_an_upload_in_the_bucket_and_reads_it_back(dev, s3, bucket, tmp_path):
    bot = create(dev, SimpleUploadedFile("sma.py", SMA_SOURCE))

    assert bot.code_path == f"bots/{bot.pk}/1.0.0/code.py"
    assert bot.model_path == f"bots/{bot.pk}/1.0.0/model.npz"
    assert bucket_keys(s3, bucket) == [bot.code_path, bot.model_path]
    assert s3.get_object(Bucket=bucket, Key=bot.code_path)["Body"].read() == SMA_SOURCE

    code_dir, model = upload_materialize(code_path=bot.code_path, model_path=bot.model_path, folder=tmp_path / "run")
    assert (code_dir / "bot.py").read_bytes() == SMA_SOURCE
    assert model.read_bytes() == b"\x93NUMPY model weights"


def test_it_stores_nothing_in_the_bucket_for_a_refused_upload(dev, s3, bucket):
    with pytest.raises(UploadRejected):
        create(dev, SimpleUploadedFile("bot.zip", b"not a zip archive"))

    assert bucket_keys(s3, bucket) == []
    assert not Bot.objects.exists()
