"""Test settings: the base settings with fixed keys and fast password hashing.

The database, cache and broker still come from the environment, so CI runs the same suite on MariaDB and Redis.
"""

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import env, env_bool

SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
# Two test keys, so rotation is exercised: the first encrypts, both decrypt.
FERNET_KEYS = env.list(
    "FERNET_KEYS",
    default=["8NnF5J0DqzXq0kIhJ3rN2QK0wq4pGm6CzYwF2h2sX1U=", "m3b2pGkq9Yk3N8h9P0X3o5tH0dS1Yx2bW7rK4cJ6vQA="],
)
# Same algorithm as production (bcrypt over SHA-256), fewer rounds so factories stay fast.
PASSWORD_HASHERS = ["accounts.hashers.FastBCryptSHA256PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# Tests pin times inside the shipped candle files; looping would hide a wrong timestamp.
MARKET_DATA_REPLAY_LOOP = False
MARKET_DATA_SOURCE = "replay"
# A private in-memory cache per test process unless CI points CACHE_URL at Redis.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://tests")}
# Tests replay hours of candles in seconds against a local fake exchange: the shared budgets and ccxt's own
# spacing would only add sleeps there. test_ratelimit.py sets real budgets to test the limiter itself.
EXCHANGE_BUDGET_PER_SECOND = {"BINANCE": 10_000}
KEY_BUDGET_PER_SECOND = 10_000
EXCHANGE_CCXT_RATE_LIMIT_MS = 1
