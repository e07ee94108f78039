"""Without a working sandbox, uploaded bots do not run at all, their subscriptions say why, built-in bots go on."""

import logging
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from bots import runtime as bot_runtime
from bots.sandbox import command, process
from bots.sandbox.command import SandboxCheck
from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
from subscriptions.models import PerformanceLog, Subscription
from subscriptions.tests.factories import SubscriptionFactory
from trading.tests.conftest import START, run_tick

# Would leave a trace on the host if it ran outside a sandbox.
OUTSIDE = '''
from pathlib import Path

from bots.sdk import Bot, Decision


class Outside(Bot):
    slug = "outside"
    startup_candles = 1

    def decide(self, candles):
        Path("MARKER").write_text("ran without a sandbox")
        return Decision.hold(reason="ran")
'''


@pytest.fixture
def no_sandbox(monkeypatch, settings, tmp_path):
    """The machine cannot sandbox (bubblewrap missing), in a worker process that has no warm sandbox yet, and in
    the most permissive configuration there ever was (BOT_SANDBOX_REQUIRED off)."""
    unavailable = SandboxCheck(False, "bubblewrap (bwrap) is not installed; on Debian: apt-get install bubblewrap")
    monkeypatch.setattr(command, "_check", unavailable, raising=False)
    monkeypatch.setattr(command, "sandbox_check", lambda **_: unavailable)
    monkeypatch.setattr(process, "sandbox_check", lambda **_: unavailable, raising=False)
    monkeypatch.setattr(bot_runtime, "_pool", None)
    settings.BOT_SANDBOX_REQUIRED = False
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def uploaded_bot(source: str, marker) -> object:
    bot = ApprovedBotFactory(slug="outside")
    version = BotVersionFactory(bot=bot, version="1.0.0", builtin_slug="", validation_status="PASSED",
                                config_schema={"type": "object", "properties": {}}, default_config={})
    version.code_path = default_storage.save(
        f"bots/{bot.pk}/1.0.0/code.py", ContentFile(source.replace("MARKER", str(marker)).encode())
    )
    version.save()
    return bot


def test_uploaded_bots_do_not_run_and_say_why_while_built_in_bots_run(alice, no_sandbox, sma_bot, caplog):
    marker = no_sandbox / "ran-outside"
    uploaded = SubscriptionFactory(user=alice, bot=uploaded_bot(OUTSIDE, marker), is_paper=True,
                                   execution_config={}, risk_config={}, started_at=START - timedelta(hours=1))
    builtin = SubscriptionFactory(user=alice, bot=sma_bot, is_paper=True, strategy_config={"fast": 5, "slow": 20},
                                  execution_config={}, risk_config={}, started_at=START - timedelta(hours=1))

    with caplog.at_level(logging.ERROR, logger="bots.runtime"):
        reports = run_tick(START)
        run_tick(START + timedelta(hours=1))

    assert not marker.exists()
    uploaded.refresh_from_db()
    assert uploaded.last_error == "The bot could not start: " + bot_runtime.SANDBOX_UNAVAILABLE_MESSAGE
    assert "bwrap" not in uploaded.last_error  # the machine's details are for the operators' log
    assert "bubblewrap (bwrap) is not installed" in caplog.text
    assert uploaded.status == Subscription.Status.ACTIVE  # not the subscriber's fault: it runs again once fixed
    assert uploaded.completed_candle_at is None
    assert uploaded.consecutive_failures == 2
    assert not PerformanceLog.objects.filter(subscription=uploaded).exists()
    assert {report.outcome for report in reports if report.subscription_id == uploaded.pk} == {"error"}
    builtin.refresh_from_db()
    assert builtin.last_error == ""
    assert builtin.completed_candle_at == (START + timedelta(hours=1)).replace(second=0)
    assert PerformanceLog.objects.filter(subscription=builtin).count() == 2


def test_decide_many_for_uploaded_code_answers_every_subscription_with_the_reason(alice, no_sandbox):
    from bots.runtime import BotRequest, decide_many
    from bots.sdk import Candles

    version = uploaded_bot(OUTSIDE, no_sandbox / "ran").versions.get()
    candles = Candles.from_rows([[0, 1, 1, 1, 1, 1], [3_600_000, 1, 1, 1, 1, 1]])

    answers = decide_many(version, [BotRequest(1, {}), BotRequest(2, {}, {"kept": True})], candles)

    assert set(answers) == {1, 2}
    assert all(answer.decision is None for answer in answers.values())
    assert answers[1].error == "The bot failed in its sandbox: " + bot_runtime.SANDBOX_UNAVAILABLE_MESSAGE
    assert answers[2].state == {"kept": True}
