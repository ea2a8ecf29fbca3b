"""Rolling a token's secret with a grace period (SPEC 11), through the service and the API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import issue_automation_token, issue_user_token
from tokens.events import Actor
from tokens.models import Event, Token
from tokens.services.change import token_update_permissions
from tokens.services.common import TokenGone
from tokens.services.revoke import token_remove_from_account, token_revoke
from tokens.services.roll import token_roll
from tokens.validation import TokenValidationError

pytestmark = pytest.mark.django_db


def whoami(client, secret, **extra):
    return client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}", **extra)


def roll(client, path, secret, body=None):
    data = json.dumps(body) if body is not None else ""
    return client.post(
        f"/api/v1/tokens/{path}/roll",
        data=data,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


# --------------------------------------------------------------------------- the service


def test_grace_zero_kills_the_old_secret_at_once(client, owner):
    created = issue_user_token(owner)
    rolled = token_roll(actor=Actor.person(owner), token=created.token, grace_period=timedelta(0))
    assert rolled.token.pk == created.token.pk
    assert rolled.secret != created.secret and rolled.secret.startswith("kwu_")
    assert whoami(client, created.secret).status_code == 401
    answer = whoami(client, rolled.secret)
    assert answer.status_code == 200
    token = answer.json()["data"]["token"]
    assert token["id"] == created.token.pk
    assert token["display"] == f"kwu_…{rolled.secret[-4:]}"
    assert token["previous_secret_expires_at"] is None
    assert Token.objects.get().previous_digest is None


def test_a_short_grace_keeps_the_old_secret_working_until_it_ends(client, owner):
    created = issue_user_token(owner, name="Deploys", scopes=["zones:read"])
    rolled = token_roll(
        actor=Actor.person(owner), token=created.token, grace_period=timedelta(minutes=5)
    )
    old = whoami(client, created.secret)
    assert old.status_code == 200
    token = old.json()["data"]["token"]
    assert token["id"] == created.token.pk and token["scopes"] == ["zones:read"]
    assert token["previous_secret_expires_at"] is not None
    row = Token.objects.get()
    assert row.previous_secret_last_used_at is not None  # the old secret's use is recorded
    assert whoami(client, rolled.secret).status_code == 200

    Token.objects.update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    assert whoami(client, created.secret).status_code == 401
    assert whoami(client, rolled.secret).status_code == 200


def test_the_old_secret_stops_when_time_passes_the_grace(client, owner, monkeypatch):
    created = issue_user_token(owner)
    token_roll(actor=Actor.person(owner), token=created.token, grace_period=timedelta(hours=1))
    later = timezone.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr("tokens.auth.bearer.timezone.now", lambda: later)
    assert whoami(client, created.secret).status_code == 401


def test_a_second_roll_ends_the_first_previous_secret(client, owner):
    first = issue_user_token(owner)
    second = token_roll(actor=Actor.person(owner), token=first.token, grace_period=timedelta(1))
    third = token_roll(actor=Actor.person(owner), token=first.token, grace_period=timedelta(1))
    assert whoami(client, first.secret).status_code == 401
    assert whoami(client, second.secret).status_code == 200
    assert whoami(client, third.secret).status_code == 200


def test_rolling_an_automation_token_keeps_its_prefix_and_logs_the_grace(client, account, owner):
    created = issue_automation_token(account, creator=owner)
    rolled = token_roll(
        actor=Actor.person(owner), token=created.token, grace_period=timedelta(hours=24)
    )
    assert rolled.secret.startswith("kwa_")
    assert whoami(client, created.secret).status_code == 200
    event = Event.objects.filter(kind="token.rolled").get()
    assert event.details["grace_period"] == 86400
    assert event.account == account and event.token_id == created.token.pk
    assert event.token_display == f"kwa_…{rolled.secret[-4:]}"
    text = json.dumps(event.details) + event.summary
    assert created.secret not in text and rolled.secret not in text


def test_revoking_ends_both_secrets(client, owner):
    created = issue_user_token(owner)
    rolled = token_roll(actor=Actor.person(owner), token=created.token, grace_period=timedelta(1))
    token_revoke(actor=Actor.person(owner), token=Token.objects.get(), revoked_by="owner")
    assert whoami(client, created.secret).status_code == 401
    assert whoami(client, rolled.secret).status_code == 401


def test_a_roll_of_a_token_revoked_meanwhile_is_token_gone_and_writes_nothing(owner):
    """The roll loaded the token, then a revoke deleted it before the roll's write."""
    created = issue_user_token(owner)
    loaded = Token.objects.get(pk=created.token.pk)  # what the roll's caller holds
    token_revoke(actor=Actor.person(owner), token=created.token, revoked_by="owner")
    with pytest.raises(TokenGone):
        token_roll(actor=Actor.person(owner), token=loaded, grace_period=timedelta(hours=1))
    assert not Token.objects.exists()
    assert not Event.objects.filter(kind="token.rolled").exists()


def test_an_edit_of_a_token_revoked_meanwhile_is_token_gone(owner):
    created = issue_user_token(owner, name="Deploys")
    token_revoke(actor=Actor.person(owner), token=created.token, revoked_by="owner")
    with pytest.raises(TokenGone):
        token_update_permissions(
            actor=Actor.person(owner),
            token=created.token,
            name="Renamed",
            scopes=["zones:read"],
            resources=None,
            allowed_ips=None,
            sudo=True,
        )
    assert not Event.objects.filter(kind="token.updated").exists()


def test_removing_a_token_revoked_meanwhile_from_an_account_does_nothing(owner, account):
    created = issue_user_token(owner)
    token_revoke(actor=Actor.person(owner), token=created.token, revoked_by="owner")
    token_remove_from_account(actor=Actor.person(owner), token=created.token, account=account)
    assert not Event.objects.filter(kind="token.removed_from_account").exists()


@pytest.mark.parametrize("grace", [timedelta(seconds=-1), timedelta(days=7, seconds=1)])
def test_a_grace_period_out_of_range_is_refused(owner, grace):
    created = issue_user_token(owner)
    with pytest.raises(TokenValidationError):
        token_roll(actor=Actor.person(owner), token=created.token, grace_period=grace)
    assert Token.objects.get().digest == created.token.digest


def test_authentication_by_either_secret_takes_one_query(client, owner, django_assert_num_queries):
    created = issue_user_token(owner)
    rolled = token_roll(actor=Actor.person(owner), token=created.token, grace_period=timedelta(1))
    whoami(client, created.secret)
    whoami(client, rolled.secret)  # both last-use writes done: the warm path
    for secret in (created.secret, rolled.secret):
        with django_assert_num_queries(1):
            assert whoami(client, secret).status_code == 200


# --------------------------------------------------------------------------- the API


def test_self_roll_answers_201_with_the_new_secret(client, owner):
    created = issue_user_token(owner, scopes=["zones:read"])
    answer = roll(client, "self", created.secret, {"grace_period": 3600})
    assert answer.status_code == 201, answer.content
    data = answer.json()["data"]
    assert data["id"] == created.token.pk and data["token"].startswith("kwu_")
    assert data["display"] == f"kwu_…{data['token'][-4:]}"
    assert data["previous_secret_expires_at"] is not None
    assert data["previous_secret_last_used_at"] is None
    assert whoami(client, created.secret).status_code == 200
    assert whoami(client, data["token"]).status_code == 200


def test_self_roll_without_a_body_kills_the_old_secret(client, owner):
    created = issue_user_token(owner)
    answer = roll(client, "self", created.secret)
    assert answer.status_code == 201, answer.content
    assert whoami(client, created.secret).status_code == 401
    assert whoami(client, answer.json()["data"]["token"]).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"grace_period": -1}, {"grace_period": 604801}, {"grace": 60}, {"grace_period": "60"}],
)
def test_a_bad_roll_body_is_422_and_changes_nothing(client, owner, body):
    created = issue_user_token(owner)
    answer = roll(client, "self", created.secret, body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"
    assert whoami(client, created.secret).status_code == 200


def test_roll_by_id_needs_global(client, owner):
    target = issue_user_token(owner, name="target")
    narrow = issue_user_token(owner, name="narrow", scopes=["zones:read"])
    answer = roll(client, target.token.pk, narrow.secret)
    assert answer.status_code == 403
    assert answer.json()["required_scope"] == "global"
    assert whoami(client, target.secret).status_code == 200


def test_the_owner_rolls_their_own_user_token_by_id(client, owner):
    target = issue_user_token(owner, name="target")
    caller = issue_user_token(owner, name="caller")
    answer = roll(client, target.token.pk, caller.secret, {"grace_period": 0})
    assert answer.status_code == 201
    assert whoami(client, target.secret).status_code == 401


def test_a_superuser_rolls_the_accounts_automation_token(client, account, owner):
    target = issue_automation_token(account, creator=owner)
    caller = issue_user_token(owner)
    answer = roll(client, target.token.pk, caller.secret, {"grace_period": 60})
    assert answer.status_code == 201
    assert answer.json()["data"]["token"].startswith("kwa_")


def test_nobody_rolls_someone_elses_user_token_not_even_a_superuser(
    client, account, owner, member_factory
):
    member = member_factory(account, "engineer")
    target = issue_user_token(member)
    caller = issue_user_token(owner)
    answer = roll(client, target.token.pk, caller.secret)
    assert answer.status_code == 404
    assert whoami(client, target.secret).status_code == 200
    assert not Event.objects.filter(kind="token.rolled").exists()


def test_an_engineer_cannot_roll_an_automation_token(client, account, member_factory):
    engineer = member_factory(account, "engineer")
    target = issue_automation_token(account)
    caller = issue_user_token(engineer)
    assert roll(client, target.token.pk, caller.secret).status_code == 404
    assert whoami(client, target.secret).status_code == 200


def test_an_automation_token_rolls_only_itself(client, account, owner):
    caller = issue_automation_token(account, creator=owner)
    other = issue_automation_token(account, creator=owner, name="other")
    assert roll(client, other.token.pk, caller.secret).status_code == 404
    answer = roll(client, caller.token.pk, caller.secret)
    assert answer.status_code == 201


def test_a_foreign_superuser_cannot_roll(client, owner, member_factory):
    from tests.factories import AccountFactory

    other_account = AccountFactory()
    stranger = member_factory(other_account, "superuser")
    target = issue_automation_token(owner.memberships.get().account, creator=owner)
    caller = issue_user_token(stranger)
    assert roll(client, target.token.pk, caller.secret).status_code == 404


def test_token_json_lists_show_the_previous_secret_fields(client, owner):
    created = issue_user_token(owner)
    token_roll(actor=Actor.person(owner), token=created.token, grace_period=timedelta(hours=1))
    secret = issue_user_token(owner, name="lister").secret
    listed = client.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {secret}").json()["data"]
    rolled = next(item for item in listed if item["id"] == created.token.pk)
    assert rolled["previous_secret_expires_at"] is not None
    assert "previous_secret_last_used_at" in rolled
