"""The happy paths: an uploaded bot loads, decides, backtests and checks for lookahead inside the sandbox."""
import dataclasses
import pickle
import threading
import time
from decimal import Decimal

import pytest

from bots.sandbox import SandboxBotError, SandboxCrashed, SandboxedBot
from bots.sandbox.command import UID_COUNT, UID_FIRST
from bots.sdk import Action, ConfigError
from core.backtest import InsufficientCandles, run_backtest
from core.builtin import SmaCrossover

from .conftest import TEST_LIMITS, processes_of, wait_until_gone

pytestmark = pytest.mark.usefixtures("needs_sandbox")

COUNTER_BOT = """
from bots.sdk import Bot, Decision


class Counter(Bot):
    slug = "counter"
    name = "Counter"
    config_schema = {
        "type": "object",
        "properties": {
            "step": {"type": "integer", "default": 1},
            "crash": {"type": "boolean", "default": False},
        },
        "additionalProperties": False,
    }
    startup_candles = 1

    def decide(self, candles):
        if self.config["crash"]:
            import os
            os.abort()
        self.state["calls"] = self.state.get("calls", 0) + self.config["step"]
        return Decision.hold(reason=f"call {self.state['calls']}", indicators={"calls": self.state["calls"]})
"""


@pytest.fixture
def sma(sma_bot):
    with SandboxedBot(sma_bot, limits=TEST_LIMITS) as bot:
        yield bot


def test_it_loads_an_uploaded_bot_and_describes_it(sma):
    info = sma.load()

    assert info.slug == "sma-crossover"
    assert info.name == SmaCrossover.name
    assert info.startup_candles == 30
    assert info.config_schema == SmaCrossover.config_schema
    assert info.vectorized is True
    assert info.bot_class == "bot:SmaCrossover"


def test_it_decides_exactly_as_the_bot_does_in_process(sma, candles):
    window = candles[-120:]

    [outcome] = sma.decide([{"id": "sub-1", "config": {"fast": 7, "slow": 25}, "state": {}}], window)

    expected = SmaCrossover.from_config({"fast": 7, "slow": 25}).decide(window)
    assert outcome.ok
    assert outcome.id == "sub-1"
    assert outcome.decision == expected
    assert outcome.state == {}


def test_it_decides_for_many_subscriptions_in_one_call(sma, candles):
    window = candles[-200:]
    subscriptions = [{"id": index, "config": {"fast": 2 + index, "slow": 60}, "state": {}} for index in range(40)]
    subscriptions.append({"id": "bad", "config": {"fast": 50, "slow": 20}, "state": {}})

    outcomes = sma.decide(subscriptions, window)

    assert [outcome.id for outcome in outcomes] == [sub["id"] for sub in subscriptions]
    for subscription, outcome in zip(subscriptions[:-1], outcomes[:-1], strict=True):
        assert outcome.decision == SmaCrossover.from_config(subscription["config"]).decide(window)
    bad = outcomes[-1]
    assert not bad.ok
    assert bad.config_errors == [{"field": "fast", "message": "must be less than slow (20)"}]
    assert sma.starts == 1


def test_it_round_trips_each_subscriptions_state(write_bot, candles):
    with SandboxedBot(write_bot(COUNTER_BOT), limits=TEST_LIMITS) as bot:
        first = bot.decide([{"id": "a", "config": {}, "state": None}, {"id": "b", "config": {"step": 10}}],
                           candles[-5:])
        second = bot.decide([{"id": "a", "config": {}, "state": first[0].state},
                             {"id": "b", "config": {"step": 10}, "state": first[1].state}], candles[-5:])

    assert [outcome.state for outcome in first] == [{"calls": 1}, {"calls": 10}]
    assert [outcome.state for outcome in second] == [{"calls": 2}, {"calls": 20}]
    assert second[1].decision.reason == "call 20"


def test_it_reports_a_bot_exception_per_subscription(probe_bot, candles):
    folder = probe_bot("""
        if self.state.get("explode"):
            return 1 / 0
        return Decision.hold()
    """)
    with SandboxedBot(folder, limits=TEST_LIMITS) as bot:
        broken, fine = bot.decide([{"id": 1, "state": {"explode": True}}, {"id": 2}], candles[-3:])

    assert broken.error == "ZeroDivisionError: division by zero"
    assert 'File "/bot/bot.py"' in broken.traceback
    assert fine.ok and fine.decision.action is Action.HOLD


def test_it_refuses_too_few_candles_for_the_config(sma, candles):
    [outcome] = sma.decide([{"id": 1, "config": {"slow": 50}}], candles[-20:])

    assert outcome.error == "20 candles given; this config needs at least 51"


def test_a_backtest_in_the_sandbox_equals_one_in_process(sma, candles):
    settings = {
        "config": {"fast": 12, "slow": 40},
        "fee_rate": Decimal("0.001"),
        "slippage_rate": Decimal("0.0005"),
        "risk_config": {"stop_loss_percent": 3, "take_profit_percent": 8},
        "execution_config": {"buy_order_value": 50},
    }

    sandboxed = sma.backtest(candles, **settings)

    in_process = run_backtest(SmaCrossover, candles, **settings).to_json()
    assert sandboxed["trades"] == in_process["trades"]
    assert len(sandboxed["trades"]) > 10
    assert sandboxed == in_process


def test_a_backtest_raises_the_same_errors_as_in_process(sma, candles):
    with pytest.raises(ConfigError) as error:
        sma.backtest(candles, config={"fast": 50, "slow": 20}, risk_config={"stop_loss_pct": 3})
    with pytest.raises(InsufficientCandles):
        sma.backtest(candles[:20])

    assert {e["field"] for e in error.value.errors} == {"fast"}


def test_it_runs_the_lookahead_check(sma, write_bot, candles):
    peeking = write_bot("""
        import numpy as np
        from bots.sdk import Signals, VectorBot, actions_from

        class Peeking(VectorBot):
            slug = "peeking"

            def populate(self, candles):
                tomorrow = np.roll(candles.close, -1)
                return Signals(actions_from(tomorrow > candles.close, tomorrow < candles.close), {"next": tomorrow})
    """, name="peeking")

    with SandboxedBot(peeking, limits=TEST_LIMITS) as bot:
        dirty = bot.lookahead(candles[:300])

    assert sma.lookahead(candles)["clean"] is True
    assert dirty["clean"] is False
    assert dirty["column"] in {"action", "next"}


def test_it_loads_a_package_through_its_entrypoint(tmp_path, candles):
    package = tmp_path / "code" / "mybot"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "levels.py").write_text("THRESHOLD = 3\n")
    (package / "strategy.py").write_text(
        "from bots.sdk import Bot, Decision\n"
        "from .levels import THRESHOLD\n\n"
        "class Helper:\n    pass\n\n"
        "class MyBot(Bot):\n"
        "    slug = 'my-bot'\n"
        "    def decide(self, candles):\n"
        "        return Decision.hold(reason=f'threshold {THRESHOLD}')\n"
    )

    with SandboxedBot(tmp_path / "code", entrypoint="mybot.strategy:MyBot", limits=TEST_LIMITS) as bot:
        info = bot.load()
        [outcome] = bot.decide([{"id": 1}], candles[-2:])

    assert info.bot_class == "mybot.strategy:MyBot"
    assert outcome.decision.reason == "threshold 3"


def test_it_explains_a_module_without_exactly_one_bot(write_bot, tmp_path):
    two = write_bot("""
        from bots.sdk import Bot

        class One(Bot):
            pass

        class Two(Bot):
            pass
    """, name="two")
    empty = tmp_path / "empty"
    empty.mkdir()

    with SandboxedBot(two, limits=TEST_LIMITS) as bot, pytest.raises(SandboxBotError) as found_two:
        bot.load()
    with SandboxedBot(empty, limits=TEST_LIMITS) as bot, pytest.raises(SandboxBotError) as found_none:
        bot.load()

    assert "exactly one Bot subclass (found One, Two)" in str(found_two.value)
    assert "no bot.py" in str(found_none.value)


def test_it_reports_an_import_error_with_the_bots_traceback(write_bot):
    folder = write_bot("import definitely_not_installed\n")

    with SandboxedBot(folder, limits=TEST_LIMITS) as bot:
        with pytest.raises(SandboxBotError) as error:
            bot.load()
        assert bot.pid is None  # a bot that cannot load keeps no process

    assert str(error.value) == "the bot raised ModuleNotFoundError: No module named 'definitely_not_installed'"
    assert 'File "/bot/bot.py", line 1' in error.value.traceback


def test_a_bot_reads_its_model_file_read_only(write_bot, tmp_path, candles):
    model = tmp_path / "weights.pkl"
    model.write_bytes(pickle.dumps({"threshold": 41_000.5}))
    folder = write_bot("""
        import pickle
        from bots.sdk import Bot, Decision
        from bots.sdk.model import model_path

        class ModelBot(Bot):
            slug = "model-bot"

            def __init__(self, config, state=None):
                super().__init__(config, state)
                self.model = pickle.loads(model_path().read_bytes())

            def decide(self, candles):
                try:
                    open(model_path("weights.pkl"), "wb")
                    writable = "yes"
                except OSError as error:
                    writable = type(error).__name__
                return Decision.hold(reason=f"{model_path()} {writable}", indicators=self.model)
    """)

    with SandboxedBot(folder, model_path=model, limits=TEST_LIMITS) as bot:
        [outcome] = bot.decide([{"id": 1}], candles[-2:])

    assert outcome.decision.indicators == {"threshold": 41_000.5}
    assert outcome.decision.reason == "/bot/model/weights.pkl OSError"


def test_it_reuses_one_warm_process_and_a_call_costs_far_less_than_a_start(sma, candles):
    window = candles[-200:]
    subscriptions = [{"id": 1, "config": {}}]
    started = time.monotonic()
    sma.load()
    cold_s = time.monotonic() - started
    pid = sma.pid

    warm = []
    for _ in range(5):
        started = time.monotonic()
        sma.decide(subscriptions, window)
        warm.append(time.monotonic() - started)

    assert sma.pid == pid
    assert sma.starts == 1
    assert sorted(warm)[2] * 5 < cold_s


def test_each_process_runs_as_a_fresh_unprivileged_uid(sma_bot):
    with SandboxedBot(sma_bot, limits=TEST_LIMITS) as first, SandboxedBot(sma_bot, limits=TEST_LIMITS) as second:
        first.load()
        second.load()
        uids = {first.uid, second.uid}

        assert len(uids) == 2
        assert all(UID_FIRST <= uid < UID_FIRST + UID_COUNT for uid in uids)
        assert all(processes_of(uid) for uid in uids)

    assert [wait_until_gone(uid) for uid in uids] == [[], []]


def test_it_starts_a_new_process_after_a_crash(write_bot, candles):
    with SandboxedBot(write_bot(COUNTER_BOT), limits=TEST_LIMITS) as bot:
        bot.decide([{"id": 1}], candles[-2:])
        first_pid = bot.pid

        with pytest.raises(SandboxCrashed):
            bot.decide([{"id": 1, "config": {"crash": True}}], candles[-2:])
        assert bot.pid is None
        [outcome] = bot.decide([{"id": 1, "state": {"calls": 5}}], candles[-2:])

        assert outcome.state == {"calls": 6}
        assert bot.starts == 2
        assert bot.pid not in (None, first_pid)


def test_it_renews_a_warm_process_before_its_lifetime_cpu_budget_runs_out(probe_bot, candles):
    folder = probe_bot("""
        import time
        started = time.process_time()
        while time.process_time() - started < 0.3:
            pass
        return Decision.hold()
    """)
    limits = dataclasses.replace(TEST_LIMITS, process_cpu_seconds=3)

    with SandboxedBot(folder, limits=limits) as bot:
        outcomes = [bot.decide([{"id": 1}], candles[-2:])[0] for _ in range(5)]

    assert all(outcome.ok for outcome in outcomes)
    assert bot.starts >= 2


def test_a_process_outlives_the_thread_that_started_it(sma_bot, candles):
    # bwrap --die-with-parent dies with the *thread* that forked it: a thread pool retiring a worker must not
    # take the warm processes that worker happened to start with it.
    with SandboxedBot(sma_bot, limits=TEST_LIMITS) as bot:
        starter = threading.Thread(target=bot.load)
        starter.start()
        starter.join()
        pid = bot.pid
        time.sleep(0.2)

        [outcome] = bot.decide([{"id": 1}], candles[-100:])

        assert outcome.ok
        assert bot.pid == pid
        assert bot.starts == 1


def test_it_refuses_a_state_too_large_to_store(probe_bot, candles):
    folder = probe_bot("""
        self.state["history"] = list(range(100_000))
        return Decision.hold()
    """)

    with SandboxedBot(folder, limits=TEST_LIMITS) as bot:
        [outcome] = bot.decide([{"id": 1}], candles[-2:])

    assert outcome.error == "the bot's state is 588903 bytes of JSON; at most 65536"
