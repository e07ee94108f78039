"""Production: everything that would be unsafe to default must come from the environment.

`DJANGO_SETTINGS_MODULE=marketplace.settings.production python manage.py check --deploy` passes with no warnings.
"""

from django.core.exceptions import ImproperlyConfigured

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import DEV_FERNET_KEY, env, env_bool

SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing key is an error, not a silent dev key
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

FERNET_KEYS = env.list("FERNET_KEYS")
if not FERNET_KEYS or DEV_FERNET_KEY in FERNET_KEYS:
    raise ImproperlyConfigured("FERNET_KEYS must be set to production keys (the development key is refused).")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

MARKET_DATA_SOURCE = env.str("MARKET_DATA_SOURCE", default="ccxt")
