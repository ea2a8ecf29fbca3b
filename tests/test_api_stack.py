"""The API and /healthz run on their own short middleware stack (config.middleware).

They keep every security header the panel's answers carry, answer nothing
with a cookie, and skip the panel's stack (sessions, CSRF, messages); the
panel itself is unchanged.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ZoneFactory, issue_user_token

pytestmark = pytest.mark.django_db

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@pytest.fixture
def owner(account, member_factory):
    return member_factory(account, "superuser")


@pytest.fixture
def bearer(owner):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_user_token(owner).secret}"}


def api_answers(client, account, bearer):
    zone = ZoneFactory(account=account)
    zones = f"/api/v1/accounts/{account.pk}/zones"
    return {
        "whoami": client.get("/api/v1/whoami", **bearer),
        "a zone (lean read)": client.get(f"{zones}/{zone.pk}", **bearer),
        "a page of zones": client.get(zones, **bearer),
        "tokens/self (ninja)": client.get("/api/v1/tokens/self", **bearer),
        "no credentials": client.get("/api/v1/whoami"),
        "bad credentials": client.get("/api/v1/whoami", HTTP_AUTHORIZATION="Bearer kwu_nope"),
        "wrong method": client.delete(zones, **bearer),
        "no such path": client.get("/api/v1/nothing/here"),
        "/api": client.get("/api"),
        "openapi.json": client.get("/api/v1/openapi.json"),
        "/healthz": client.get("/healthz"),
    }


def test_api_answers_keep_every_security_header(client, account, bearer):
    panel_policy = client.get("/sign-in/")["Content-Security-Policy"]
    for name, response in api_answers(client, account, bearer).items():
        for header, value in SECURITY_HEADERS.items():
            assert response[header] == value, (name, header)
        assert response["Content-Security-Policy"] == panel_policy, name
        assert "no-store" in response["Cache-Control"], name
        assert int(response["Content-Length"]) == len(response.content), name


def test_api_answers_set_no_cookie_and_skip_the_panels_stack(client, account, bearer, owner):
    client.force_login(owner)  # a browser that is signed in to the panel calls the API
    for name, response in api_answers(client, account, bearer).items():
        assert not response.cookies, name
        assert "Cookie" not in response.get("Vary", ""), name
        request = response.wsgi_request
        assert not hasattr(request, "session") and not hasattr(request, "user"), name


def test_account_routes_still_name_their_scopes(client, account, bearer):
    response = client.get(f"/api/v1/accounts/{account.pk}/zones", **bearer)
    assert response.status_code == 200
    assert response["X-Accepted-Scopes"]


def test_the_panel_keeps_its_stack(client, owner):
    client.force_login(owner)
    for path in ("/sign-in/", "/apiary", "/healthz/"):  # /api and /healthz only, exactly
        response = client.get(path)
        assert hasattr(response.wsgi_request, "session"), path
        assert response["X-Frame-Options"] == "DENY", path
        assert "Content-Security-Policy" in response, path
    sign_in = Client().get("/sign-in/")
    assert "csrftoken" in sign_in.cookies
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_host_not_allowed_is_refused_on_the_api(client, settings, bearer):
    settings.ALLOWED_HOSTS = ["keyward.example"]
    for path in ("/api/v1/whoami", "/healthz"):
        assert client.get(path, HTTP_HOST="evil.example", **bearer).status_code == 400
        assert client.get(path, HTTP_HOST="keyward.example", **bearer).status_code == 200


def test_the_api_redirects_to_https_and_sends_hsts(settings, bearer):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    settings.SECURE_HSTS_SECONDS = 3600
    client = Client()  # its handler reads these settings when it loads the middleware
    response = client.get("/api/v1/whoami", **bearer)
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/v1/whoami"
    assert client.get("/healthz").status_code == 200  # load balancers probe over HTTP
    secure = client.get("/api/v1/whoami", secure=True, **bearer)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=3600"
