"""Keyward settings, read from the environment.

Development needs no configuration at all: DEBUG is on, SQLite sits beside
manage.py and the secrets are fixed, well-known development values. Production
is `DEBUG=0` and then `SECRET_KEY`, `KEYWARD_TOKEN_PEPPER` and `ALLOWED_HOSTS`
are required; with them `manage.py check --deploy` reports nothing.
"""

import os
from pathlib import Path

import dj_database_url
import redis
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-keyward-development-only-never-use-in-production"
_DEV_PEPPER = "keyward-development-pepper-never-use-in-production"

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0.")
    SECRET_KEY = _DEV_SECRET_KEY

# Token digests are HMAC-SHA256(pepper, token). Several peppers may be given,
# comma separated, newest first: new tokens use the first, lookups try all, and
# a token found through an older pepper is re-hashed with the newest one.
KEYWARD_TOKEN_PEPPERS = env_list("KEYWARD_TOKEN_PEPPER")
if not KEYWARD_TOKEN_PEPPERS:
    if not DEBUG:
        raise ImproperlyConfigured("KEYWARD_TOKEN_PEPPER must be set when DEBUG=0.")
    KEYWARD_TOKEN_PEPPERS = [_DEV_PEPPER]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG=0.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "ninja",  # the API docs page uses its bundled Swagger UI files, not a CDN
    # People (SPEC 16): allauth's sign-in stages and second factors, before accounts so
    # that accounts.admin replaces allauth's admin pages (they would show factor data).
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Single sign-on (SPEC 17): one OpenID Connect provider app per enterprise account,
    # built by accounts.sso.adapter from the account's own settings (no SocialApp rows).
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "accounts",
    "tokens",
]

MIDDLEWARE = [
    "config.middleware.ApiStack",  # /api and /healthz: API_MIDDLEWARE below, nothing else
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.RefuseNulCharacters",
    "tokens.api.access.AcceptedScopes",
    # allauth requires it: it gives its flows the current request (a context variable).
    "allauth.account.middleware.AccountMiddleware",
]

# The API's and /healthz's stack (config.middleware): bearer tokens and JSON need no
# session, user, messages, CSRF, htmx or static files; the security headers stay.
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ApiHeaders",
    "tokens.api.access.AcceptedScopes",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.navigation",
                "accounts.context_processors.times_shown",
            ],
            # One date format in every template: the `when`, `day` and `short_day` filters.
            "builtins": ["accounts.templatetags.dates"],
        },
    },
]

SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
POSTGRES_PREPARED_OPTIONS = {"server_side_binding": True, "prepare_threshold": 5}
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (browser tests, the dev server) write to one file. IMMEDIATE
    # transactions take the write lock up front, so concurrent writers queue
    # instead of failing with "database is locked" halfway through.
    # Write-ahead logging: readers (the panel) go on while the task-queue worker writes,
    # and a commit appends to the log instead of rewriting a journal and syncing the
    # file twice. synchronous=NORMAL keeps the database consistent after a crash; a
    # power cut may lose the last transactions (PostgreSQL is for production).
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that looks at the socket before it
    # sends `SELECT 1` (config/postgresql: no round trip on a healthy connection).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        # Server-side parameters, and a query run 5 times on a connection is prepared:
        # parsed and planned once, not on every request (planning the token lookup's
        # joins cost the server more than running it). Turn off for a pooler that
        # cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
        DATABASES["default"].setdefault("OPTIONS", {}).update(POSTGRES_PREPARED_OPTIONS)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:sign-in"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# People (SPEC 16) on django-allauth: Keyward's own pages (/sign-in/, /sudo/, /security/)
# drive allauth's login stages and second factors through accounts.factors; allauth's
# own account pages (sign-up, password reset, email management) are not routed.
ACCOUNT_ADAPTER = "accounts.factors.adapters.AccountAdapter"
MFA_ADAPTER = "accounts.factors.adapters.FactorAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
# Keyward's accounts.ratelimit counts failed passwords and second factors (SPEC 10);
# allauth's own limits are off, so that a person is never counted twice.
ACCOUNT_RATE_LIMITS = False
MFA_RATE_LIMITS = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_ALLOW_UNVERIFIED_EMAIL = True  # support creates people; there is no email verification
MFA_TOTP_ISSUER = "Keyward"
MFA_TOTP_TOLERANCE = 1  # the code of the previous or next 30 seconds too (clock drift)
MFA_RECOVERY_CODES_SHOW_ONCE = True
# Single sign-on (SPEC 17, docs/sso.md): accounts.sso's adapter gives allauth the apps and
# takes over at the end of the flow (match the verified email to a member, or refuse);
# allauth never creates a person, a social account row or a membership.
SOCIALACCOUNT_ADAPTER = "accounts.sso.adapter.SsoAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 5

# The cache holds rate limits and counters. With Redis, short socket timeouts keep
# an outage from holding requests: accounts.cache fails open on an error and then
# leaves the cache alone for a few seconds (SPEC 1).
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "keyward",
            "OPTIONS": REDIS_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background work (SPEC 19, docs/background-work.md): one huey queue, drained by
# `manage.py worker`, its schedules in tokens/tasks.py. KEYWARD_QUEUE_URL names where the
# queue lives: redis://... (production: the workers of every machine share it) or
# postgres://...; sqlite:///path for a file; unset, a SQLite file beside the database,
# which needs no other service (`make demo`). Never the cache's Redis database: a cache may
# evict keys, and cache.clear() empties its whole database, queued tasks included.
KEYWARD_QUEUE_URL = os.environ.get("KEYWARD_QUEUE_URL", "").strip()
_queue_scheme, _, _queue_rest = KEYWARD_QUEUE_URL.partition("://")
if not KEYWARD_QUEUE_URL:
    _database = DATABASES["default"]
    _beside = (
        Path(_database["NAME"]).parent
        if _database["ENGINE"] == "django.db.backends.sqlite3" and _database["NAME"] != ":memory:"
        else BASE_DIR
    )
    _queue_storage: dict[str, object] = {
        "huey_class": "huey.SqliteHuey",
        "filename": str(_beside / "huey.sqlite3"),
    }
elif _queue_scheme == "sqlite":  # as in DATABASE_URL: sqlite:////absolute/path
    _queue_storage = {"huey_class": "huey.SqliteHuey", "filename": _queue_rest[1:]}
elif _queue_scheme in {"redis", "rediss", "unix"}:
    if KEYWARD_QUEUE_URL == REDIS_URL:
        raise ImproperlyConfigured(
            "KEYWARD_QUEUE_URL must not be the cache's REDIS_URL: give the queue its own "
            "database (redis://host:6379/1) or its own Redis."
        )
    # Short connect timeouts: a request that queues an email fails fast when Redis is
    # down. The read timeout outlasts the worker's one-second blocking read.
    _queue_storage = {
        "huey_class": "huey.RedisHuey",
        "connection_pool": redis.ConnectionPool.from_url(
            KEYWARD_QUEUE_URL, socket_connect_timeout=2, socket_timeout=10
        ),
    }
elif _queue_scheme in {"postgres", "postgresql"}:
    _queue_storage = {"huey_class": "huey.PostgresHuey", "dsn": KEYWARD_QUEUE_URL}
else:
    raise ImproperlyConfigured(
        f"KEYWARD_QUEUE_URL: unknown scheme {_queue_scheme!r} "
        "(redis://, rediss://, unix://, postgres://, sqlite:///)."
    )
HUEY = {
    "name": "keyward",
    # Tasks run on a worker, never inside the request (huey's default would be DEBUG).
    # The tests switch this on (tests/conftest.py) and run real workers where they mean to.
    "immediate": False,
    "results": False,  # tasks write what they do to the database; nothing reads results
    "utc": True,
    **_queue_storage,
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Keyward <noreply@keyward.invalid>")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# Security headers. CSP allows nothing inline: scripts and styles come from /static/.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Number of reverse proxies in front of the app whose X-Forwarded-For entries are
# trusted when working out the client IP (0: use REMOTE_ADDR only).
KEYWARD_TRUSTED_PROXIES = int(os.environ.get("KEYWARD_TRUSTED_PROXIES", "0"))

# Where people reach the panel, for links in emails (expiry notices, leak reports).
KEYWARD_SITE_URL = os.environ.get("KEYWARD_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# GitHub secret scanning (SPEC 12): the JSON of GitHub's public-keys endpoint, inline
# or as a file path, naming the keys whose signatures POST /api/v1/secret-scanning/github
# accepts. Empty: every alert is refused (401).
KEYWARD_SECRET_SCANNING_KEYS = os.environ.get("KEYWARD_SECRET_SCANNING_KEYS", "")
# Webhooks (SPEC 19, docs/webhooks.md): an endpoint whose host resolves to a loopback,
# private, link-local, shared (CGNAT), multicast or cloud-metadata address is refused,
# at save and at every delivery, and only https is accepted, unless this is set: for
# tests and a receiver on this machine. Never in production (check --deploy: keyward.W002).
KEYWARD_WEBHOOKS_ALLOW_PRIVATE = env_bool("KEYWARD_WEBHOOKS_ALLOW_PRIVATE", False)
# Trusted publishers (SPEC 18): the `aud` CI requests its ID tokens for (shown on the
# Trusted publishers page), and the issuers trusted over plain http (tests and the local
# SSO demo only: every other issuer's discovery document and keys are fetched over https).
# Single sign-on (SPEC 17) accepts an http issuer URL only when it is listed here too.
KEYWARD_OIDC_AUDIENCE = os.environ.get("KEYWARD_OIDC_AUDIENCE", "keyward").strip() or "keyward"
KEYWARD_OIDC_INSECURE_ISSUERS = env_list("KEYWARD_OIDC_INSECURE_ISSUERS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
