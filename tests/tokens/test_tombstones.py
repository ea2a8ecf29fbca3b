"""Revoked tokens leave a tombstone: keyed by digest, with who, when and why; no secret."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.factories import issue_automation_token, issue_user_token
from tokens.constants import STALE_AFTER
from tokens.events import Actor
from tokens.leaks.services import Finding, credentials_revoke
from tokens.models import Event, EventKind, Token
from tokens.services.revoke import token_revoke
from tokens.services.roll import token_roll
from tokens.tombstones.models import RevokedToken

pytestmark = pytest.mark.django_db

# What a tombstone holds: never a secret, never what the token could do.
TOMBSTONE_FIELDS = {
    "id",
    "digest",
    "previous_digest",
    "token_id",
    "name",
    "display",
    "type",
    "account",
    "owner",
    "revoked_at",
    "revoked_by",
    "revoked_by_label",
    "reason",
}


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("support@keyward.test", "support-password")


def _bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _panel(client, created, owner, staff):
    client.force_login(owner)
    client.post(reverse("tokens:delete", args=[created.token.pk]))


def _api_delete_by_id(client, created, owner, staff):
    caller = issue_user_token(owner, name="admin script")
    client.delete(f"/api/v1/tokens/{created.token.pk}", **_bearer(caller.secret))


def _api_delete_self(client, created, owner, staff):
    client.delete("/api/v1/tokens/self", **_bearer(created.secret))


def _leak_report(client, created, owner, staff):
    client.post(
        "/api/v1/credentials/revoke",
        data=json.dumps({"credentials": [created.secret]}),
        content_type="application/json",
    )


def _stale_cleanup(client, created, owner, staff):
    Token.objects.filter(pk=created.token.pk).update(
        created_at=timezone.now() - STALE_AFTER - timedelta(days=1), expires_at=None
    )
    call_command("delete_stale_tokens", stdout=StringIO())


def _admin_action(client, created, owner, staff):
    client.force_login(staff)
    client.post(
        reverse("admin:tokens_token_changelist"),
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [created.token.pk]},
    )


def _admin_revoke_button(client, created, owner, staff):
    client.force_login(staff)
    client.post(reverse("admin:tokens_token_revoke", args=[created.token.pk]))


@pytest.mark.parametrize(
    ("revoke", "revoked_by", "who"),
    [
        (_panel, "owner", "its owner (owner@example.org)"),
        (_api_delete_by_id, "owner", "its owner (Token “admin script” (kwu_…"),
        (_api_delete_self, "self", "the token itself"),
        (_leak_report, "leak_report", "a leak report (public leak report)"),
        (_stale_cleanup, "cleanup", "the stale-token cleanup (stale-token cleanup)"),
        (_admin_action, "support", "support staff (support: support@keyward.test)"),
        (_admin_revoke_button, "support", "support staff (support: support@keyward.test)"),
    ],
)
def test_every_revocation_leaves_a_tombstone_without_the_secret(
    client, owner, staff, revoke, revoked_by, who
):
    created = issue_user_token(owner, name="laptop", scopes=["zones:read"])
    token = created.token

    revoke(client, created, owner, staff)

    assert not Token.objects.filter(pk=token.pk).exists()
    tombstone = RevokedToken.objects.get(token_id=token.pk)
    event = Event.objects.get(kind=EventKind.TOKEN_REVOKED, token_id=token.pk)
    assert tombstone.digest == token.digest
    assert (tombstone.name, tombstone.display, tombstone.type) == ("laptop", token.display, "user")
    assert tombstone.owner == owner
    assert tombstone.revoked_by == revoked_by
    assert tombstone.revoked_by_label.startswith(who)
    assert tombstone.revoked_at == event.created_at
    assert tombstone.previous_digest is None
    stored = [str(getattr(tombstone, field.attname)) for field in RevokedToken._meta.fields]
    assert not any(created.secret in value for value in stored)
    assert not any("zones:read" in value for value in stored)


def test_a_tombstone_holds_no_secret_and_no_permissions():
    assert {field.name for field in RevokedToken._meta.fields} == TOMBSTONE_FIELDS


def test_an_automation_token_tombstone_names_its_account(account, owner):
    created = issue_automation_token(account, name="deploy bot", creator=owner)
    token_revoke(actor=Actor.person(owner), token=created.token, revoked_by="superuser")
    tombstone = RevokedToken.objects.get(token_id=created.token.pk)
    assert (tombstone.account, tombstone.owner, tombstone.type) == (account, None, "automation")


def test_a_roll_in_its_grace_period_keeps_both_digests(owner):
    created = issue_user_token(owner)
    old_digest = created.token.digest
    rolled = token_roll(
        actor=Actor.person(owner), token=created.token, grace_period=timedelta(hours=1)
    )
    # `token` is the row as loaded before the roll: the tombstone reads the digests afresh.
    token_revoke(actor=Actor.person(owner), token=created.token, revoked_by="owner")
    tombstone = RevokedToken.objects.get()
    assert tombstone.digest == rolled.token.digest
    assert tombstone.previous_digest == old_digest


def test_a_previous_secret_past_its_grace_is_not_kept(owner):
    created = issue_user_token(owner)
    token_roll(actor=Actor.person(owner), token=created.token, grace_period=timedelta(hours=1))
    Token.objects.filter(pk=created.token.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(minutes=1)
    )
    token_revoke(actor=Actor.person(owner), token=created.token, revoked_by="owner")
    assert RevokedToken.objects.get().previous_digest is None


def test_revoking_twice_writes_one_tombstone(owner):
    created = issue_user_token(owner)
    assert token_revoke(actor=Actor.person(owner), token=created.token, revoked_by="owner")
    assert not token_revoke(actor=Actor.person(owner), token=created.token, revoked_by="owner")
    assert RevokedToken.objects.count() == 1


def test_a_leak_report_says_where_the_secret_was_found(owner):
    created = issue_user_token(owner)
    finding = Finding(url="https://github.com/acme/site/blob/main/.env", source="commit")
    credentials_revoke(credentials=[created.secret], findings=[finding])
    assert RevokedToken.objects.get().reason == (
        "Reported as leaked: found at https://github.com/acme/site/blob/main/.env (commit)"
    )


def test_a_legacy_key_imported_again_keeps_its_latest_tombstone(account, owner):
    key = "legacy-key-0123456789abc"
    first = issue_user_token(owner, name="old key", legacy_key=key)
    token_revoke(actor=Actor.person(owner), token=first.token, revoked_by="owner")
    again = issue_user_token(owner, name="old key again", legacy_key=key)
    token_revoke(actor=Actor.system("leak report"), token=again.token, revoked_by="leak_report")
    tombstone = RevokedToken.objects.get()
    assert (tombstone.name, tombstone.revoked_by) == ("old key again", "leak_report")
