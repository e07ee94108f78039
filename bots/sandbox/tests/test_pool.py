"""SandboxPool: one warm process per key, bounded, least recently used out first, safe across threads."""
import threading

import pytest

from bots.sandbox import SandboxError, SandboxPool

from .conftest import TEST_LIMITS

pytestmark = pytest.mark.usefixtures("needs_sandbox")


@pytest.fixture
def small_pool():
    pool = SandboxPool(max_size=2, limits=TEST_LIMITS)
    yield pool
    pool.close()


def decide(pool, key, folder, candles):
    with pool.bot(key, folder) as bot:
        [outcome] = bot.decide([{"id": key}], candles[-100:])
        assert outcome.ok, outcome.error
        return bot


def test_it_reuses_the_warm_bot_of_a_key(small_pool, sma_bot, candles):
    first = decide(small_pool, "v1", sma_bot, candles)
    pid = first.pid
    second = decide(small_pool, "v1", sma_bot, candles)

    assert second is first
    assert second.pid == pid
    assert second.starts == 1


def test_it_evicts_the_least_recently_used_bot(small_pool, sma_bot, candles):
    alpha = decide(small_pool, "alpha", sma_bot, candles)
    decide(small_pool, "beta", sma_bot, candles)
    decide(small_pool, "alpha", sma_bot, candles)
    decide(small_pool, "gamma", sma_bot, candles)

    assert small_pool.keys() == ["alpha", "gamma"]
    assert alpha.pid is not None


def test_an_evicted_bot_is_stopped_and_refuses_calls(small_pool, sma_bot, candles):
    alpha = decide(small_pool, "alpha", sma_bot, candles)
    decide(small_pool, "beta", sma_bot, candles)
    decide(small_pool, "gamma", sma_bot, candles)

    assert alpha.pid is None
    with pytest.raises(SandboxError, match="closed"):
        alpha.decide([{"id": 1}], candles[-100:])


def test_it_never_stops_a_bot_someone_holds(small_pool, sma_bot, candles):
    with small_pool.bot("held", sma_bot) as held:
        held.load()
        decide(small_pool, "beta", sma_bot, candles)
        decide(small_pool, "gamma", sma_bot, candles)

        assert len(small_pool) == 2
        assert held.pid is not None
        held.decide([{"id": 1}], candles[-100:])

    assert small_pool.keys() == ["gamma", "held"]


def test_a_key_coming_back_with_other_code_replaces_its_bot(small_pool, sma_bot, probe_bot, candles):
    old = decide(small_pool, "v1", sma_bot, candles)
    other = probe_bot("return Decision.hold(reason='new code')")

    with small_pool.bot("v1", other) as new:
        [outcome] = new.decide([{"id": 1}], candles[-3:])

    assert new is not old
    assert old.pid is None
    assert outcome.decision.reason == "new code"


def test_evict_stops_the_bot(small_pool, sma_bot, candles):
    bot = decide(small_pool, "v1", sma_bot, candles)

    small_pool.evict("v1")

    assert small_pool.keys() == []
    assert bot.pid is None


def test_it_serves_many_threads_at_once(small_pool, sma_bot, candles):
    failures = []

    def work(thread_index):
        try:
            for call in range(4):
                decide(small_pool, f"v{(thread_index + call) % 3}", sma_bot, candles)
        except Exception as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    assert len(small_pool) <= 2
