"""Without bubblewrap: refuse (production) or run unsandboxed with a warning (development)."""
import json
import logging

import pytest

from bots.sandbox import SandboxedBot, SandboxTimeout, SandboxUnavailable, process
from bots.sandbox.command import CHILD_ENV, SandboxCheck

from .conftest import TEST_LIMITS


@pytest.fixture
def no_bwrap(monkeypatch):
    monkeypatch.setattr(process, "sandbox_check", lambda: SandboxCheck(False, "bubblewrap (bwrap) is not installed"))


def test_it_refuses_to_run_without_the_sandbox_when_it_is_required(no_bwrap, sma_bot):
    with pytest.raises(SandboxUnavailable) as error:
        SandboxedBot(sma_bot, limits=TEST_LIMITS, require_sandbox=True)

    assert str(error.value) == "the bot sandbox is required but unavailable: bubblewrap (bwrap) is not installed"


def test_it_runs_unsandboxed_with_a_warning_in_development(no_bwrap, probe_bot, candles, caplog, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "django-secret-do-not-leak")
    folder = probe_bot("return Decision.hold(reason=json.dumps(dict(os.environ)))")

    with caplog.at_level(logging.WARNING, logger="bots.sandbox.process"):
        bot = SandboxedBot(folder, limits=TEST_LIMITS, require_sandbox=False)
    with bot:
        [outcome] = bot.decide([{"id": 1}], candles[-3:])

    assert bot.sandboxed is False
    assert "WITHOUT a sandbox" in caplog.text
    assert set(json.loads(outcome.decision.reason)) <= set(CHILD_ENV) | {"PWD", "LC_CTYPE"}


def test_the_development_fallback_keeps_the_limits(no_bwrap, probe_bot, candles):
    folder = probe_bot("""
        while True:
            pass
    """)

    with SandboxedBot(folder, limits=TEST_LIMITS, require_sandbox=False) as bot, pytest.raises(SandboxTimeout):
        bot.decide([{"id": 1}], candles[-3:])
