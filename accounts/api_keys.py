"""API keys: random, shown once, stored only as a SHA-256 hash.

A key has 256 bits of randomness, so a fast hash is enough (no dictionary to attack) and lets us find the row by
an indexed equality lookup; the final comparison is still constant-time.
"""

import hashlib
import hmac
import secrets

USER_KEY_PREFIX = "bmk_"
MARKETPLACE_KEY_PREFIX = "bmr_"


def generate(prefix: str = USER_KEY_PREFIX) -> str:
    """A new clear key, e.g. `bmk_<43 url-safe characters>`."""
    return prefix + secrets.token_urlsafe(32)


def hash_key(clear_key: str) -> str:
    """The stored form of a key: its SHA-256 hex digest."""
    return hashlib.sha256(clear_key.encode()).hexdigest()


def matches(clear_key: str, stored_hash: str) -> bool:
    """Constant-time check of a presented key against a stored hash."""
    return hmac.compare_digest(hash_key(clear_key), stored_hash or "")
