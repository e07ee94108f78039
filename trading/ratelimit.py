"""One request budget per exchange (and per API key) shared by every worker process.

ccxt's own limiter works per instance; many workers with many tenants would still add up to more than an exchange
allows from one IP and get it banned. This module counts requests in the shared cache (Redis in production) in
one-second windows and makes callers wait for the next window when the budget is spent.
"""

import time

from django.conf import settings
from django.core.cache import cache

# Requests per second per exchange from this platform's IP, kept well under each exchange's published limit.
EXCHANGE_BUDGET_PER_SECOND: dict[str, int] = {
    "BINANCE": 15,  # 1200 weight/min; most calls weigh 1–10
    "COINBASE": 8,
    "KRAKEN": 1,
    "BYBIT": 10,
    "HUOBI": 8,
}
KEY_BUDGET_PER_SECOND = 5
MAX_WAIT_S = 30.0


def _take(bucket: str, budget: int) -> float:
    """Take one request from `bucket` in the current second; 0 if granted, else seconds until the next window."""
    now = time.time()
    window = int(now)
    key = f"ratelimit:{bucket}:{window}"
    # add() then incr(): the first caller of the window creates the counter atomically, the rest increment it.
    cache.add(key, 0, timeout=5)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=5)
        used = 1
    return 0.0 if used <= budget else (window + 1) - now


def acquire(exchange: str, key_id: str | None = None) -> None:
    """Block until one request to `exchange` (with API key `key_id`, if any) fits the shared budget."""
    deadline = time.monotonic() + MAX_WAIT_S
    budgets = {**EXCHANGE_BUDGET_PER_SECOND, **getattr(settings, "EXCHANGE_BUDGET_PER_SECOND", {})}
    key_budget = getattr(settings, "KEY_BUDGET_PER_SECOND", KEY_BUDGET_PER_SECOND)
    buckets = [(f"exchange:{exchange}", budgets.get(exchange, 5))]
    if key_id:
        buckets.append((f"key:{exchange}:{key_id}", key_budget))
    for bucket, budget in buckets:
        while (wait := _take(bucket, budget)) > 0:
            if time.monotonic() + wait > deadline:
                raise TimeoutError(f"rate-limit budget for {bucket} exhausted for {MAX_WAIT_S:.0f}s")
            time.sleep(wait)
