"""Settings shared by every environment, read from the environment (and an optional `.env`).

Every value has a default that needs no server (SQLite, a file-system Celery broker, a file cache, local file
storage), so `make run` works on a fresh machine. Production (`marketplace.settings.production`) refuses those
defaults where they would be unsafe.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """A boolean from the environment that refuses anything but true/false/1/0/yes/no/on/off.

    django-environ reads an unknown word as False; a typo in DEBUG or a security flag must stop the start instead.
    """
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


# A development key only: production.py requires SECRET_KEY from the environment.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdef")
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Before accounts: accounts.admin replaces axes' AccessAttempt admin with one that audits lifted lockouts.
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "accounts",
    "bots",
    "subscriptions",
    "trading",
    "catalog",
    "partners",
    "operations",
    "marketplace",  # the project: its management commands (load_demo, demo_logins)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a login refused for a lockout into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Content-Security-Policy (django-csp) -----------------------------------------------------------------------
# The same policy in every environment (dev, tests, production), so a page that breaks under it breaks everywhere,
# never only in production. Scripts come only from our own static files: an injected <script>, an on*= handler or a
# javascript: URL does not run. Pages pass data to scripts with json_script or data- attributes (never string-built
# JS); templates/ holds no inline script or handler (marketplace/tests/security/test_csp.py keeps it so).
# Styles are our own files too: inline style attributes are refused as well (JS may still set element.style).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: for the SVG icons Pico and Swagger UI embed in their CSS.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- Database ---------------------------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # utf8mb4: emoji and every other 4-byte character in names and reviews.
            "charset": "utf8mb4",
            # Strict mode: a too-long or invalid value is an error, never a silent truncation.
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO'",
            # READ COMMITTED: the scheduler's SELECT ... FOR UPDATE SKIP LOCKED claims see committed rows only,
            # without the gap locks REPEATABLE READ would take.
            "isolation_level": "read committed",
        }
    )
    DATABASES["default"].setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves pages and a worker at once (docs/deployment.md, "SQLite"). Without these, a page
    # writing while the worker writes answered "database is locked" (a 500):
    # - WAL: readers never block the writer nor the writer them; synchronous=NORMAL is durable enough under WAL
    #   (a power cut may lose the last commits, never corrupt the file).
    # - timeout: a writer waits up to this long for the other one's write lock instead of failing at once.
    # - IMMEDIATE: a transaction takes the write lock when it begins. A DEFERRED one that read first and then
    #   wants to write cannot wait for the lock (SQLite refuses at once, to avoid a deadlock), busy timeout or not.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.int("SQLITE_TIMEOUT_S", default=20),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and passwords -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# bcrypt first (the seed's choice); the others only verify hashes made before, then upgrade them on login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

# Login lockouts (django-axes; docs/login-and-audit.md): one policy for every login form, the site's and the
# admin's. Failures are counted per account (the email, normalised) and per client (its IP) independently; either
# reaching the limit within the cool-off refuses every login for it, the right password included, with a 429 page.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "accounts.login_lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True  # forgets the account's own failures only (LockoutHandler), never the client's
AXES_USERNAME_FORM_FIELD = "username"  # Django's login forms name the email field "username"
AXES_USERNAME_CALLABLE = "accounts.login_lockout.lockout_username"
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.login_lockout.lockout_response"
# How many reverse proxies of ours stand in front of Django, each appending to X-Forwarded-For. 0: the client's
# address is REMOTE_ADDR and the header is ignored (it is forged too easily to be trusted by default).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if not 0 <= TRUSTED_PROXY_COUNT <= 5:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0 to 5, got {TRUSTED_PROXY_COUNT}")
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured(f"LOGIN_FAILURE_LIMIT must be at least 1, got {AXES_FAILURE_LIMIT}")

# Fernet keys for exchange credentials, newest first. Rotation: put a new key first, keep the old ones, run
# `manage.py rotate_fernet_keys`, then drop the old keys. The default is for development only (production.py
# refuses it).
DEV_FERNET_KEY = "ZGV2LW9ubHktZmVybmV0LWtleS1kby1ub3QtdXNlISE="
FERNET_KEYS = env.list("FERNET_KEYS", default=[DEV_FERNET_KEY])

# --- Internationalisation and time ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and uploads -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    # Bot code and model files on S3 (or an S3-compatible service at AWS_S3_ENDPOINT_URL).
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Cache (shared market data and rate-limit budgets need a cache every process sees) --------------------------
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

# --- Celery -----------------------------------------------------------------------------------------------------
# The default broker is kombu's file-system transport: a worker and beat in other processes on this machine see the
# same queue with no server installed. CELERY_BROKER_URL=redis://... in CI and production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    # kombu's file-system transport expects its folders to exist, in the web process and the worker alike.
    for _folder in (_queue_dir, VAR_DIR / "celery" / "processed", VAR_DIR / "celery" / "control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Its exchange tables too (kombu's default is ./control, in whatever folder the process started in).
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# A task is acknowledged after it ran, so a worker killed mid-task leaves it to be redelivered.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Mail -------------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Bot Marketplace <noreply@localhost>")

# --- REST framework ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # The API key first: a script sends it; the browser's session still works for the docs page.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # JSON bodies through the one bounded reader (depth, lone surrogates, NaN: a 400, never a 500).
    "DEFAULT_PARSER_CLASSES": [
        "common.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's defaults, with its HTML pages under the Content-Security-Policy (see common.api.renderers).
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "common.api.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.api.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "COERCE_DECIMAL_TO_STRING": True,
    "EXCEPTION_HANDLER": "common.api.exceptions.api_exception_handler",
    # Per user (so per API key: a user has one) when authenticated, per client IP otherwise; counted in the
    # shared cache, so every web process sees the same budget.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # The client's address behind our proxies, as for login lockouts (TRUSTED_PROXY_COUNT).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="600/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bot Marketplace API",
    "DESCRIPTION": "Version 1 of the marketplace's REST API. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files: the docs page loads nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging: secrets never reach a log line (see accounts.logging) ---------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "accounts.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "ccxt": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # lockouts and failures; not a line per successful login
    },
}

# --- Trading engine ---------------------------------------------------------------------------------------------
# Where candles come from: "ccxt" (the exchanges) or "replay" (CSV files, no network).
MARKET_DATA_SOURCE = env.str("MARKET_DATA_SOURCE", default="replay")
MARKET_DATA_REPLAY_DIR = env.path("MARKET_DATA_REPLAY_DIR", default=BASE_DIR / "data" / "candles")
# Loop the replay files over wall-clock time (the demo trades on old candles with today's timestamps).
MARKET_DATA_REPLAY_LOOP = env_bool("MARKET_DATA_REPLAY_LOOP", default=True)
# Re-root an exchange's REST URLs, e.g. {"BINANCE": "http://127.0.0.1:9001"} for a local stand-in.
EXCHANGE_API_BASE_URLS = env.json("EXCHANGE_API_BASE_URLS", default={})
# Fee assumed for paper fills (fraction of notional, each side), as in backtests.
PAPER_FEE_RATE = env.str("PAPER_FEE_RATE", default="0.001")
PAPER_STARTING_BALANCE = env.str("PAPER_STARTING_BALANCE", default="10000")
# Subscribers' results (capital, P&L, equity curves, statistics, distributions, daily snapshots) are published only
# as aggregates of at least this many subscriptions, on the bot's page and in the API: below it, one subscriber's
# money would be public (docs/statistics.md, "Privacy").
SUBSCRIBER_OUTCOMES_MIN_GROUP = env.int("SUBSCRIBER_OUTCOMES_MIN_GROUP", default=5)
# How long one exchange request may take before its outcome is treated as unknown (orders are then looked up).
EXCHANGE_TIMEOUT_MS = env.int("EXCHANGE_TIMEOUT_MS", default=10_000)
# "wall" (production) or "cache": a clock end-to-end tests move (see trading/clock.py).
ENGINE_CLOCK = env.str("ENGINE_CLOCK", default="wall")
SCHEDULER_TICK_SECONDS = env.float("SCHEDULER_TICK_SECONDS", default=60.0)
# An order left PENDING/SENT this long is looked up by the reconciliation (a run resolves its own much sooner).
ORDER_RECONCILE_AFTER_S = env.int("ORDER_RECONCILE_AFTER_S", default=30)
CELERY_BEAT_SCHEDULE = {
    "scheduler-tick": {"task": "trading.scheduler_tick", "schedule": SCHEDULER_TICK_SECONDS},
    "orders-reconcile": {"task": "trading.orders_reconcile", "schedule": max(SCHEDULER_TICK_SECONDS, 5.0)},
    "runs-health-check": {"task": "trading.runs_health_check", "schedule": 60.0},
    "credentials-validate": {"task": "trading.credentials_validate", "schedule": 60.0},
    "subscriptions-expire": {"task": "trading.subscriptions_expire", "schedule": 300.0},
    "bot-statistics-refresh": {"task": "trading.bot_statistics_refresh", "schedule": 900.0},
    "performance-logs-prune": {"task": "trading.performance_logs_prune", "schedule": 6 * 3600.0},
    "bot-validations-requeue-stuck": {"task": "bots.requeue_stuck_validations", "schedule": 300.0},
    "backtest-runs-fail-stale": {"task": "bots.backtest_runs_fail_stale", "schedule": 600.0},
}
CELERY_TASK_ROUTES = {
    "trading.run_subscription_batch": {"queue": "live"},
    "trading.scheduler_tick": {"queue": "maintenance"},
    "trading.orders_reconcile": {"queue": "maintenance"},
    "trading.subscriptions_expire": {"queue": "maintenance"},
    "trading.bot_statistics_refresh": {"queue": "maintenance"},
    "trading.performance_logs_prune": {"queue": "maintenance"},
    "trading.credentials_validate": {"queue": "maintenance"},
    "trading.credential_validate": {"queue": "maintenance"},
    "trading.runs_health_check": {"queue": "maintenance"},
    "accounts.ping": {"queue": "maintenance"},
    "bots.validate_bot_version": {"queue": "backtests"},
    "bots.requeue_stuck_validations": {"queue": "maintenance"},
    "bots.run_backtest": {"queue": "backtests"},
    "bots.backtest_runs_fail_stale": {"queue": "maintenance"},
}
if CELERY_BROKER_URL.startswith("redis"):
    # A task whose worker died is redelivered after this long; a live run is worthless much later than this.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_S", default=900)}

# --- Web pages: sign-in (accounts app) --------------------------------------------------------------------------
# The site's own login page replaces the admin's (LOGIN_URL above) for every page that needs a signed-in user;
# staff still sign in to /admin/ through the admin's own form.
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "subscriptions:dashboard"
LOGOUT_REDIRECT_URL = "bots:catalog"
# A claimed run not finished this long after its claim (worker killed, task lost) is claimed again.
RUN_LEASE_S = env.int("RUN_LEASE_S", default=300)
