"""Fail open: with the default settings, when the sandbox cannot start, uploaded code must not run at all.

Issue 10: with the defaults, uploaded code ran without a sandbox when bubblewrap could not start (it reached MySQL
and read a host file). Now, in every configuration: uploaded bots don't run, their validations and subscriptions
say why, built-in bots still run. The hostile bot below is harmless outside a sandbox (it only writes a marker file
in the project's var/ folder and reads the planted canary), so this test is safe even against the flaw.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from bots.sandbox import command as sandbox_command_module
from bots.sandbox import sandbox_check
from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
from subscriptions.models import PerformanceLog

from .arena import ARMED_SCHEMA, HONEST_CONFIG, PRELUDE

pytestmark = pytest.mark.django_db

ESCAPES = (
    PRELUDE
    + '''
try:
    with open("@@MARKER_FILE@@", "w") as handle:
        handle.write(open("@@PROJECT_CANARY@@").read())
except OSError:
    pass


class Escapes(Bot):
    slug = "escapes"
    name = "Escapes"
    config_schema = SCHEMA
    startup_candles = 2

    def decide(self, candles):
        return Decision.hold(reason="ran")
'''
)


@pytest.fixture
def broken_sandbox(monkeypatch):
    """bubblewrap cannot start on this machine (missing, or refused by the container)."""
    monkeypatch.setattr(sandbox_command_module, "find_bwrap", lambda: None)
    from bots.sandbox import process

    if hasattr(process, "find_bwrap"):
        monkeypatch.setattr(process, "find_bwrap", lambda: None)
    assert not sandbox_check(refresh=True).available
    yield
    monkeypatch.undo()
    assert sandbox_check(refresh=True).available


def test_uploaded_code_never_runs_without_its_sandbox(arena, broken_sandbox):
    marker = Path(settings.BASE_DIR) / "var" / f"fail-open-{arena.token}"
    source = ESCAPES.replace("@@MARKER_FILE@@", str(marker))
    source = source.replace("@@PROJECT_CANARY@@", arena.tokens["PROJECT_CANARY"])
    builtin = ApprovedBotFactory(slug=f"builtin-sma-{arena.token}", name="Built-in SMA")
    BotVersionFactory(bot=builtin, version="1.0.0", builtin_slug="sma-crossover", validation_status="PASSED")
    try:
        # The most permissive configuration there ever was (the setting that allowed running without a sandbox).
        with override_settings(BOT_SANDBOX_REQUIRED=False):
            arena.evict_hostile(everything=True)  # a worker starting now: nothing warm from before
            version = arena.upload(arena.developer("escapes"), source, schema=ARMED_SCHEMA, default={}, name="Escapes")
            honest = arena.subscribe(arena.honest_bot, HONEST_CONFIG)
            trusted = arena.subscribe(builtin, HONEST_CONFIG)
            arena.engine([honest, trusted])

        assert not marker.exists(), "uploaded code ran outside a sandbox"
        assert version.validation_status == "FAILED", version.validation_report
        said = " ".join(check["message"] for check in version.validation_report["checks"] if not check["passed"])
        assert "sandbox" in said.lower(), said
        honest.refresh_from_db()
        assert not PerformanceLog.objects.filter(subscription=honest).exists()
        assert "sandbox" in honest.last_error.lower(), honest.last_error
        trusted.refresh_from_db()
        assert trusted.last_error == ""
        built_in = arena.decision_of(trusted)  # in this process, so the last digits may differ from the sandbox's
        assert built_in["actions"] == arena.expected_honest["actions"]
        assert built_in["indicators"] == pytest.approx(arena.expected_honest["indicators"])
    finally:
        marker.unlink(missing_ok=True)


def test_the_honest_bot_runs_again_once_the_sandbox_is_back(arena):
    honest = arena.subscribe(arena.honest_bot, HONEST_CONFIG)
    arena.engine([honest])
    honest.refresh_from_db()
    assert honest.last_error == ""
    assert arena.decision_of(honest) == arena.expected_honest
