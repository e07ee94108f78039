import time

from trading import ratelimit


def test_it_makes_callers_wait_for_the_next_window_once_the_budget_is_spent(settings):
    settings.EXCHANGE_BUDGET_PER_SECOND = {"KRAKEN": 3}
    # Start at the beginning of a second so the count below is exact.
    time.sleep(1 - time.time() % 1)
    started = time.time()
    for _ in range(7):
        ratelimit.acquire("KRAKEN")
    windows = int(time.time()) - int(started)
    assert windows == 2, "7 requests at 3 per second span three one-second windows"


def test_it_keeps_a_separate_budget_per_api_key(settings):
    settings.EXCHANGE_BUDGET_PER_SECOND = {"BYBIT": 1000}
    settings.KEY_BUDGET_PER_SECOND = 2
    time.sleep(1 - time.time() % 1)
    started = time.time()
    for _ in range(3):
        ratelimit.acquire("BYBIT", key_id="alice")
    ratelimit.acquire("BYBIT", key_id="bob")
    assert int(time.time()) - int(started) == 1, "alice's third call waits; bob's does not add to her budget"
