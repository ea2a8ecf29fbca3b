"""Sudo mode with a second factor, and the form kept across it (SPEC 16, accounts.sudo)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.constants import SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP
from accounts.factors import engine
from accounts.services.identity import SUDO_SESSION_KEY
from accounts.sudo import KEPT_SESSION_KEY
from tests.accounts.conftest import SoftPasskey, json_options
from tokens.models import Event, EventKind

pytestmark = pytest.mark.django_db

SUDO = "/sudo/"


def in_sudo(client) -> bool:
    return SUDO_SESSION_KEY in client.session


def leave_sudo(client) -> None:
    session = client.session
    del session[SUDO_SESSION_KEY]
    session.save()


def test_the_password_alone_no_longer_opens_sudo_for_a_person_with_a_factor(
    client, totp_person, password
):
    client.force_login(totp_person)
    page = client.get(SUDO, {"next": "/security/"})
    assert b"Confirm it is you" in page.content
    assert b'name="password"' not in page.content

    response = client.post(SUDO, {"password": password, "next": "/security/"})
    assert response.status_code == 200
    assert b"your password alone is not enough" in response.content
    assert not in_sudo(client)
    assert not Event.objects.filter(kind=EventKind.SUDO).exists()


def test_a_code_opens_sudo_and_the_event_says_how(client, totp_person):
    client.force_login(totp_person)
    response = client.post(SUDO, {"code": totp_person.totp.now(), "next": "/security/"})
    assert response.status_code == 302 and response["Location"] == "/security/"
    assert in_sudo(client)
    event = Event.objects.get(kind=EventKind.SUDO)
    assert event.details == {"method": "totp"}
    assert event.summary == (
        "two@example.org confirmed it was them with an authenticator app (sudo mode)"
    )


def test_a_wrong_or_reused_code_does_not_open_sudo(client, totp_person):
    client.force_login(totp_person)
    code = totp_person.totp.now()
    client.post(SUDO, {"code": code})
    leave_sudo(client)

    for attempt in ("111111", code):
        response = client.post(SUDO, {"code": attempt})
        assert response.status_code == 200
        assert b"That code is not right, or it was used already" in response.content
        assert not in_sudo(client)


def test_sudo_with_a_passkey(client, totp_person):
    key = SoftPasskey()
    client.force_login(totp_person)
    client.post(SUDO, {"code": totp_person.totp.now()})
    page = client.get(reverse("accounts:security-passkey"))
    client.post(
        reverse("accounts:security-passkey"),
        {
            "name": "Phone",
            "passwordless": "on",
            "credential": json.dumps(key.register(json_options(page))),
        },
    )
    leave_sudo(client)

    page = client.get(SUDO, {"next": "/security/"})
    assert b"Use your passkey or security key" in page.content
    response = client.post(
        SUDO, {"credential": json.dumps(key.sign(json_options(page))), "next": "/security/"}
    )
    assert response.status_code == 302 and in_sudo(client)
    assert Event.objects.filter(kind=EventKind.SUDO).latest("id").details == {"method": "passkey"}
    passkey = engine.Authenticator.objects.get(user=totp_person, type="webauthn")
    assert passkey.last_used_at is not None


def test_factor_failures_in_sudo_are_throttled(client, totp_person, monkeypatch):
    client.force_login(totp_person)
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP):
        client.post(SUDO, {"code": "000000"})

    def fail(*args, **kwargs):
        raise AssertionError("no code is checked while throttled")

    monkeypatch.setattr(engine, "code_verify", fail)
    response = client.post(SUDO, {"code": totp_person.totp.now()})
    assert response.status_code == 429 and not in_sudo(client)


def test_sudo_still_lasts_ten_minutes(client, totp_person, monkeypatch):
    client.force_login(totp_person)
    client.post(SUDO, {"code": totp_person.totp.now()})
    assert client.get(reverse("accounts:security-totp")).status_code == 302  # app exists
    assert client.get(reverse("accounts:security-passkey")).status_code == 200
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(minutes=11))
    response = client.get(reverse("accounts:security-passkey"))
    assert response.status_code == 302 and response["Location"].startswith("/sudo/")


# --------------------------------------------------------------------------- the kept form


def test_a_post_that_needs_sudo_is_carried_out_after_it(client, totp_person):
    """Remove the app: the POST waits across /sudo/, then happens without a second press."""
    client.force_login(totp_person)
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    remove = reverse("accounts:security-remove", args=[app.pk])

    detour = client.post(remove)
    assert detour.status_code == 302 and detour["Location"].startswith("/sudo/?next=")
    assert engine.Authenticator.objects.filter(pk=app.pk).exists()  # nothing yet
    kept = client.session[KEPT_SESSION_KEY]
    assert kept["path"] == remove and "csrfmiddlewaretoken" not in kept["data"]

    confirmed = client.post(SUDO, {"code": totp_person.totp.now(), "next": remove})
    assert confirmed["Location"] == remove
    done = client.get(remove)

    assert done.status_code == 302 and done["Location"] == "/security/"
    assert not engine.Authenticator.objects.filter(user=totp_person).exists()
    totp_person.refresh_from_db()
    assert not totp_person.has_second_factor
    assert KEPT_SESSION_KEY not in client.session
    messages = [str(m) for m in client.get("/security/").context["messages"]]
    assert messages == ["Removed the authenticator app. Two-factor authentication is off."]


def test_a_kept_form_is_carried_out_once(client, totp_person):
    client.force_login(totp_person)
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    remove = reverse("accounts:security-remove", args=[app.pk])
    client.post(remove)
    client.post(SUDO, {"code": totp_person.totp.now(), "next": remove})
    client.get(remove)
    again = client.get(remove)
    assert again.status_code == 404  # a plain GET: the factor is gone, nothing is replayed


def test_a_kept_form_waits_for_a_confirmation_made_for_it(client, totp_person):
    """Visiting the address without confirming (or after confirming elsewhere) replays nothing."""
    client.force_login(totp_person)
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    remove = reverse("accounts:security-remove", args=[app.pk])
    client.post(remove)

    assert client.get(remove).status_code == 200  # the confirmation page, not the removal
    client.post(SUDO, {"code": totp_person.totp.now(), "next": "/security/"})  # elsewhere
    assert client.get(remove).status_code == 200
    assert engine.Authenticator.objects.filter(pk=app.pk).exists()


def test_coming_back_without_confirming_drops_the_kept_form(client, totp_person):
    """Cancel on /sudo/ leads back to the page: the change is not carried out later."""
    client.force_login(totp_person)
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    remove = reverse("accounts:security-remove", args=[app.pk])
    client.post(remove)
    assert client.get(remove).status_code == 200  # back without confirming
    assert KEPT_SESSION_KEY not in client.session
    client.post(SUDO, {"code": totp_person.totp.now(), "next": remove})
    assert client.get(remove).status_code == 200  # the confirmation page, nothing replayed
    assert engine.Authenticator.objects.filter(pk=app.pk).exists()


def test_a_kept_form_is_someone_elses_after_a_sign_out(
    client, totp_person, account, member_factory
):
    client.force_login(totp_person)
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    remove = reverse("accounts:security-remove", args=[app.pk])
    client.post(remove)
    session = client.session
    kept = session[KEPT_SESSION_KEY]
    other = member_factory(account, "engineer")
    client.force_login(other)  # a new session for another person
    session = client.session
    session[KEPT_SESSION_KEY] = {**kept, "ready_at": time.time()}
    session.save()
    client.post(SUDO, {"password": "correct horse battery staple", "next": remove})
    assert client.get(remove).status_code == 404  # not theirs: nothing replayed, no leak
    assert engine.Authenticator.objects.filter(pk=app.pk).exists()


def test_a_kept_form_older_than_fifteen_minutes_is_dropped(client, totp_person, monkeypatch):
    client.force_login(totp_person)
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    remove = reverse("accounts:security-remove", args=[app.pk])
    client.post(remove)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 16 * 60)
    client.post(SUDO, {"code": totp_person.totp.now(), "next": remove})
    assert client.get(remove).status_code == 200
    assert engine.Authenticator.objects.filter(pk=app.pk).exists()


def test_an_htmx_post_goes_to_sudo_with_a_full_page_load(client, totp_person):
    client.force_login(totp_person)
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    response = client.post(
        reverse("accounts:security-remove", args=[app.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and response["HX-Redirect"].startswith("/sudo/")
