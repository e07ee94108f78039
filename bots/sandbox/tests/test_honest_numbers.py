"""Honest numbers: a sandboxed bot can neither forge a backtest's statistics nor see a candle after the one it decides.

Each hostile bot below tries one way to reach the future (a view's ``.base``, the garbage collector, a caller's
frame, a module global kept between calls, telling a truncated history by its length) or to forge the result. For
each we show that the attack works in one process (so the test can fail), and that through the sandbox its numbers
are those of the same bot without foresight, or it is rejected as look-ahead.
"""
import textwrap
import types

import numpy as np
import pytest

from bots.sandbox import SandboxedBot, SandboxLookahead, SandboxProtocolError
from bots.sdk import check_lookahead
from core.backtest import run_backtest

from .conftest import TEST_LIMITS

pytestmark = pytest.mark.usefixtures("needs_sandbox")

TIMEOUT_S = 20  # with TEST_LIMITS.process_cpu_seconds (30), the warm process is kept between calls

# Each finder returns the closes after the last of ``candles`` when it can reach them, else None.
FINDERS = {
    "base": """
        times, closes = candles.time.base, candles.close.base
        if times is None or closes is None:
            return None
        at = int(np.searchsorted(np.asarray(times), candles.time[-1]))
        return np.asarray(closes)[at + 1:]
    """,
    "gc": """
        n, last = len(candles), int(candles.time[-1])
        for value in gc.get_objects():
            try:  # in a big process (the test suite's) some objects are dead weak proxies or lazy objects that raise
                if isinstance(value, Candles) and len(value) > n and int(value.time[n - 1]) == last:
                    return value.close[n:]
                if isinstance(value, list) and len(value) > n and isinstance(value[0], list) and len(value[0]) == 6:
                    times = [row[0] for row in value]
                    if last in times and times.index(last) < len(times) - 1:
                        return np.array([row[4] for row in value[times.index(last) + 1:]], dtype=float)
            except Exception:  # noqa: BLE001
                continue
        return None
    """,
    "frames": """
        n, last = len(candles), int(candles.time[-1])
        frame = sys._getframe(1)
        while frame is not None:
            for value in list(frame.f_locals.values()):
                inside = [value] + list(getattr(value, "__dict__", {}).values())
                for item in inside:
                    if isinstance(item, Candles) and len(item) > n and int(item.time[n - 1]) == last:
                        return item.close[n:]
            frame = frame.f_back
        return None
    """,
    "globals": """
        n, first, last = len(candles), int(candles.time[0]), int(candles.time[-1])
        seen = SEEN.get(first)
        if seen is None or len(seen[0]) < n:
            SEEN[first] = (candles.time.copy(), candles.close.copy())
            return None
        times, closes = seen
        return closes[n:] if len(times) > n and int(times[n - 1]) == last else None
    """,
}

PREAMBLE = """
import gc
import sys

import numpy as np

from bots.sdk import Action, Bot, Candles, Decision, Signals, VectorBot

SEEN = {}


def find_future(candles):
"""

# A per-candle bot: with the next close in hand it buys before a rise and sells before a fall; without it, it
# follows the last move (what the same bot does honestly).
PER_CANDLE = PREAMBLE + """{finder}

class Hostile(Bot):
    slug = "hostile"
    name = "Hostile"
    startup_candles = 1

    def decide(self, candles):
        future = find_future(candles)
        now = candles.close[-1]
        if future is not None and len(future):
            return Decision(Action.BUY if future[0] > now else Action.SELL, reason="peeked")
        return Decision(Action.BUY if now > candles.close[-2] else Action.SELL)
"""

# A VectorBot whose row i reads close[i + 1]. To pass a truncation check it rebuilds the missing future with the
# finder; in the full run (nothing larger to find) it peeks within its own array.
VECTOR = PREAMBLE + """{finder}

class Hostile(VectorBot):
    slug = "hostile"
    name = "Hostile"
    startup_candles = 1

    def populate(self, candles):
        close = candles.close
        future = find_future(candles)
        series = close if future is None or not len(future) else np.concatenate([close, future])
        upcoming = np.append(series[1:], np.nan)[: len(close)]
        buy, sell = upcoming > close, upcoming < close
        return Signals(buy.astype(np.int8) - sell.astype(np.int8), {"upcoming": upcoming})
"""

HONEST = '\n    return None\n'


def source(template, finder):
    return template.replace("{finder}", textwrap.indent(textwrap.dedent(finder), "    "))


def load(text):
    """The bot class of ``text``, imported in this process (to show what it does without a sandbox)."""
    module = types.ModuleType("hostile_in_process")
    exec(compile(text, "hostile.py", "exec"), module.__dict__)  # noqa: S102 - our own test bots
    return module.Hostile


@pytest.fixture
def series(candles):
    return candles[-160:]


@pytest.mark.parametrize("finder", ["base", "gc", "frames", "globals"])
def test_a_per_candle_bot_gets_only_the_numbers_it_earns_without_foresight(finder, write_bot, series):
    series = series[-80:] if finder == "gc" else series  # scanning every object on each candle is slow
    hostile = source(PER_CANDLE, FINDERS[finder])
    honest = run_backtest(load(source(PER_CANDLE, HONEST)), series).to_json()
    # In one process the attack works (the module global needs a first run to fill it).
    in_process = load(hostile)
    cheated = run_backtest(in_process, series).to_json()
    if finder == "globals":
        cheated = run_backtest(in_process, series).to_json()
    assert cheated["stats"]["roi"] > honest["stats"]["roi"] + 0.05

    with SandboxedBot(write_bot(hostile), limits=TEST_LIMITS) as bot:
        first = bot.backtest(series, timeout_s=TIMEOUT_S)
        again = bot.backtest(series, timeout_s=TIMEOUT_S)  # a second run finds nothing of the first either

    assert first == honest
    assert again == honest


@pytest.mark.parametrize("finder", ["base", "gc", "frames", "globals"])
def test_a_vector_bot_reaching_the_future_is_rejected_as_lookahead(finder, write_bot, series):
    series = series[-80:] if finder == "gc" else series
    hostile = source(VECTOR, FINDERS[finder])
    # In one process it backtests beautifully; the in-process check's fresh copies stop ``.base`` only.
    cheated = run_backtest(load(hostile), series)
    assert cheated.stats.roi > 0.2 and cheated.stats.trades > 10
    assert check_lookahead(load(hostile), None, series, sample_points=20).clean is (finder != "base")

    with SandboxedBot(write_bot(hostile), limits=TEST_LIMITS) as bot:
        report = bot.lookahead(series, timeout_s=TIMEOUT_S)
        with pytest.raises(SandboxLookahead) as rejected:
            bot.backtest(series, timeout_s=TIMEOUT_S)

    assert report["clean"] is False
    assert report["column"] in {"action", "upcoming"}
    assert "later candles" in str(rejected.value)
    assert 1 <= rejected.value.index < len(series) - 1


LENGTH_TELLER = PREAMBLE + """    return None

CALLS = {}


class Hostile(VectorBot):
    slug = "hostile"
    name = "Hostile"
    startup_candles = 1

    def populate(self, candles):
        # Honest the first time it sees a history of this length (the check), peeking from then on (the backtest).
        CALLS[len(candles)] = CALLS.get(len(candles), 0) + 1
        close = candles.close
        if CALLS[len(candles)] == 1:
            previous = np.insert(close[:-1], 0, np.nan)
            return Signals((close > previous).astype(np.int8) - (close < previous).astype(np.int8))
        upcoming = np.append(close[1:], np.nan)
        return Signals((upcoming > close).astype(np.int8) - (upcoming < close).astype(np.int8))
"""


def test_a_bot_that_is_honest_only_while_checked_fails_its_backtest(write_bot, series):
    with SandboxedBot(write_bot(LENGTH_TELLER), limits=TEST_LIMITS) as bot:
        assert bot.lookahead(series, timeout_s=TIMEOUT_S)["clean"] is True  # it was honest then
        with pytest.raises(SandboxLookahead):
            bot.backtest(series, timeout_s=TIMEOUT_S)


def test_the_verification_samples_rows_the_simulation_did_not_act_on(write_bot, series):
    # It signals honestly but, knowing the future, stays out of every trade that would lose: only HOLD rows lie.
    # Every other row is checked here (a sample of all of them), so one of the lies is found.
    text = PREAMBLE + """    return None


class Hostile(VectorBot):
    slug = "hostile"
    name = "Hostile"
    startup_candles = 1

    def populate(self, candles):
        close = candles.close
        previous = np.insert(close[:-1], 0, np.nan)
        upcoming = np.append(close[1:], np.nan)
        buy = (close > previous) & ~(upcoming < close)
        sell = close < previous
        return Signals(buy.astype(np.int8) - sell.astype(np.int8))
"""
    from bots.sandbox import streaming

    with SandboxedBot(write_bot(text), limits=TEST_LIMITS) as bot:
        original = streaming.HOLD_SAMPLES
        streaming.HOLD_SAMPLES = len(series)
        try:
            with pytest.raises(SandboxLookahead):
                bot.backtest(series, timeout_s=TIMEOUT_S)
        finally:
            streaming.HOLD_SAMPLES = original


def test_a_bot_deciding_at_random_cannot_be_verified(write_bot, series):
    text = PREAMBLE + """    return None


class Hostile(VectorBot):
    slug = "hostile"
    name = "Hostile"
    startup_candles = 1

    def populate(self, candles):
        import random
        return Signals(np.array([random.choice((-1, 0, 1)) for _ in range(len(candles))], dtype=np.int8))
"""
    with SandboxedBot(write_bot(text), limits=TEST_LIMITS) as bot, pytest.raises(SandboxLookahead) as rejected:
        bot.backtest(series, timeout_s=TIMEOUT_S)
    assert "not reproducible" in str(rejected.value)


FORGED = {"stats": {"roi": 8.87, "win_rate": 1.0, "max_drawdown": "0", "trades": 40}, "trades": [],
          "equity_curve": []}


def test_a_bot_answering_a_forged_result_gets_no_numbers(write_bot, series):
    # It replaces the child's answers with a forged backtest result, as the old protocol would have returned it.
    text = f"""
import sandbox_child as child
from bots.sdk import Bot, Decision

FORGED = {FORGED!r}
for op in ("op_step", "op_populate", "op_bot_start"):
    setattr(child.Child, op, lambda self, request: FORGED)


class Forger(Bot):
    slug = "forger"
    startup_candles = 1

    def decide(self, candles):
        return Decision.hold()
"""
    with SandboxedBot(write_bot(text), limits=TEST_LIMITS) as bot, pytest.raises(SandboxProtocolError):
        bot.backtest(series, timeout_s=TIMEOUT_S)


def test_a_forged_result_riding_on_its_decisions_is_refused(write_bot, series):
    # HOLD decisions that also carry a forged result: the host's strict reader refuses a decision with keys it does
    # not know (bots.sdk.Decision.from_json), so the backtest has no result at all, forged or not.
    text = f"""
import sandbox_child as child
from bots.sdk import Bot, Decision

FORGED = {FORGED!r}
original = child.Child.op_step
child.Child.op_step = lambda self, request: {{**original(self, request), **FORGED}}


class Forger(Bot):
    slug = "forger"
    startup_candles = 1

    def decide(self, candles):
        return Decision.hold(reason="ROI +887 %", indicators={{"roi": 8.87}})
"""
    bot = SandboxedBot(write_bot(text), limits=TEST_LIMITS)
    with bot, pytest.raises(SandboxProtocolError, match="unknown decision keys"):
        bot.backtest(series, timeout_s=TIMEOUT_S)


def test_the_streamed_process_never_holds_a_later_candle(write_bot, series):
    # The bot records, on each decision, the newest candle anywhere in its process (gc) and whether its arrays are
    # views of something larger; a per-candle bot's state is not returned by backtests, so it fails loudly instead.
    text = PREAMBLE + """    return None


class Recorder(Bot):
    slug = "recorder"
    startup_candles = 0

    def decide(self, candles):
        newest = int(candles.time[-1])
        for value in gc.get_objects():
            if isinstance(value, Candles) and len(value) and int(value.time[-1]) > newest:
                raise AssertionError("a later candle is in this process")
            if isinstance(value, list) and value and isinstance(value[0], list) and len(value[0]) == 6:
                if max(row[0] for row in value) > newest:
                    raise AssertionError("a later candle row is in this process")
        for column in (candles.time, candles.open, candles.high, candles.low, candles.close, candles.volume):
            if column.base is not None or column.flags.writeable:
                raise AssertionError("a view or a writable array")
        return Decision.hold()
"""
    with SandboxedBot(write_bot(text), limits=TEST_LIMITS) as bot:
        result = bot.backtest(series[:60], timeout_s=TIMEOUT_S)
    assert result["stats"]["trades"] == 0


def test_the_sandbox_runs_no_engine_to_forge_with(write_bot, series):
    text = """
from bots.sdk import Bot, Decision


class Prober(Bot):
    slug = "prober"

    def decide(self, candles):
        import importlib
        found = []
        for name in ("core.backtest", "core.fill_model", "core.backtest.stats"):
            try:
                importlib.import_module(name)
                found.append(name)
            except ImportError:
                pass
        return Decision.hold(reason=",".join(found) or "none")
"""
    with SandboxedBot(write_bot(text), limits=TEST_LIMITS) as bot:
        [outcome] = bot.decide([{"id": 1, "config": {}, "state": {}}], series[-5:])
    assert outcome.decision.reason == "none"


def test_a_vector_backtest_equals_the_one_in_process_and_is_verified(sma_bot, candles):
    from core.builtin import SmaCrossover

    with SandboxedBot(sma_bot, limits=TEST_LIMITS) as bot:
        result = bot.backtest(candles, config={"fast": 5, "slow": 20}, timeout_s=TIMEOUT_S)
        streamed = bot.backtest(candles[-400:], config={"fast": 5, "slow": 20}, vectorized=False,
                                timeout_s=TIMEOUT_S)
        starts = bot.starts

    assert result == run_backtest(SmaCrossover, candles, config={"fast": 5, "slow": 20}).to_json()
    assert streamed == run_backtest(SmaCrossover, candles[-400:], config={"fast": 5, "slow": 20}).to_json()
    assert starts == 3  # the warm process, and one fresh process per backtest (stopped after it)
    assert np.isfinite(result["stats"]["roi"])


def test_a_prepared_fresh_process_serves_the_next_backtest_and_only_that(sma_bot, candles):
    with SandboxedBot(sma_bot, limits=TEST_LIMITS) as bot:
        bot.load()
        bot.prepare_fresh(wait=True)
        prepared = bot._resources.fresh
        starts = bot.starts
        bot.backtest(candles[-500:], timeout_s=TIMEOUT_S)

        assert bot.starts == starts  # the prepared process verified it: no cold start in the call
        assert not prepared.alive()  # and it was stopped: it has seen candles now
        assert bot._resources.fresh is None


def test_a_streamed_backtest_is_bounded_by_its_whole_budget(write_bot, series):
    # Each decision is quick, but together they take longer than the call's budget: the budget covers the stream.
    text = """
import time

from bots.sdk import Bot, Decision


class Slow(Bot):
    slug = "slow"

    def decide(self, candles):
        time.sleep(0.02)
        return Decision.hold()
"""
    from bots.sandbox import SandboxTimeout

    with SandboxedBot(write_bot(text), limits=TEST_LIMITS) as bot, pytest.raises(SandboxTimeout) as timeout:
        bot.backtest(series, timeout_s=1)
    assert timeout.value.kind == "wall" and timeout.value.limit_s == 1


@pytest.mark.parametrize("forgery", [
    "result['actions'] = result['actions'][:-1]",                         # one action short
    "result['actions'][-5] = 7",                                           # not an action
    "result['rows'] = []",                                                 # signal rows without their decision
    "result['rows'] = [[index, {**row, 'action': 'HOLD'}] for index, row in result['rows']]",  # two stories
])
def test_a_forged_populate_answer_is_refused(forgery, write_bot, series):
    text = f"""
import numpy as np

import sandbox_child as child
from bots.sdk import Signals, VectorBot

original = child.Child.op_populate


def forged(self, request):
    result = original(self, request)
    {forgery}
    return result


child.Child.op_populate = forged


class Alternating(VectorBot):
    slug = "alternating"

    def populate(self, candles):
        return Signals(np.array([1 if i % 10 == 0 else -1 if i % 10 == 5 else 0 for i in range(len(candles))]))
"""
    with SandboxedBot(write_bot(text), limits=TEST_LIMITS) as bot, pytest.raises(SandboxProtocolError):
        bot.backtest(series, timeout_s=TIMEOUT_S)


def test_rows_the_warm_process_changes_after_the_sample_is_drawn_fail_the_check(write_bot, series):
    # The warm process answers honest actions, then different indicators for the HOLD rows the host asks about.
    text = """
import numpy as np

import sandbox_child as child
from bots.sdk import Signals, VectorBot

original = child.Child.op_rows
child.Child.op_rows = lambda self, request: {
    "rows": [[index, {**row, "indicators": {"close": 0.0}}] for index, row in original(self, request)["rows"]]
}


class Quiet(VectorBot):
    slug = "quiet"

    def populate(self, candles):
        return Signals(np.zeros(len(candles), dtype=np.int8), {"close": candles.close})
"""
    with SandboxedBot(write_bot(text), limits=TEST_LIMITS) as bot:
        report = bot.lookahead(series, sample_points=10, timeout_s=TIMEOUT_S)
    assert report["clean"] is False and report["column"] == "close"
