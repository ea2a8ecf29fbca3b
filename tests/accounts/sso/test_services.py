"""The SSO services and the sealed client secret (accounts.sso.services, accounts.sso.crypto)."""

from __future__ import annotations

import pytest

from accounts.constants import Plan
from accounts.sso.crypto import SecretUnreadable, secret_open, secret_seal
from accounts.sso.models import AccountSso
from accounts.sso.services import (
    SsoChangeRefused,
    sso_configure,
    sso_force_set,
    sso_test_passed,
    sso_turn_off,
)
from tests.factories import AccountFactory, UserFactory
from tokens.events import Actor
from tokens.models import Event, EventKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def enterprise():
    return AccountFactory(plan=Plan.ENTERPRISE, name="Initech")


@pytest.fixture
def actor():
    return Actor.person(UserFactory())


def configure(account, actor, **changes):
    values = {
        "issuer": "https://idp.example",
        "client_id": "keyward",
        "client_secret": "first-secret",
        "domains": ["initech.example"],
    }
    return sso_configure(actor=actor, account=account, **{**values, **changes})


def test_the_secret_is_sealed_for_its_account(settings, enterprise):
    sealed = secret_seal("hunter2", account_id=enterprise.pk)
    assert b"hunter2" not in sealed
    assert secret_open(sealed, account_id=enterprise.pk) == "hunter2"
    with pytest.raises(SecretUnreadable):
        secret_open(sealed, account_id=enterprise.pk + 1)  # bound to the account
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-rotated-secret-key-" + "x" * 40
    assert secret_open(sealed, account_id=enterprise.pk) == "hunter2"  # the fallback opens it


def test_the_first_save_needs_a_secret(enterprise, actor):
    with pytest.raises(SsoChangeRefused, match="client secret"):
        configure(enterprise, actor, client_secret=None)
    assert not AccountSso.objects.exists()


def test_force_needs_a_passed_test_and_a_new_client_turns_it_off(enterprise, actor):
    configure(enterprise, actor)
    with pytest.raises(SsoChangeRefused, match="Test sign-in"):
        sso_force_set(actor=actor, account=enterprise, force=True)
    sso_test_passed(actor=actor, account=enterprise)
    sso_force_set(actor=actor, account=enterprise, force=True)
    enterprise.refresh_from_db()
    assert enterprise.force_sso

    configure(enterprise, actor, client_id="another-client", client_secret=None)

    enterprise.refresh_from_db()
    sso = AccountSso.objects.get()
    assert not enterprise.force_sso and not sso.enabled and sso.tested_at is None
    assert secret_open(sso.client_secret_sealed, account_id=enterprise.pk) == "first-secret"


def test_every_change_is_an_event_without_the_secret(enterprise, actor):
    configure(enterprise, actor)
    sso_test_passed(actor=actor, account=enterprise)
    sso_force_set(actor=actor, account=enterprise, force=True)
    configure(enterprise, actor, client_secret="second-secret")
    sso_turn_off(actor=actor, account=enterprise)

    events = Event.objects.filter(kind=EventKind.SSO_CHANGED, account=enterprise).order_by("pk")
    assert events.count() == 5
    for event in events:
        assert "secret" not in str(event.details.get("before", {}))
        assert "first-secret" not in str(event.details)
        assert "second-secret" not in str(event.details)
    assert events.last().details["after"] == {"configured": False, "force_sso": False}
    assert not AccountSso.objects.exists()
