"""Signing in with a second factor (SPEC 16): the step after the password, and a passkey alone."""

from __future__ import annotations

import json
import time

import pytest
from allauth.core import context
from django.test import RequestFactory
from django.urls import reverse

from accounts.constants import SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP
from accounts.factors import engine
from accounts.factors.services import factor_remove, passkey_add
from tests.accounts.conftest import SoftPasskey, json_options
from tests.factories import UserFactory
from tokens.events import Actor
from tokens.models import Event, EventKind

pytestmark = pytest.mark.django_db

SECOND_STEP = "/sign-in/two-factor/"


def signed_in_as(client):
    return client.session.get("_auth_user_id")


def test_the_password_alone_does_not_sign_in_a_person_with_an_app(
    client, totp_person, password_step
):
    response = password_step(client, totp_person)

    assert response.status_code == 302 and response["Location"] == SECOND_STEP
    assert signed_in_as(client) is None
    page = client.get(SECOND_STEP)
    assert b"Two-factor authentication" in page.content and b"two@example.org" in page.content
    assert not Event.objects.filter(kind=EventKind.SIGN_IN).exists()


def test_a_code_from_the_app_finishes_the_sign_in_and_the_event_says_how(
    client, totp_person, password_step
):
    password_step(client, totp_person, REMOTE_ADDR="192.0.2.7")
    response = client.post(SECOND_STEP, {"code": totp_person.totp.now()}, REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == str(totp_person.pk)
    event = Event.objects.get(kind=EventKind.SIGN_IN)
    assert event.actor_user == totp_person and event.account is None and event.ip == "192.0.2.7"
    assert event.details == {"method": "password", "second_factor": "totp"}
    assert event.summary == "two@example.org signed in with a password and an authenticator app"
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    assert app.last_used_at is not None


def test_the_second_step_keeps_next(client, totp_person, password_step):
    password_step(client, totp_person, data_next="/profile/")
    response = client.post(SECOND_STEP, {"code": totp_person.totp.now()})
    assert response["Location"] == "/profile/"


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("000000", "wrong"),
        ("", "empty"),
        ("expired", "from two minutes ago"),
    ],
)
def test_a_wrong_empty_or_expired_code_is_refused_clearly(
    client, totp_person, password_step, code, why
):
    if code == "expired":
        code = totp_person.totp.at(time.time() - 120)
    password_step(client, totp_person)
    response = client.post(SECOND_STEP, {"code": code})

    assert response.status_code == 200, why
    text = response.content.decode()
    assert (
        "That code is not right, or it was used already" in text
        or "Enter a code from your authenticator app" in text
    )
    assert signed_in_as(client) is None
    assert not Event.objects.filter(kind=EventKind.SIGN_IN).exists()


def test_a_code_is_accepted_once(client, totp_person, password_step):
    code = totp_person.totp.now()
    password_step(client, totp_person)
    client.post(SECOND_STEP, {"code": code})
    client.post(reverse("accounts:sign-out"))

    password_step(client, totp_person)
    response = client.post(SECOND_STEP, {"code": code})
    assert b"used already" in response.content
    assert signed_in_as(client) is None


def test_a_recovery_code_works_once_and_its_use_is_an_event(
    client, totp_person, password_step, recovery_codes
):
    code = recovery_codes(totp_person)[0]
    password_step(client, totp_person)
    response = client.post(SECOND_STEP, {"code": f"{code[:4]}-{code[4:]}"})  # as shown
    assert response.status_code == 302 and signed_in_as(client) == str(totp_person.pk)
    event = Event.objects.get(kind=EventKind.SIGN_IN)
    assert event.details == {"method": "password", "second_factor": "recovery_code"}
    used = Event.objects.get(kind=EventKind.RECOVERY_CODE_USED)
    assert used.details == {"left": 9} and code not in used.summary
    assert len(recovery_codes(totp_person)) == 9

    client.post(reverse("accounts:sign-out"))
    password_step(client, totp_person)
    again = client.post(SECOND_STEP, {"code": code})
    assert b"used already" in again.content and signed_in_as(client) is None


def test_second_factor_failures_are_throttled_like_passwords(
    client, totp_person, password_step, monkeypatch
):
    password_step(client, totp_person)
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP):
        client.post(SECOND_STEP, {"code": "123456"})

    def fail(*args, **kwargs):
        raise AssertionError("no code is checked while throttled")

    monkeypatch.setattr(engine, "code_verify", fail)
    response = client.post(SECOND_STEP, {"code": totp_person.totp.now()})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert b"Too many attempts" in response.content
    assert signed_in_as(client) is None


def test_wrong_passwords_and_wrong_codes_add_up(client, totp_person, password_step):
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP - 1):
        client.post("/sign-in/", {"email": totp_person.email, "password": "wrong"})
    password_step(client, totp_person)  # right, but the person is not signed in yet
    client.post(SECOND_STEP, {"code": "123456"})
    response = client.post(SECOND_STEP, {"code": totp_person.totp.now()})
    assert response.status_code == 429 and signed_in_as(client) is None


def test_a_right_password_does_not_buy_more_guesses_at_the_code(client, totp_person, password_step):
    """Whoever knows the password cannot go on guessing codes by signing in again."""
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP):
        password_step(client, totp_person)
        client.post(SECOND_STEP, {"code": "123456"})
    response = password_step(client, totp_person)
    assert response.status_code == 429
    assert signed_in_as(client) is None


def test_the_full_sign_in_clears_the_count(client, totp_person, password_step):
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP - 1):
        client.post("/sign-in/", {"email": totp_person.email, "password": "wrong"})
    password_step(client, totp_person)
    assert client.post(SECOND_STEP, {"code": totp_person.totp.now()}).status_code == 302
    client.post(reverse("accounts:sign-out"))
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP - 1):
        client.post("/sign-in/", {"email": totp_person.email, "password": "wrong"})
    assert password_step(client, totp_person)["Location"] == SECOND_STEP


def test_the_second_step_without_a_password_first_goes_back_to_sign_in(client):
    response = client.get(SECOND_STEP)
    assert response.status_code == 302 and response["Location"] == "/sign-in/"


def test_a_half_done_sign_in_expires(client, totp_person, password_step, settings, monkeypatch):
    password_step(client, totp_person)
    later = time.time() + 16 * 60  # allauth's ACCOUNT_LOGIN_TIMEOUT is 15 minutes
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.post(SECOND_STEP, {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == "/sign-in/"
    assert signed_in_as(client) is None


def test_people_without_a_second_factor_sign_in_with_their_password_alone(
    client, account, member_factory, password
):
    person = member_factory(account, "user")
    response = client.post("/sign-in/", {"email": person.email, "password": password})
    assert response.status_code == 302 and signed_in_as(client) == str(person.pk)
    event = Event.objects.get(kind=EventKind.SIGN_IN)
    assert event.details == {"method": "password"}
    assert event.summary == f"{person.email} signed in with a password"


# --------------------------------------------------------------------------- passkeys


def _add_passkey(client, person, key: SoftPasskey, name: str = "Laptop"):
    """Register `key` through the security page (sudo mode first, with the app)."""
    client.force_login(person)
    client.post("/sudo/", {"code": person.totp.now(), "next": "/security/"})
    page = client.get(reverse("accounts:security-passkey"))
    credential = key.register(json_options(page))
    response = client.post(
        reverse("accounts:security-passkey"),
        {"name": name, "passwordless": "on", "credential": json.dumps(credential)},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client.post(reverse("accounts:sign-out"))
    return engine.Authenticator.objects.get(user=person, type="webauthn", data__name=name)


def _passkey_sign_in(client, key: SoftPasskey, **post):
    options = client.get(reverse("accounts:sign-in-passkey")).json()["request_options"]
    credential = key.sign(options)
    return client.post(
        reverse("accounts:sign-in-passkey"), {"credential": json.dumps(credential), **post}
    ), credential


def test_sign_in_with_a_passkey_alone(client, totp_person):
    key = SoftPasskey()
    _add_passkey(client, totp_person, key)

    response, _ = _passkey_sign_in(client, key, next="/profile/")

    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert signed_in_as(client) == str(totp_person.pk)
    event = Event.objects.filter(kind=EventKind.SIGN_IN).latest("id")
    assert event.details == {"method": "passkey"}
    assert event.summary == "two@example.org signed in with a passkey"


def test_a_replayed_passkey_answer_is_refused(client, totp_person):
    key = SoftPasskey()
    _add_passkey(client, totp_person, key)
    _, credential = _passkey_sign_in(client, key)
    client.post(reverse("accounts:sign-out"))

    client.get(reverse("accounts:sign-in-passkey"))  # a new challenge in the session
    response = client.post(
        reverse("accounts:sign-in-passkey"), {"credential": json.dumps(credential)}
    )
    assert response.status_code == 200
    assert b"That passkey was not accepted" in response.content
    assert signed_in_as(client) is None


def test_a_removed_passkey_no_longer_signs_in(client, totp_person):
    key = SoftPasskey()
    authenticator = _add_passkey(client, totp_person, key)
    factor_remove(actor=Actor.person(totp_person), user=totp_person, factor_id=authenticator.pk)

    response, _ = _passkey_sign_in(client, key)
    assert response.status_code == 200
    assert b"That passkey was not accepted" in response.content
    assert signed_in_as(client) is None


def test_a_passkey_that_did_not_verify_its_person_does_not_sign_in_alone(client, totp_person):
    key = SoftPasskey()
    _add_passkey(client, totp_person, key)
    key.verified = False

    response, _ = _passkey_sign_in(client, key)
    assert response.status_code == 200 and signed_in_as(client) is None


def test_a_passkey_is_a_second_factor_after_the_password(client, totp_person, password_step):
    key = SoftPasskey()
    _add_passkey(client, totp_person, key)
    password_step(client, totp_person)

    page = client.get(SECOND_STEP)
    assert b"Use your passkey or security key" in page.content
    response = client.post(SECOND_STEP, {"credential": json.dumps(key.sign(json_options(page)))})
    assert response.status_code == 302 and signed_in_as(client) == str(totp_person.pk)
    event = Event.objects.filter(kind=EventKind.SIGN_IN).latest("id")
    assert event.details == {"method": "password", "second_factor": "passkey"}


def test_garbage_instead_of_a_passkey_is_a_clear_refusal(client, totp_person, password_step):
    password_step(client, totp_person)
    for credential in ("not json", '{"id": "x"}', "[]"):
        response = client.post(SECOND_STEP, {"credential": credential})
        assert response.status_code == 200
        assert signed_in_as(client) is None
    response = client.post(reverse("accounts:sign-in-passkey"), {"credential": "{}"})
    assert response.status_code == 200 and b"did not send a passkey" in response.content
    response = client.post(reverse("accounts:sign-in-passkey"), {"credential": '{"id": 1}'})
    assert response.status_code == 200 and b"not accepted" in response.content


def test_passkey_sign_in_failures_are_throttled_per_address(client, settings):
    UserFactory()
    for _ in range(20):
        client.post(reverse("accounts:sign-in-passkey"), {"credential": '{"id": "x"}'})
    response = client.post(reverse("accounts:sign-in-passkey"), {"credential": '{"id": "x"}'})
    assert response.status_code == 429 and b"Too many attempts" in response.content


def test_passkey_add_needs_sudo_and_keeps_nothing_without_it(client, totp_person):
    client.force_login(totp_person)
    response = client.get(reverse("accounts:security-passkey"))
    assert response.status_code == 302 and response["Location"].startswith("/sudo/")
    assert not engine.Authenticator.objects.filter(user=totp_person, type="webauthn").exists()


def test_a_passkey_registered_for_another_challenge_is_refused(client, totp_person):
    key = SoftPasskey()
    client.force_login(totp_person)
    client.post("/sudo/", {"code": totp_person.totp.now(), "next": "/security/"})
    first = json_options(client.get(reverse("accounts:security-passkey")))
    client.get(reverse("accounts:security-passkey"))  # a newer challenge replaces it
    response = client.post(
        reverse("accounts:security-passkey"),
        {"name": "Old", "passwordless": "on", "credential": json.dumps(key.register(first))},
    )
    assert response.status_code == 200
    assert b"did not match this page" in response.content
    assert not engine.Authenticator.objects.filter(user=totp_person, type="webauthn").exists()


def test_passkey_add_service_names_and_flags(totp_person):
    key = SoftPasskey()
    assert totp_person.has_second_factor
    # the service stores what the engine verified (in a request: the challenge is kept
    # in its session)
    request = RequestFactory().get("/")
    request.session = {}
    with context.request_context(request):
        options = engine.passkey_creation_options(totp_person)
        credential = key.register(options)
        engine.passkey_registration_verify(credential, passwordless=True)
    authenticator, codes = passkey_add(
        actor=Actor.person(totp_person),
        user=totp_person,
        name="  Work   laptop ",
        credential=credential,
    )
    assert engine.factor_name(authenticator) == "Work laptop"
    assert engine.passkey_is_passwordless(authenticator)
    assert codes is None  # not the first factor: the recovery codes stay
    event = Event.objects.filter(kind=EventKind.FACTOR_ADDED).latest("id")
    assert event.summary == "two@example.org added the passkey “Work laptop”"


@pytest.mark.redis
def test_a_used_code_is_remembered_across_workers_in_redis(
    client, totp_person, password_step, redis_cache
):
    code = totp_person.totp.now()
    password_step(client, totp_person)
    assert client.post(SECOND_STEP, {"code": code}).status_code == 302
    client.post(reverse("accounts:sign-out"))
    password_step(client, totp_person)
    assert b"used already" in client.post(SECOND_STEP, {"code": code}).content


def test_an_outage_of_the_cache_never_locks_a_person_out(
    client, totp_person, password_step, cache_down
):
    """Used codes live in the cache: without it a right code is still accepted (SPEC 1)."""
    password_step(client, totp_person)
    assert client.post(SECOND_STEP, {"code": "000000"}).status_code == 200
    response = client.post(SECOND_STEP, {"code": totp_person.totp.now()})
    assert response.status_code == 302 and signed_in_as(client) == str(totp_person.pk)
