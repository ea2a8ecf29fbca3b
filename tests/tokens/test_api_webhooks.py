"""The webhooks API (SPEC 19): /api/v1/accounts/{account_id}/webhooks, its deliveries, its
422s, and who may use it (a superuser's token with `global`)."""

from __future__ import annotations

import pytest

from tests.factories import AccountFactory, issue_automation_token, issue_user_token
from tests.tokens.conftest import call
from tokens.models import Event
from tokens.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(owner):
    return issue_user_token(owner, name="admin").secret


@pytest.fixture
def allow_private(settings):
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = True


def _create(client, account, secret, receiver, **body):
    return call(
        client,
        "POST",
        f"/accounts/{account.pk}/webhooks",
        secret,
        {"url": receiver.url + "/hook", "events": ["token.created"], **body},
    )


def test_create_list_deliveries_and_delete(
    client,
    account,
    owner,
    secret,
    allow_private,
    webhook_receiver,
    django_capture_on_commit_callbacks,
):
    answer = _create(client, account, secret, webhook_receiver, enabled=True)
    assert answer.status_code == 201
    created = answer.json()["data"]
    assert created["secret"].startswith("whsec_")
    assert created["url"] == webhook_receiver.url + "/hook"
    assert created["events"] == ["token.created"] and created["enabled"] is True
    assert answer["Cache-Control"] == "no-store"
    webhook_receiver.secret = created["secret"]

    listed = call(client, "GET", f"/accounts/{account.pk}/webhooks", secret).json()["data"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "secret" not in listed[0]

    webhook_receiver.script(500)
    with django_capture_on_commit_callbacks(execute=True):
        issue_automation_token(account, name="first", creator=owner)
        issue_automation_token(account, name="second", creator=owner)
    assert all(d.verified for d in webhook_receiver.wait_for_deliveries(2))

    path = f"/accounts/{account.pk}/webhooks/{created['id']}/deliveries"
    answer = call(client, "GET", path, secret)
    assert answer.status_code == 200
    body = answer.json()
    newest, oldest = body["data"]
    assert set(newest) >= {
        "id",
        "event_type",
        "attempt",
        "status_code",
        "delivered_at",
        "next_attempt_at",
    }
    assert newest["id"] > oldest["id"]  # newest first
    assert (oldest["event_type"], oldest["attempt"], oldest["status_code"]) == (
        "token.created",
        1,
        500,
    )
    assert oldest["delivered_at"] is None and oldest["next_attempt_at"] is not None
    assert newest["status_code"] == 200 and newest["delivered_at"] is not None
    assert newest["next_attempt_at"] is None
    assert body["pagination"]["total_entries"] == 2

    answer = call(client, "DELETE", f"/accounts/{account.pk}/webhooks/{created['id']}", secret)
    assert answer.status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert call(client, "GET", path, secret).status_code == 404
    kinds = set(Event.objects.filter(kind__startswith="webhook.").values_list("kind", flat=True))
    assert kinds == {"webhook.created", "webhook.deleted"}
    event = Event.objects.get(kind="webhook.created")
    assert event.channel == "api_token" and created["secret"] not in str(event.details)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://8.8.8.8/h", "events": ["token.created"], "extra": 1}, "extra"),
        ({"events": ["token.created"]}, "url"),
        ({"url": "https://8.8.8.8/h"}, "events"),
        ({"url": "https://8.8.8.8/h", "events": []}, "events"),
        ({"url": "https://8.8.8.8/h", "events": ["token.exploded"]}, "events"),
        ({"url": "https://8.8.8.8/h", "events": "token.created"}, "events"),
        ({"url": 42, "events": ["token.created"]}, "url"),
        ({"url": "", "events": ["token.created"]}, "url"),
        ({"url": "http://8.8.8.8/h", "events": ["token.created"]}, "url"),
        ({"url": "https://127.0.0.1/h", "events": ["token.created"]}, "url"),
        ({"url": "https://localhost/h", "events": ["token.created"]}, "url"),
        ({"url": "https://169.254.169.254/", "events": ["token.created"]}, "url"),
        ({"url": "https://a:b@8.8.8.8/h", "events": ["token.created"]}, "url"),
        ({"url": "https://8.8.8.8/h", "events": ["token.created"], "enabled": "yes"}, "enabled"),
        ({"url": "https://8.8.8.8/\x00", "events": ["token.created"]}, "url"),
    ],
)
def test_bad_bodies_are_422_naming_the_field_and_change_nothing(
    client, account, secret, body, field
):
    answer = call(client, "POST", f"/accounts/{account.pk}/webhooks", secret, body)
    assert answer.status_code == 422, answer.content
    error = answer.json()
    assert error["error"] == "invalid_request"
    assert any(name.split(".")[0] == field for name in error["fields"]), error  # events.0
    assert not WebhookEndpoint.objects.exists()
    assert not Event.objects.filter(kind__startswith="webhook.").exists()


def test_a_public_address_is_accepted_without_the_test_setting(client, account, secret, settings):
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = False
    body = {"url": "https://8.8.8.8/hooks", "events": ["token.revoked", "token.created"]}
    answer = call(client, "POST", f"/accounts/{account.pk}/webhooks", secret, body)
    assert answer.status_code == 201
    assert answer.json()["data"]["events"] == ["token.created", "token.revoked"]


def test_a_body_that_is_not_json_is_refused(client, account, secret):
    answer = call(client, "POST", f"/accounts/{account.pk}/webhooks", secret, "{not json")
    assert answer.status_code in (400, 422)
    assert not WebhookEndpoint.objects.exists()


def test_only_a_superusers_global_token_manages_webhooks(
    client, account, owner, member_factory, settings
):
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = True
    endpoint_body = {"url": "https://8.8.8.8/h", "events": ["token.created"]}
    engineer = issue_user_token(member_factory(account, "engineer")).secret
    narrow = issue_user_token(owner, name="narrow", scopes=["zones:read"]).secret
    automation = issue_automation_token(account, creator=owner).secret
    for refused in (engineer, narrow, automation):
        for method, path, body in (
            ("GET", f"/accounts/{account.pk}/webhooks", None),
            ("POST", f"/accounts/{account.pk}/webhooks", endpoint_body),
        ):
            answer = call(client, method, path, refused, body)
            assert answer.status_code == 403, (method, answer.content)
            assert answer.json()["error"] == "insufficient_scope"
    assert call(client, "GET", f"/accounts/{account.pk}/webhooks", None).status_code == 401
    assert not WebhookEndpoint.objects.exists()


def test_another_accounts_webhooks_are_not_found(client, account, owner, secret, member_factory):
    elsewhere = AccountFactory(name="Elsewhere", slug="elsewhere")
    theirs_owner = member_factory(elsewhere, "superuser")
    theirs_secret = issue_user_token(theirs_owner).secret
    body = {"url": "https://8.8.8.8/h", "events": ["token.created"]}
    theirs = call(client, "POST", f"/accounts/{elsewhere.pk}/webhooks", theirs_secret, body)
    their_id = theirs.json()["data"]["id"]

    assert call(client, "GET", f"/accounts/{elsewhere.pk}/webhooks", secret).status_code == 404
    for method, path in (
        ("DELETE", f"/accounts/{account.pk}/webhooks/{their_id}"),
        ("GET", f"/accounts/{account.pk}/webhooks/{their_id}/deliveries"),
        ("DELETE", f"/accounts/{elsewhere.pk}/webhooks/{their_id}"),
    ):
        assert call(client, method, path, secret).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=their_id).exists()
