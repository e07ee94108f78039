"""The arena of the attack suite, shared by its modules (one honest bot, validated and approved once)."""

import os

import pytest

from bots.sandbox import sandbox_check

from .arena import Arena


@pytest.fixture(scope="package")
def arena(django_db_setup, django_db_blocker, tmp_path_factory):
    check = sandbox_check()
    if not check.available:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to sandbox bots: {check.reason}")
        pytest.skip(check.reason)
    with django_db_blocker.unblock():
        arena = Arena()
        try:
            arena.start(tmp_path_factory.mktemp("arena"))
            yield arena
        finally:
            arena.stop()
