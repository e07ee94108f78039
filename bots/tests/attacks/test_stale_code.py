"""Stale code: the worker must run the code of the version it was asked to run, never a cached copy of another.

Issue 10: uploaded code was cached on disk (and kept warm in the pool) by version id and never re-checked, so after
a database reset another developer's bot ran under a reused id. Code must be addressed by its content and verified
before use.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from bots.models import Bot, BotVersion
from subscriptions.models import PerformanceLog, Subscription

from .arena import ARMED_SCHEMA, HONEST_CONFIG, PRELUDE, RUN_AT

pytestmark = pytest.mark.django_db

SAYS = (
    PRELUDE
    + '''

class Says(Bot):
    slug = "says"
    name = "Says"
    config_schema = SCHEMA
    startup_candles = 2

    def decide(self, candles):
        return Decision.hold(reason="@@WHO@@")
'''
)


def says(who: str) -> str:
    return SAYS.replace("@@WHO@@", who)


def upload_and_approve(arena, who: str) -> BotVersion:
    version = arena.upload(arena.developer(who), says(who), schema=ARMED_SCHEMA, default={}, name=f"Says {who}")
    assert version.validation_status == "PASSED", version.validation_report
    arena.approve(version)
    return version


def reason_of(subscription, run_at=RUN_AT) -> str | None:
    log = PerformanceLog.objects.filter(subscription=subscription, timestamp=run_at).first()
    return log.signal_data.get("reason") if log else None


def assert_honest(arena, honest) -> None:
    honest.refresh_from_db()
    assert honest.last_error == ""
    assert arena.decision_of(honest) == arena.expected_honest


def test_it_runs_the_new_bot_under_a_reused_version_id(arena):
    first = upload_and_approve(arena, "first-developer")
    before = arena.subscribe(first.bot, {"armed": True})
    arena.engine([before])
    assert reason_of(before) == "first-developer"  # its code is now cached and warm in the worker
    reused_id = first.pk

    # A database reset: the first bot is gone, and another developer's upload gets the same version id.
    Subscription.objects.filter(bot=first.bot).delete()
    BotVersion.objects.filter(pk=first.pk).delete()
    Bot.objects.filter(pk=first.bot_id).delete()
    second = upload_and_approve(arena, "second-developer")
    BotVersion.objects.filter(pk=second.pk).update(id=reused_id)
    after = arena.subscribe(second.bot, {"armed": True})
    honest = arena.subscribe(arena.honest_bot, HONEST_CONFIG)
    try:
        arena.engine([after, honest])

        assert reason_of(after) == "second-developer", f"ran {reason_of(after)!r}'s code instead"
        assert_honest(arena, honest)
    finally:
        arena.evict_hostile()
        arena.clear_code_cache()


def test_it_does_not_run_a_tampered_copy_of_the_code(arena):
    version = upload_and_approve(arena, "genuine")
    subscription = arena.subscribe(version.bot, {"armed": True})
    arena.engine([subscription])
    assert reason_of(subscription) == "genuine"

    # Whatever the worker cached of this code (on disk, wherever it keeps it) is changed behind its back, and the
    # worker restarts (its pool is new).
    tampered = []
    for path in Path(settings.VAR_DIR).rglob("*.py"):
        if path.is_file() and 'reason="genuine"' in path.read_text(errors="replace"):
            path.chmod(0o644)
            path.write_text(path.read_text().replace('reason="genuine"', 'reason="tampered"'))
            tampered.append(path)
    assert tampered, "the worker keeps no copy of the code under VAR_DIR: adapt this test to where it does"
    arena.evict_hostile()
    next_run = RUN_AT + timedelta(hours=1)
    honest = arena.subscribe(arena.honest_bot, HONEST_CONFIG)
    try:
        arena.engine([subscription], run_at=next_run)
        arena.engine([honest])
        subscription.refresh_from_db()

        ran = reason_of(subscription, next_run) or reason_of(subscription)
        assert reason_of(subscription, next_run) != "tampered", "the worker ran a tampered cache"
        assert ran == "genuine" or subscription.last_error, (ran, subscription.last_error)
        assert_honest(arena, honest)
    finally:
        arena.evict_hostile()
        arena.clear_code_cache()
