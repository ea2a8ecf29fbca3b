import pytest
from django.urls import reverse

from accounts.constants import (
    SIGN_IN_MAX_FAILURES_PER_EMAIL,
    SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGN_IN = "/sign-in/"


def test_sign_in_page_renders(client):
    response = client.get(SIGN_IN)
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_sign_in_with_right_password_lands_on_the_account(
    client, account, member_factory, password
):
    user = member_factory(account, "engineer")
    response = client.post(SIGN_IN, {"email": user.email.upper(), "password": password})
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:overview", args=[account.slug])


def test_sign_in_with_wrong_password_is_refused_without_saying_which(client, password):
    user = UserFactory()
    response = client.post(SIGN_IN, {"email": user.email, "password": "nope"})
    assert response.status_code == 200
    assert b"do not match" in response.content
    assert "_auth_user_id" not in client.session


def test_unknown_email_gets_the_same_message(client):
    response = client.post(SIGN_IN, {"email": "ghost@example.org", "password": "x"})
    assert b"do not match" in response.content


def test_inactive_user_cannot_sign_in(client, password):
    user = UserFactory(is_active=False)
    client.post(SIGN_IN, {"email": user.email, "password": password})
    assert "_auth_user_id" not in client.session


def test_repeated_failures_block_the_email_without_checking_the_password(
    client, password, monkeypatch
):
    user = UserFactory()
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP):
        client.post(SIGN_IN, {"email": user.email, "password": "wrong"})

    def fail(*args, **kwargs):
        raise AssertionError("the password must not be checked while blocked")

    monkeypatch.setattr("accounts.services.identity.authenticate", fail)
    response = client.post(SIGN_IN, {"email": user.email, "password": password})
    assert response.status_code == 429
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60
    assert b"Too many attempts. Try again in 15 minutes." in response.content
    assert "_auth_user_id" not in client.session


def test_failures_from_other_addresses_do_not_lock_the_person_out(client, password):
    """Issue 18: five wrong passwords from anywhere locked a person out for 15 minutes."""
    user = UserFactory()
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP):
        client.post(SIGN_IN, {"email": user.email, "password": "x"}, REMOTE_ADDR="203.0.113.66")
    attacker = client.post(
        SIGN_IN, {"email": user.email, "password": password}, REMOTE_ADDR="203.0.113.66"
    )
    assert attacker.status_code == 429
    person = client.post(
        SIGN_IN, {"email": user.email, "password": password}, REMOTE_ADDR="198.51.100.5"
    )
    assert person.status_code == 302


def test_failures_from_many_addresses_meet_the_per_email_ceiling(client, password):
    user = UserFactory()
    per_address = SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP - 1
    for n in range(SIGN_IN_MAX_FAILURES_PER_EMAIL // per_address + 1):
        for _ in range(per_address):
            client.post(SIGN_IN, {"email": user.email, "password": "x"}, REMOTE_ADDR=f"10.0.0.{n}")
    response = client.post(
        SIGN_IN, {"email": user.email, "password": password}, REMOTE_ADDR="198.51.100.5"
    )
    assert response.status_code == 429


def test_right_passwords_never_count(client, password):
    user = UserFactory()
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP * 3):
        assert client.post(SIGN_IN, {"email": user.email, "password": password}).status_code == 302
        client.post("/sign-out/")
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP - 1):
        assert client.post(SIGN_IN, {"email": user.email, "password": "x"}).status_code == 200
    assert client.post(SIGN_IN, {"email": user.email, "password": password}).status_code == 302


def test_repeated_failures_from_one_ip_block_that_ip(client, password):
    user = UserFactory()
    for n in range(20):
        client.post(SIGN_IN, {"email": f"someone{n}@example.org", "password": "wrong"})
    response = client.post(SIGN_IN, {"email": user.email, "password": password})
    assert response.status_code == 429
    other_ip = client.post(
        SIGN_IN, {"email": user.email, "password": password}, REMOTE_ADDR="198.51.100.9"
    )
    assert other_ip.status_code == 302


def test_next_parameter_is_followed_only_on_this_host(client, password):
    user = UserFactory()
    response = client.post(
        SIGN_IN, {"email": user.email, "password": password, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("accounts:home")


def test_sign_out_needs_post(client, password):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/sign-out/").status_code == 405
    assert client.post("/sign-out/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_synthetic_users_cannot_sign_in(client, password):
    user = UserFactory(is_synthetic=True)
    client.post(SIGN_IN, {"email": user.email, "password": password})
    assert "_auth_user_id" not in client.session
