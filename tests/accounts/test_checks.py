"""`manage.py check --deploy`: production without Redis is warned about (keyward.W001)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

LOCAL_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
    }
}


def deploy_check() -> str:
    out = StringIO()
    try:
        call_command("check", deploy=True, stdout=out, stderr=out)
    except SystemCheckError as error:  # other deploy checks may be errors in a test setup
        out.write(str(error))
    return out.getvalue()


def test_production_without_redis_warns_that_limits_live_per_process(settings):
    settings.DEBUG = False
    settings.CACHES = LOCAL_MEMORY
    report = deploy_check()
    assert "keyward.W001" in report
    assert "per process" in report and "REDIS_URL" in report


@pytest.mark.parametrize(("debug", "caches"), [(False, REDIS), (True, LOCAL_MEMORY)])
def test_no_warning_with_redis_or_in_development(settings, debug, caches):
    settings.DEBUG = debug
    settings.CACHES = caches
    assert "keyward.W001" not in deploy_check()


def test_private_webhooks_in_production_are_warned_about(settings):
    """keyward.W002 (tokens/webhooks/checks.py): the SSRF rule is lifted."""
    settings.DEBUG = False
    settings.CACHES = REDIS
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = True
    report = deploy_check()
    assert "keyward.W002" in report and "KEYWARD_WEBHOOKS_ALLOW_PRIVATE" in report
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = False
    assert "keyward.W002" not in deploy_check()
