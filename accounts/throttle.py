"""Login throttle: after MAX_FAILURES failed logins for one email from one IP address, that pair is locked out.

Counters live in Django's cache (Redis in production, shared by every web process; locmem in tests). The key is a
hash of the lower-cased email and the client IP, so the cache never holds an email in clear, and a flood of bad
passwords from one address cannot lock the real owner out everywhere else.

While locked, even the right password is refused: otherwise the lock would only slow a guesser down, not stop it.
"""

import hashlib
import time

from django.core.cache import cache

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
# Failures older than this are forgotten: five typos over a week are not an attack.
WINDOW_SECONDS = 15 * 60


def _key(kind: str, email: str, ip: str) -> str:
    digest = hashlib.sha256(f"{(email or '').strip().lower()}|{ip or ''}".encode()).hexdigest()[:32]
    return f"login-throttle:{kind}:{digest}"


def client_ip(request) -> str:
    """The address the request came from. REMOTE_ADDR only: X-Forwarded-For is forged too easily to be trusted
    here (a proxy in front must set REMOTE_ADDR, e.g. with a trusted-proxy middleware)."""
    return (request.META.get("REMOTE_ADDR") or "")[:45] if request is not None else ""


def seconds_locked(email: str, ip: str) -> int:
    """Seconds until `email` may try again from `ip`; 0 when it is not locked."""
    until = cache.get(_key("lock", email, ip))
    if until is None:
        return 0
    return max(int(until - time.time()), 1)


def failure_record(email: str, ip: str) -> int:
    """Count one failed login; lock the pair on the MAX_FAILURES-th. Returns the failures counted so far."""
    key = _key("fail", email, ip)
    # add() then incr(): atomic on Redis and locmem, so two concurrent failures are both counted.
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        failures = 1
    if failures >= MAX_FAILURES:
        cache.set(_key("lock", email, ip), time.time() + LOCK_SECONDS, timeout=LOCK_SECONDS)
        cache.delete(key)
    return failures


def reset(email: str, ip: str) -> None:
    """Forget the failures of a pair (after a successful login)."""
    cache.delete_many([_key("fail", email, ip), _key("lock", email, ip)])
