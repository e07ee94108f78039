"""Uploaded code is cached and pooled by content hash, checked before use, and never found again by a version id."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from bots import runtime as bot_runtime
from bots.models import Bot
from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
from bots.uploads import stored_digest
from subscriptions.models import PerformanceLog, Subscription
from subscriptions.tests.factories import SubscriptionFactory
from trading.tests.conftest import START, run_tick

WHOAMI = '''
from bots.sdk import Bot, Decision


class WhoAmI(Bot):
    slug = "whoami"
    startup_candles = 1

    def decide(self, candles):
        return Decision.hold(reason="I am NAME")
'''


@pytest.fixture(autouse=True)
def sandbox(needs_sandbox, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"


def uploaded(name: str, *, pk: int | None = None, hashed: bool = True) -> Bot:
    bot = ApprovedBotFactory(slug=f"whoami-{name}")
    version = BotVersionFactory(bot=bot, version="1.0.0", builtin_slug="", validation_status="PASSED", pk=pk,
                                config_schema={"type": "object", "properties": {}}, default_config={})
    version.code_path = default_storage.save(
        f"bots/{bot.pk}/1.0.0/code.py", ContentFile(WHOAMI.replace("NAME", name).encode())
    )
    if hashed:
        version.code_sha256 = stored_digest(code_path=version.code_path, model_path=None)
    version.save()
    return bot


def last_reason(subscription) -> str:
    subscription.refresh_from_db()
    assert subscription.last_error == "", subscription.last_error
    return PerformanceLog.objects.filter(subscription=subscription).latest("id").signal_data["reason"]


def subscribe(user, bot):
    return SubscriptionFactory(user=user, bot=bot, is_paper=True, execution_config={}, risk_config={},
                               started_at=START - timedelta(hours=1))


def test_a_reused_version_id_never_runs_the_old_code(alice, bob):
    first = uploaded("alice's bot")
    version_id = first.versions.get().pk
    subscription = subscribe(alice, first)
    run_tick(START)
    assert last_reason(subscription) == "I am alice's bot"
    old_digest = first.versions.get().code_sha256

    # A database reset: the rows go, the worker's cache and its warm sandboxes stay, and the version id comes back.
    Subscription.objects.all().delete()
    Bot.objects.all().delete()
    second = uploaded("bob's bot", pk=version_id)
    assert second.versions.get().pk == version_id
    other = subscribe(bob, second)
    run_tick(START + timedelta(hours=1))

    assert last_reason(other) == "I am bob's bot"
    new_digest = second.versions.get().code_sha256
    assert new_digest != old_digest
    cached = {path.name for path in (bot_runtime.settings.VAR_DIR / "bot-code").iterdir()}
    assert cached == {old_digest, new_digest}  # by content, never by id
    assert {old_digest, new_digest} <= set(bot_runtime._sandbox_pool().keys())


def test_a_tampered_cache_folder_is_refused_then_rebuilt_from_storage(alice):
    bot = uploaded("honest")
    subscription = subscribe(alice, bot)
    run_tick(START)
    assert last_reason(subscription) == "I am honest"
    digest = bot.versions.get().code_sha256
    folder = bot_runtime.settings.VAR_DIR / "bot-code" / digest
    (folder / "code" / "bot.py").write_text(WHOAMI.replace("NAME", "an impostor"))
    bot_runtime._sandbox_pool().evict(digest)  # as a fresh worker process: no warm sandbox for this code

    run_tick(START + timedelta(hours=1))

    subscription.refresh_from_db()
    assert subscription.last_error == (
        "The bot could not start: This bot version was not run: "
        "its code is not the code uploaded for this version (the content hash differs)."
    )
    assert not folder.exists()  # the damaged copy is gone: the next run copies the code from storage again
    run_tick(START + timedelta(hours=2))
    assert last_reason(subscription) == "I am honest"


def test_code_changed_in_storage_is_refused(alice):
    bot = uploaded("honest")
    version = bot.versions.get()
    with default_storage.open(version.code_path, "wb") as stored:
        stored.write(WHOAMI.replace("NAME", "swapped in storage").encode())
    subscription = subscribe(alice, bot)

    run_tick(START)

    subscription.refresh_from_db()
    assert "its code is not the code uploaded for this version" in subscription.last_error
    assert not PerformanceLog.objects.filter(subscription=subscription).exists()


def test_a_version_from_before_the_hash_gets_one_on_its_first_run(alice):
    bot = uploaded("old", hashed=False)
    subscription = subscribe(alice, bot)

    run_tick(START)

    assert last_reason(subscription) == "I am old"
    version = bot.versions.get()
    assert version.code_sha256 == stored_digest(code_path=version.code_path, model_path=None)
