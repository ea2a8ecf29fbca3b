"""The reveal cookie: the new secret rides to its reveal page encrypted, once, Secure under TLS."""

from __future__ import annotations

import base64
import re
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from tests.factories import issue_user_token
from tests.tokens.conftest import enter_sudo, wizard_post

pytestmark = pytest.mark.django_db

SECRET_ON_PAGE = re.compile(r'<code id="token-secret"[^>]*>([^<]+)</code>')


@pytest.fixture
def person(account, member_factory):
    return member_factory(account, "engineer")


@pytest.fixture
def sudo_client(client, person, password):
    client.force_login(person)
    enter_sudo(client, password)
    return client


def _revealed(client, url: str) -> str | None:
    match = SECRET_ON_PAGE.search(client.get(url).content.decode())
    return match[1] if match else None


def test_the_cookie_carries_no_readable_secret(sudo_client):
    """Regression: the cookie held the plaintext secret, signed but not encrypted."""
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="Sealed"))
    value = response.cookies["kw_reveal"].value
    decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

    secret = _revealed(sudo_client, response["Location"])

    assert secret and secret.startswith("kwu_")
    assert secret not in value and secret.encode() not in decoded
    assert secret[4:12] not in value and secret[4:12].encode() not in decoded


def test_each_cookie_has_its_own_nonce(sudo_client):
    first = sudo_client.post(reverse("tokens:new"), wizard_post(name="One"))
    second = sudo_client.post(reverse("tokens:new"), wizard_post(name="Two"))
    nonce = lambda response: response.cookies["kw_reveal"].value[:16]  # noqa: E731
    assert nonce(first) != nonce(second)


def test_the_cookie_is_secure_whenever_the_session_cookie_is(sudo_client, settings):
    """Regression: behind a TLS proxy without TRUST_X_FORWARDED_PROTO the request looks
    like plain http, and the cookie went out without Secure."""
    settings.SESSION_COOKIE_SECURE = True
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="Proxied"))
    assert response.cookies["kw_reveal"]["secure"] is True


def test_the_cookie_is_not_secure_on_plain_http_development(sudo_client, settings):
    settings.SESSION_COOKIE_SECURE = False
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="Local"))
    assert not response.cookies["kw_reveal"]["secure"]


def test_a_tampered_cookie_reveals_nothing(sudo_client):
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="Tampered"))
    value = response.cookies["kw_reveal"].value
    flipped = value[:20] + ("A" if value[20] != "A" else "B") + value[21:]
    for forged in (flipped, "not-base64-at-all!", "", "AAAA", "é"):
        sudo_client.cookies["kw_reveal"] = forged
        assert _revealed(sudo_client, response["Location"]) is None


def test_another_person_cannot_open_the_cookie(sudo_client, account, member_factory, client):
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="Mine"))
    stolen = response.cookies["kw_reveal"].value
    other = member_factory(account, "engineer")
    client.force_login(other)
    client.cookies["kw_reveal"] = stolen
    assert client.get(response["Location"]).status_code == 404  # not their token
    their_own = issue_user_token(other, name="Theirs").token
    assert _revealed(client, reverse("tokens:reveal", args=[their_own.pk])) is None


def test_a_new_secret_key_keeps_a_cookie_made_under_the_old_one(sudo_client, settings):
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="Rotated"))
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "x" * 40
    assert _revealed(sudo_client, response["Location"]).startswith("kwu_")


def test_the_curl_line_uses_the_host_the_panel_was_reached_at(sudo_client, settings):
    settings.ALLOWED_HOSTS = ["panel.keyward.example"]
    host = {"HTTP_HOST": "panel.keyward.example"}
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="Hosted"), **host)
    html = sudo_client.get(response["Location"], **host).content.decode()

    secret = SECRET_ON_PAGE.search(html)
    assert secret
    assert f'Bearer {secret[1]}" http://panel.keyward.example/api/v1/whoami' in html
    assert "127.0.0.1:8000" not in html
    assert 'href="/api/v1/docs"' in html  # the API docs, from the reveal


def test_a_host_outside_allowed_hosts_gets_no_page(sudo_client, settings):
    """The curl line echoes the Host header: only the hosts ALLOWED_HOSTS names get there."""
    settings.ALLOWED_HOSTS = ["panel.keyward.example"]
    response = sudo_client.post(
        reverse("tokens:new"), wizard_post(name="Spoofed"), HTTP_HOST="panel.keyward.example"
    )
    sudo_client.raise_request_exception = False
    page = sudo_client.get(response["Location"], HTTP_HOST="evil.example")
    assert page.status_code == 400
    assert "evil.example" not in page.content.decode()


def test_a_replayed_cookie_shows_nothing(sudo_client):
    """Regression (issue 18): the same cookie showed the secret again within its 5 minutes."""
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="Once"))
    cookie = response.cookies["kw_reveal"].value
    assert _revealed(sudo_client, response["Location"]).startswith("kwu_")
    for _ in range(2):  # a reload, the back button, a second tab: the cookie sent again
        sudo_client.cookies["kw_reveal"] = cookie
        assert _revealed(sudo_client, response["Location"]) is None


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite's shared in-memory test database refuses concurrent "
    "writers (table locked) instead of racing them (run with DATABASE_URL=postgres://...)",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_show_the_secret_once(account, member_factory, password, settings):
    """Regression (issue 18): 4 of 4 simultaneous requests with one cookie showed the secret."""
    person = member_factory(account, "engineer")
    first = Client()
    first.force_login(person)
    enter_sudo(first, password)
    response = first.post(reverse("tokens:new"), wizard_post(name="Raced"))
    cookie, url = response.cookies["kw_reveal"].value, response["Location"]
    session = first.cookies[settings.SESSION_COOKIE_NAME].value

    start = threading.Barrier(6)
    shown: list[str | None] = []
    failures: list[str] = []

    def replay() -> None:
        tab = Client()
        tab.cookies[settings.SESSION_COOKIE_NAME] = session
        tab.cookies["kw_reveal"] = cookie
        try:
            start.wait()
            shown.append(_revealed(tab, url))
        except Exception as exc:  # any other outcome fails the test below
            failures.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=replay) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    secrets = [secret for secret in shown if secret is not None]
    assert len(shown) == 6 and len(secrets) == 1 and secrets[0].startswith("kwu_")
