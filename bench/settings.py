"""Settings for `make bench` only: Keyward's, plus the reference project's app, DRF and knox.

One temporary SQLite database, persistent connections (as production keeps
them) and DEBUG off, so no query logging skews the numbers. The reference's
views run in the same process behind their own handler (bench/run.py).
"""

import os
import tempfile

os.environ.setdefault("DEBUG", "1")  # development secrets; DEBUG itself is turned off below

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS, SQLITE_OPTIONS

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
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # set-up speed only
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
