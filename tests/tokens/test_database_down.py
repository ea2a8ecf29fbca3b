"""While the database cannot be reached: the API answers 503 `unavailable` with Retry-After
(JSON, never a 500), the panel its branded error page, /healthz 503; afterwards all works."""

from __future__ import annotations

import base64
import json

import pytest

from tests.factories import RecordFactory, ZoneFactory, issue_user_token
from tokens.api.errors import UNAVAILABLE_RETRY_AFTER_SECONDS

# (method, path, body): the lean reads, ninja's reads and writes. (A leak report is queued,
# not answered 503: test_a_leak_report_is_queued_while_the_database_is_down.)
ROUTES = [
    ("GET", "/whoami", None),
    ("GET", "/tokens", None),
    ("GET", "/tokens/self/usage", None),
    ("GET", "/tokens/self/permissions", None),
    ("GET", "/accounts", None),
    ("GET", "/accounts/{a}/zones", None),
    ("GET", "/accounts/{a}/zones/{z}", None),
    ("GET", "/accounts/{a}/zones/{z}/records", None),
    ("GET", "/accounts/{a}/domains", None),
    ("POST", "/accounts/{a}/zones/{z}/records", {"type": "A", "name": "x", "content": "192.0.2.1"}),
    ("DELETE", "/accounts/{a}/zones/{z}/records/{r}", None),
    ("POST", "/tokens/self/roll", {"grace_period": 60}),
    ("POST", "/tokens/{t}/roll", None),
    ("DELETE", "/tokens/{t}", None),
]


@pytest.fixture
def world(transactional_db, account, member_factory, password):
    owner = member_factory(account, "superuser", email="owner@example.com")
    zone = ZoneFactory(account=account)
    created = issue_user_token(owner)
    ids = {"a": account.pk, "z": zone.pk, "r": RecordFactory(zone=zone).pk, "t": created.token.pk}
    return owner, created.secret, ids


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    body = response.json()
    assert body["error"] == "unavailable"
    assert "database" in body["message"]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_api_route_answers_503_with_retry_after(
    client, world, database_down, method, path, body
):
    _, secret, ids = world
    data = json.dumps(body).replace("{secret}", secret) if body is not None else ""
    client.raise_request_exception = False  # as in production: an escaped error is a 500
    with database_down():
        response = client.generic(
            method,
            "/api/v1" + path.format(**ids),
            data,
            "application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
    _assert_unavailable(response)


def test_token_creation_with_a_password_answers_503(client, world, database_down, password):
    owner, _, _ = world
    basic = base64.b64encode(f"{owner.email}:{password}".encode()).decode()
    client.raise_request_exception = False
    with database_down():
        response = client.post(
            "/api/v1/tokens",
            data=json.dumps({"name": "laptop"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {basic}",
        )
    _assert_unavailable(response)


def test_the_panel_shows_its_branded_error_page_and_healthz_says_503(
    client, world, database_down, settings
):
    settings.DEBUG = False
    owner, _, _ = world
    client.force_login(owner)
    client.raise_request_exception = False
    with database_down():
        for path in ("/tokens/", "/sign-in/", "/profile/"):
            page = client.get(path)
            assert page.status_code in (500, 503), path
            html = page.content.decode()
            assert "css/keyward.css" in html and "Traceback" not in html, path
        health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"


def test_everything_works_again_once_the_database_is_back(client, world, database_down):
    _, secret, ids = world
    with database_down():
        assert (
            client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 503
        )
    answer = client.get(
        f"/api/v1/accounts/{ids['a']}/zones/{ids['z']}", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert answer.status_code == 200
    assert client.get("/healthz").status_code == 200


def test_a_leak_report_is_queued_while_the_database_is_down(client, world, database_down, tmp_path):
    """The report needs no database in the request (its digests are queued): it is accepted,
    and a worker revokes the token once the database is back."""
    from django.core import mail
    from huey.storage import SqliteStorage

    from tests.tokens.conftest import queue_on, wait_for, worker_running
    from tokens.models import Token

    _, secret, ids = world
    client.raise_request_exception = False
    with queue_on(SqliteStorage("kwtest", filename=str(tmp_path / "queue.sqlite3"))):
        with database_down():
            response = client.post(
                "/api/v1/credentials/revoke",
                data=json.dumps({"credentials": [secret]}),
                content_type="application/json",
            )
        assert response.status_code == 202 and response.json() == {"data": {"received": 1}}
        with worker_running(workers=1):
            wait_for(lambda: len(mail.outbox) == 1, seconds=60)
    assert not Token.objects.filter(pk=ids["t"]).exists()
