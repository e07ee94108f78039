"""A sandboxed backtest reports its progress while it runs (the host's own walk over the bot's decisions), and the
channel refuses progress lines it did not ask for (a bot writing into the protocol)."""

import pytest

from bots.sandbox import SandboxedBot, SandboxProtocolError
from bots.sandbox.tests.conftest import TEST_LIMITS
from core.backtest import run_backtest

pytestmark = pytest.mark.usefixtures("needs_sandbox")


def test_it_streams_progress_and_still_answers_with_the_result(sma_bot, candles):
    calls = []
    with SandboxedBot(sma_bot, limits=TEST_LIMITS) as bot:
        result = bot.backtest(candles, progress=lambda done, total: calls.append((done, total)))
        # The process stays usable: the progress lines did not shift later answers.
        bot.ping()
        again = bot.backtest(candles)
    total = len(candles) - 30  # the default config's warm-up (slow = 30) is not walked
    assert calls[-1] == (total, total)
    assert 50 <= len(calls) <= 110
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert result == again
    assert result["stats"] == run_backtest("sma-crossover", candles).to_json()["stats"]


def test_it_refuses_a_progress_line_it_did_not_ask_for(probe_bot, candles):
    # A bot that writes what looks like a progress line into the protocol: without a callback it is an extra line.
    folder = probe_bot(
        """
        import os
        os.write(3, json.dumps({"seq": 2, "progress": [1, 2]}).encode() + b"\\n")
        return Decision.hold()
        """
    )
    with SandboxedBot(folder, limits=TEST_LIMITS) as bot, pytest.raises(SandboxProtocolError):
        bot.decide([{"id": 1, "config": {}, "state": {}}], candles[-50:])
