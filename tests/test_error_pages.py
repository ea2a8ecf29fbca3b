"""Branded error pages (400, 403, 404, 500) that need no database, and the favicon."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.urls("tests.error_urls")


@pytest.fixture
def broken_client(client):
    """A client that answers errors with the error page instead of raising (as in production)."""
    client.raise_request_exception = False
    return client


def _refuse(*args, **kwargs):
    """Every SQL statement fails, as when the database server is gone."""
    raise OperationalError("could not connect to server: the database is down")


def _is_branded(response) -> None:
    html = response.content.decode()
    assert "css/keyward.css" in html
    assert "img/favicon.svg" in html
    assert "Keyward" in html
    assert "Traceback" not in html


def test_a_bug_shows_the_branded_500_page(broken_client, settings):
    settings.DEBUG = False
    response = broken_client.get("/__fail/500/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    _is_branded(response)


@pytest.mark.django_db
def test_the_500_page_renders_while_the_database_is_down(broken_client, settings):
    settings.DEBUG = False
    user = UserFactory()
    broken_client.force_login(user)  # the session and the nav would both need the database
    session_cookie = broken_client.cookies[settings.SESSION_COOKIE_NAME].value
    assert session_cookie

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", _refuse)
        patch.setattr(CursorWrapper, "executemany", _refuse)
        for path in ("/tokens/", "/tokens/999999/", "/profile/"):
            response = broken_client.get(path)
            assert response.status_code == 500, path
            assert "Something went wrong" in response.content.decode()
            _is_branded(response)
    assert User.objects.filter(pk=user.pk).exists()  # the database is back


@pytest.mark.django_db
def test_a_missing_page_shows_the_branded_404_page(client, settings):
    settings.DEBUG = False
    client.force_login(UserFactory())
    response = client.get("/tokens/999999/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    _is_branded(response)


def test_a_refusal_shows_the_branded_403_page(client, settings):
    settings.DEBUG = False
    response = client.get("/__fail/403/")
    assert response.status_code == 403
    assert "You are not allowed to see this page" in response.content.decode()
    _is_branded(response)


def test_a_malformed_request_shows_the_branded_400_page(client, settings):
    settings.DEBUG = False
    response = client.get("/__fail/400/")
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()
    _is_branded(response)


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_shows_the_branded_page(settings):
    from django.test import Client

    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "x" * 32
    response = client.post("/sign-in/", {"email": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert "This form expired" in response.content.decode()
    _is_branded(response)


def test_favicon_ico_leads_to_the_svg_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/img/favicon.svg"
    assert "max-age=86400" in response["Cache-Control"]
    assert finders.find("img/favicon.svg")


@pytest.mark.django_db
def test_the_admin_uses_the_favicon(client):
    staff = User.objects.create_superuser("support@keyward.test", "support-password")
    client.force_login(staff)
    for path in ("/admin/", "/admin/tokens/token/"):
        html = client.get(path).content.decode()
        assert 'rel="icon" href="/static/img/favicon.svg"' in html, path
