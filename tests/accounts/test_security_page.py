"""The security page and the factor services (SPEC 16): app, recovery codes, removal, support."""

from __future__ import annotations

import re
from io import StringIO

import pyotp
import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.factors import engine
from accounts.factors.services import (
    FactorNotFound,
    FactorRefused,
    factor_remove,
    factors_remove_all,
    recovery_codes_regenerate,
    totp_add,
)
from accounts.models import User
from tokens.events import Actor
from tokens.models import Event, EventKind

pytestmark = pytest.mark.django_db

SECURITY = "/security/"
TOTP = reverse("accounts:security-totp")
CODES = reverse("accounts:security-recovery-codes")


@pytest.fixture
def person(account, member_factory):
    return member_factory(account, "engineer", email="new@example.org")


@pytest.fixture
def in_sudo(client, password):
    """in_sudo(person): signed in, sudo mode confirmed with the password."""

    def enter(person):
        client.force_login(person)
        assert client.post("/sudo/", {"password": password}).status_code == 302

    return enter


def _secret(page) -> str:
    match = re.search(r'<code id="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page.content.decode())
    assert match, "the setup key is on the page"
    return match.group(1).replace(" ", "")


def test_the_security_page_says_two_factor_is_off_and_offers_both(client, person):
    client.force_login(person)
    page = client.get(SECURITY)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Two-factor authentication" in html and ">Off<" in html
    assert "Set up an authenticator app" in html and "Add a passkey" in html
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert 'href="/security/"' in profile


def test_setting_up_an_app_needs_sudo_first(client, person):
    client.force_login(person)
    response = client.get(TOTP)
    assert response.status_code == 302 and response["Location"].startswith("/sudo/?next=")


def test_set_up_an_app_with_its_first_code(client, person, in_sudo):
    in_sudo(person)
    page = client.get(TOTP)
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    html = page.content.decode()
    assert "<svg" in html and "<script>" not in html  # the QR code, drawn without script
    secret = _secret(page)

    response = client.post(TOTP, {"code": pyotp.TOTP(secret).now()})

    assert response.status_code == 302 and response["Location"] == CODES
    person.refresh_from_db()
    assert person.has_second_factor
    app = engine.Authenticator.objects.get(user=person, type="totp")
    assert secret not in str(app.data)  # stored encrypted
    assert engine.totp_secret_of(app) == secret
    kinds = list(Event.objects.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [EventKind.FACTOR_ADDED, EventKind.RECOVERY_CODES_REGENERATED]
    assert all(secret not in str(e.details) + e.summary for e in Event.objects.all())


def test_a_wrong_first_code_changes_nothing_and_keeps_the_same_secret(client, person, in_sudo):
    in_sudo(person)
    secret = _secret(client.get(TOTP))
    response = client.post(TOTP, {"code": "000000"})
    assert response.status_code == 200
    assert b"That code is not right" in response.content
    assert _secret(response) == secret
    assert not engine.Authenticator.objects.filter(user=person).exists()
    person.refresh_from_db()
    assert not person.has_second_factor


def test_a_first_code_without_a_set_up_in_progress_starts_again(client, person, in_sudo):
    in_sudo(person)
    response = client.post(TOTP, {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == TOTP
    assert not engine.Authenticator.objects.filter(user=person).exists()


def test_recovery_codes_are_shown_once_and_downloadable(client, totp_person, in_sudo):
    # totp_person's codes were made by the service and never shown
    in_sudo_with_code(client, totp_person)
    page = client.get(CODES)
    html = page.content.decode()
    shown = re.findall(r"<li><code>(\d{4}-\d{4})</code></li>", html)
    assert len(shown) == 10 and "no-store" in page["Cache-Control"]
    assert 'download="keyward-recovery-codes.txt"' in html and "data:text/plain" in html
    unused = engine.recovery_codes_unused(
        engine.Authenticator.objects.get(user=totp_person, type="recovery_codes")
    )
    assert [code.replace("-", "") for code in shown] == unused

    again = client.get(CODES).content.decode()
    assert not re.findall(r"\d{4}-\d{4}", again)
    assert "shown once" in again and "Generate new codes" in again


def in_sudo_with_code(client, person) -> None:
    client.force_login(person)
    assert client.post("/sudo/", {"code": person.totp.now()}).status_code == 302


def test_regenerating_codes_replaces_them_and_is_an_event(client, totp_person, recovery_codes):
    old = recovery_codes(totp_person)
    in_sudo_with_code(client, totp_person)
    response = client.post(CODES)
    assert response.status_code == 302 and response["Location"] == CODES
    new = recovery_codes(totp_person)
    assert len(new) == 10 and not set(new) & set(old)
    event = Event.objects.filter(kind=EventKind.RECOVERY_CODES_REGENERATED).latest("id")
    assert event.summary.endswith("(the old ones no longer work)")
    page = client.get(CODES).content.decode()
    assert all(f"{code[:4]}-{code[4:]}" in page for code in new)


def test_codes_need_a_factor(person):
    with pytest.raises(FactorRefused):
        recovery_codes_regenerate(actor=Actor.person(person), user=person)
    assert not engine.Authenticator.objects.filter(user=person).exists()


def test_one_app_per_person(totp_person):
    with pytest.raises(FactorRefused, match="already set up"):
        totp_add(actor=Actor.person(totp_person), user=totp_person, secret="JBSWY3DPEHPK3PXP")
    assert engine.Authenticator.objects.filter(user=totp_person, type="totp").count() == 1


def test_removing_the_last_factor_turns_two_factor_off(totp_person):
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    what = factor_remove(actor=Actor.person(totp_person), user=totp_person, factor_id=app.pk)
    assert what == "the authenticator app"
    assert not engine.Authenticator.objects.filter(user=totp_person).exists()  # codes too
    assert not User.objects.get(pk=totp_person.pk).has_second_factor
    event = Event.objects.filter(kind=EventKind.FACTOR_REMOVED).latest("id")
    assert event.details["last"] is True and event.account is None


def test_someone_elses_factor_is_not_found(client, totp_person, person, in_sudo):
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    with pytest.raises(FactorNotFound):
        factor_remove(actor=Actor.person(person), user=person, factor_id=app.pk)
    in_sudo(person)
    assert client.get(reverse("accounts:security-remove", args=[app.pk])).status_code == 404
    assert client.post(reverse("accounts:security-remove", args=[app.pk])).status_code == 404
    codes = engine.Authenticator.objects.get(user=totp_person, type="recovery_codes")
    assert client.get(reverse("accounts:security-remove", args=[codes.pk])).status_code == 404
    assert engine.Authenticator.objects.filter(pk=app.pk).exists()


def test_the_remove_page_says_when_it_is_the_last_factor(client, totp_person):
    client.force_login(totp_person)
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    page = client.get(reverse("accounts:security-remove", args=[app.pk])).content.decode()
    assert "It is your last second factor" in page


def test_the_profile_lists_factor_changes_as_the_persons_own(client, totp_person, recovery_codes):
    client.force_login(totp_person)
    client.post("/sudo/", {"code": recovery_codes(totp_person)[0]})
    html = client.get(reverse("accounts:profile")).content.decode()
    for text in (
        "Authenticator app added",
        "Recovery codes generated",
        "Recovery code used (9 left)",
        "Confirmed with a recovery code",
    ):
        assert text in html, text
    assert "Two-factor authentication is" in html and ">On<" in html
    # a person's factor events never show in an account's event log
    log = client.get(reverse("events:event-log", args=["acme-test"])).content.decode()
    assert "Authenticator app" not in log and "recovery code" not in log


def test_support_sees_factors_without_secrets_and_removes_them(client, totp_person):
    staff = User.objects.create_superuser("staff@example.org", "pw-support-123")
    client.force_login(staff)
    app = engine.Authenticator.objects.get(user=totp_person, type="totp")
    secret = engine.totp_secret_of(app)
    page = client.get(reverse("admin:accounts_user_change", args=[totp_person.pk]))
    html = page.content.decode()
    assert "Authenticator app" in html and "Recovery codes" in html and "10 of 10 unused" in html
    assert secret not in html and app.data["secret"] not in html
    assert client.get("/admin/mfa/authenticator/").status_code == 404  # allauth's page is gone

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "remove_second_factors", "_selected_action": [totp_person.pk]},
        follow=True,
    )
    assert "Removed 1 second factor of two@example.org" in response.content.decode()
    assert not engine.Authenticator.objects.filter(user=totp_person).exists()
    assert not User.objects.get(pk=totp_person.pk).has_second_factor
    event = Event.objects.filter(kind=EventKind.FACTOR_REMOVED).latest("id")
    assert event.actor_kind == "support" and event.actor_user == staff
    assert event.details["person"] == "two@example.org"


def test_removing_all_factors_of_someone_without_any_changes_nothing(person):
    assert factors_remove_all(actor=Actor.system("test"), user=person) == 0
    assert not Event.objects.filter(kind=EventKind.FACTOR_REMOVED).exists()


def test_the_demo_person_has_an_app_whose_printed_key_signs_in(client):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())  # idempotent: the same app, the same key
    key = re.search(r"setup key ([A-Z2-7]+)", out.getvalue()).group(1)
    person = User.objects.get(email="mfa@example.com")
    assert person.has_second_factor
    assert engine.Authenticator.objects.filter(user=person, type="totp").count() == 1
    assert person.memberships.get().role == "engineer"

    client.post("/sign-in/", {"email": "mfa@example.com", "password": "keyward-demo"})
    response = client.post("/sign-in/two-factor/", {"code": pyotp.TOTP(key).now()})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(person.pk)
