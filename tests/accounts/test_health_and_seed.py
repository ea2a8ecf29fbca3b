import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import DatabaseError

from accounts.models import (
    Account,
    Certificate,
    Domain,
    Membership,
    Record,
    Service,
    User,
    Zone,
)
from accounts.sso.crypto import secret_open
from accounts.sso.models import AccountSso

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "cache": "ok"}


def test_healthz_answers_503_when_the_database_is_down(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503


def _counts():
    models = [User, Account, Membership, Zone, Record, Domain, Certificate, Service]
    return {model.__name__: model.objects.count() for model in models}


def test_seed_demo_creates_spec_data_and_is_idempotent():
    call_command("seed_demo", verbosity=0)
    first = _counts()
    call_command("seed_demo", verbosity=0)
    assert _counts() == first

    acme = Account.objects.get(slug="acme")
    assert acme.name == "Acme Hosting" and acme.plan == "teams"
    roles = dict(acme.memberships.values_list("user__email", "role"))
    assert roles == {
        "owner@example.com": "superuser",
        "engineer@example.com": "engineer",
        "viewer@example.com": "user",
        "billing@example.com": "billing",
        "mfa@example.com": "engineer",  # with an authenticator app (SPEC 8, 16)
    }
    assert acme.zones.count() >= 3 and Record.objects.filter(zone__account=acme).exists()
    assert acme.domains.count() >= 3
    assert acme.certificates.count() >= 2
    assert acme.services.count() >= 2

    solo = Account.objects.get(slug="solo")
    assert solo.plan == "solo"
    assert dict(solo.memberships.values_list("user__email", "role")) == {
        "solo@example.com": "superuser",
        "owner@example.com": "engineer",
    }
    for related in ["zones", "domains", "certificates", "services"]:
        assert getattr(solo, related).exists()
    owner = User.objects.get(email="owner@example.com")
    assert owner.check_password("keyward-demo")

    # Enterprise with single sign-on on `make sso-demo`'s provider (tested, not forced).
    globex = Account.objects.get(slug="globex")
    assert globex.plan == "enterprise" and not globex.force_sso
    sso = AccountSso.objects.get(account=globex)
    assert (sso.issuer, sso.client_id, sso.domains) == (
        "http://127.0.0.1:9400",
        "keyward-sso-demo",
        ["example.com"],
    )
    assert sso.enabled and sso.provider_id == "sso-globex"
    assert secret_open(sso.client_secret_sealed, account_id=globex.pk) == "keyward-sso-demo-secret"


def test_production_settings_refuse_to_start_without_secret_key():
    env = {"DEBUG": "0", "PATH": "/usr/bin:/bin", "KEYWARD_TOKEN_PEPPER": "p" * 40}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
            "'config.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_check():
    env = {
        "DEBUG": "0",
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "k" * 20 + "x9!Qz" * 10,
        "KEYWARD_TOKEN_PEPPER": "p" * 40,
        "ALLOWED_HOSTS": "keyward.example.com",
        "REDIS_URL": "redis://127.0.0.1:6379/0",  # without it: keyward.W001 (accounts.checks)
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_seed_demo_gives_its_tokens_some_usage_once(client):
    """The demo's token pages are not empty on first look: usage over recent days, a last use,
    some denials; running the seed again adds nothing."""
    from django.urls import reverse
    from django.utils import timezone

    from tokens.models import Token
    from tokens.usage.models import TokenDenial, TokenUsage

    call_command("seed_demo", verbosity=0)
    usage, denials = TokenUsage.objects.count(), TokenDenial.objects.count()
    call_command("seed_demo", verbosity=0)
    assert (TokenUsage.objects.count(), TokenDenial.objects.count()) == (usage, denials)

    now = timezone.now()
    for token in Token.objects.all():
        assert token.last_used_at is not None and token.last_used_at <= now, token.name
        assert token.last_used_ip and token.last_used_user_agent
        if token.is_expired(now):
            assert token.last_used_at < token.expires_at  # it stopped when it expired
            assert not TokenUsage.objects.filter(token=token).exists()
        else:
            days = set(TokenUsage.objects.filter(token=token).values_list("day", flat=True))
            assert days, token.name
            assert token.created_at.date() <= min(days)  # used only once it existed
    assert TokenDenial.objects.filter(reason="record_not_allowed").exists()
    assert TokenDenial.objects.filter(reason="not_selected").exists()
    assert TokenUsage.objects.filter(denied__gt=0).exists()

    client.force_login(User.objects.get(email="owner@example.com"))
    ci = Token.objects.get(name="CI deploys")
    body = client.get(reverse("tokens:detail", args=[ci.pk])).content.decode()
    assert 'class="bar-allowed"' in body and "Outside the resources it selects" in body
    assert "Acme website" in body  # the denied service, by name
