"""Settings read the environment: each case runs a fresh interpreter with only the variables it names."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "db_engine": settings.DATABASES["default"]["ENGINE"],
    "db_options": settings.DATABASES["default"].get("OPTIONS", {}),
    "cache": settings.CACHES["default"]["BACKEND"],
    "broker": settings.CELERY_BROKER_URL,
    "storage": settings.STORAGES["default"]["BACKEND"],
    "storage_options": settings.STORAGES["default"].get("OPTIONS", {}),
    "debug": settings.DEBUG,
    "fernet_keys": len(settings.FERNET_KEYS),
}))
"""


def _settings(module: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    clean.update(DJANGO_SETTINGS_MODULE=module, **env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def _read(module: str, **env) -> dict:
    result = _settings(module, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_needs_no_server_by_default(tmp_path):
    values = _read("marketplace.settings.base", MEDIA_ROOT=str(tmp_path))
    assert values["db_engine"] == "django.db.backends.sqlite3"
    assert values["cache"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert values["broker"] == "filesystem://"
    assert values["storage"] == "django.core.files.storage.FileSystemStorage"


def test_it_uses_mysql_redis_and_s3_when_configured():
    values = _read(
        "marketplace.settings.base",
        DATABASE_URL="mysql://app:pw@db.internal:3306/marketplace",
        CACHE_URL="redis://cache.internal:6379/1",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        AWS_STORAGE_BUCKET_NAME="bot-uploads",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
    )
    assert values["db_engine"] == "django.db.backends.mysql"
    assert values["db_options"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in values["db_options"]["init_command"]
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["broker"] == "redis://cache.internal:6379/0"
    assert values["storage"] == "storages.backends.s3.S3Storage"
    assert values["storage_options"]["bucket_name"] == "bot-uploads"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ALLOWED_HOSTS": "x.example", "FERNET_KEYS": "k"}, "SECRET_KEY"),
        ({"SECRET_KEY": "s" * 60, "ALLOWED_HOSTS": "x.example"}, "FERNET_KEYS"),
        (
            {
                "SECRET_KEY": "s" * 60,
                "ALLOWED_HOSTS": "x.example",
                "FERNET_KEYS": "ZGV2LW9ubHktZmVybmV0LWtleS1kby1ub3QtdXNlISE=",
            },
            "development key is refused",
        ),
    ],
)
def test_it_refuses_to_start_production_without_its_secrets(env, message):
    result = _settings("marketplace.settings.production", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_it_fails_loudly_on_a_malformed_value():
    result = _settings("marketplace.settings.base", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_it_sets_sqlite_up_for_a_web_server_and_a_worker_at_once(tmp_path):
    # WAL, a busy timeout and IMMEDIATE transactions: a page writing while the worker writes waits, never 500s
    # (marketplace/tests/test_sqlite_concurrency.py runs them together).
    values = _read("marketplace.settings.base", MEDIA_ROOT=str(tmp_path))
    options = values["db_options"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 10
    assert "journal_mode=WAL" in options["init_command"]
