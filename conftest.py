"""Shared fixtures: personas and clients. In CI, a missing service fails the run instead of skipping tests."""

import os
import socket
from urllib.parse import urlparse

import pytest


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    """CI runs on MariaDB and Redis: refuse to run (and so to pass) on the embedded defaults there."""
    if not os.environ.get("CI"):
        return
    database_url = os.environ.get("DATABASE_URL", "")
    problems = []
    if not database_url.startswith("mysql://"):
        problems.append(f"DATABASE_URL must be mysql:// in CI, got {database_url or 'nothing'}")
    elif not _reachable(database_url, 3306):
        problems.append("MariaDB is not reachable")
    for name in ("CACHE_URL", "CELERY_BROKER_URL"):
        url = os.environ.get(name, "")
        if not url.startswith("redis://"):
            problems.append(f"{name} must be redis:// in CI, got {url or 'nothing'}")
        elif not _reachable(url, 6379):
            problems.append(f"Redis at {name} is not reachable")
    if problems:
        raise pytest.UsageError("CI services missing: " + "; ".join(problems))


@pytest.fixture
def needs_sandbox():
    """Skip where the bot sandbox cannot run (a laptop without bubblewrap, or not root for the cgroups); in CI a
    missing sandbox fails the run instead."""
    from bots.sandbox import sandbox_check

    check = sandbox_check()
    if not check.available:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to sandbox bots: {check.reason}")
        pytest.skip(check.reason)


@pytest.fixture
def alice(db):
    """A trader who owns things in most tests."""
    from accounts.tests.factories import UserFactory

    return UserFactory(email="alice@example.com")


@pytest.fixture
def bob(db):
    """Another trader: must never see alice's things."""
    from accounts.tests.factories import UserFactory

    return UserFactory(email="bob@example.com")


@pytest.fixture
def dev(db):
    from accounts.tests.factories import DeveloperFactory

    return DeveloperFactory(email="dev@example.com", developer_name="Quant Studio")


@pytest.fixture
def staff(db):
    from accounts.tests.factories import StaffFactory

    return StaffFactory(email="staff@example.com")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
