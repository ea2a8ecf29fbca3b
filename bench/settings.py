"""Settings for `make bench` only: Keyward's, plus the reference project's app, DRF and knox.

One temporary SQLite database (or, with BENCH_POSTGRES_URL, a PostgreSQL one),
persistent connections (as production keeps them) and DEBUG off, so no query
logging skews the numbers. The reference's
views run in the same process behind their own handler (bench/run.py).
"""

import os
import tempfile

import dj_database_url

os.environ.setdefault("DEBUG", "1")  # development secrets; DEBUG itself is turned off below

from config.settings import *  # noqa: F403
from config.settings import (
    INSTALLED_APPS,
    POSTGRES_PREPARED_OPTIONS,
    REDIS_OPTIONS,
    SQLITE_OPTIONS,
)

DEBUG = False
INSTALLED_APPS = [
    *INSTALLED_APPS,
    "rest_framework",
    "rest_framework.authtoken",
    "knox",
    "bench.reference",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(tempfile.mkdtemp(prefix="keyward-bench-"), "bench.sqlite3"),
        "CONN_MAX_AGE": None,
        "OPTIONS": SQLITE_OPTIONS,  # as Keyward's own SQLite: write-ahead logging
    }
}
# BENCH_POSTGRES_URL: the same on a PostgreSQL database, dropped and created afresh, as
# Keyward runs it there (its backend, prepared statements), and the cache on Redis
# (BENCH_REDIS_URL). The drivers differ in what they cost: measure on both.
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "")
if POSTGRES_URL:
    import atexit

    from bench.servers import database

    database(POSTGRES_URL, create=True)
    atexit.register(database, POSTGRES_URL, create=False)  # dropped again at the end
    DATABASES = {"default": dj_database_url.parse(POSTGRES_URL, conn_max_age=None)}
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    DATABASES["default"]["OPTIONS"] = POSTGRES_PREPARED_OPTIONS
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "OPTIONS": REDIS_OPTIONS,
        }
    }
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # set-up speed only
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
