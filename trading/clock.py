"""The engine's clock. Production reads the wall clock; end-to-end tests and replays can drive it.

With `settings.ENGINE_CLOCK = "cache"`, `now()` returns the time stored under CLOCK_KEY in the shared cache (set by
`set_simulated_now`), so a test can move every worker and beat process through hours of candles in seconds.
"""

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

CLOCK_KEY = "engine:simulated-now"


def now() -> datetime:
    if settings.ENGINE_CLOCK == "cache":
        stored = cache.get(CLOCK_KEY)
        if stored:
            return datetime.fromisoformat(stored)
    return timezone.now()


def set_simulated_now(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("the engine clock is timezone-aware")
    cache.set(CLOCK_KEY, moment.isoformat(), timeout=None)
