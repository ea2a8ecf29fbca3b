"""Sudo mode: the password re-check before creating or widening tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.constants import SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP, SUDO_DURATION
from tokens.models import Event, EventKind

pytestmark = pytest.mark.django_db

SUDO = reverse("accounts:sudo")


@pytest.fixture
def person(account, member_factory):
    return member_factory(account, "engineer", email="sudo@example.org")


def test_sudo_page_needs_sign_in(client):
    response = client.get(SUDO)
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


def test_right_password_opens_sudo_and_is_logged(client, person, password):
    client.force_login(person)
    page = client.get(SUDO, {"next": "/tokens/new/"})
    assert b"Confirm your password" in page.content
    response = client.post(SUDO, {"password": password, "next": "/tokens/new/"})
    assert response.status_code == 302 and response["Location"] == "/tokens/new/"
    event = Event.objects.get(kind=EventKind.SUDO)
    assert event.actor_user == person
    assert password not in str(event.details) and password not in event.summary
    assert client.get(reverse("tokens:new")).status_code == 200


def test_wrong_password_shows_a_clear_error(client, person):
    client.force_login(person)
    response = client.post(SUDO, {"password": "nope", "next": "/tokens/new/"})
    assert response.status_code == 200
    assert b"That password is not right" in response.content
    assert not Event.objects.filter(kind=EventKind.SUDO).exists()
    assert client.get(reverse("tokens:new")).status_code == 302


def test_foreign_next_is_ignored(client, person, password):
    client.force_login(person)
    response = client.post(SUDO, {"password": password, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_sudo_is_rate_limited_like_sign_in(client, person, password):
    client.force_login(person)
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP):
        client.post(SUDO, {"password": "wrong"})
    response = client.post(SUDO, {"password": password})
    assert response.status_code == 429
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60
    assert b"Too many attempts" in response.content
    assert client.get(reverse("tokens:new")).status_code == 302


def test_sudo_lasts_ten_minutes(client, person, password, monkeypatch):
    client.force_login(person)
    client.post(SUDO, {"password": password})
    assert client.get(reverse("tokens:new")).status_code == 200
    later = timezone.now() + SUDO_DURATION + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = client.get(reverse("tokens:new"))
    assert response.status_code == 302 and response["Location"].startswith(SUDO)


def test_sudo_does_not_carry_over_to_another_user(client, person, password, member_factory):
    client.force_login(person)
    client.post(SUDO, {"password": password})
    other = member_factory(person.memberships.first().account)
    session = client.session
    state = session["sudo"]
    client.force_login(other)
    session = client.session
    session["sudo"] = state  # a copied session value still names the first person
    session.save()
    assert client.get(reverse("tokens:new")).status_code == 302
