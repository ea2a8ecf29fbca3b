"""Token services: create, change permissions, revoke; every validation error; events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.constants import Plan
from tests.factories import (
    AccountFactory,
    DomainFactory,
    UserFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tokens import crypto
from tokens.events import Actor
from tokens.kinds import Kind
from tokens.models import Event, Token
from tokens.services.change import token_update_permissions
from tokens.services.common import NotPermitted, SudoRequired, TokenLimitReached
from tokens.services.issue import token_create, token_create_check
from tokens.services.revoke import token_revoke
from tokens.validation import TokenValidationError

pytestmark = pytest.mark.django_db


def create_user_token(owner, **kwargs):
    return token_create(
        actor=Actor.person(owner), token_type="user", owner=owner, **{"name": "T", **kwargs}
    )


def field_errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --------------------------------------------------------------------------- create


def test_the_check_refuses_what_create_refuses_and_writes_nothing(account, owner):
    """token_create_check (the wizard's) is token_create's judgement without the write."""
    person = Actor.person(owner)
    with pytest.raises(TokenValidationError) as excinfo:
        token_create_check(actor=person, token_type="user", owner=owner, name=" ", scopes=["nope"])
    assert set(field_errors(excinfo)) == {"name", "scopes"}
    account.max_lifetime_days = 30
    account.save()
    with pytest.raises(TokenValidationError) as excinfo:  # the account's policy, as on create
        token_create_check(actor=person, token_type="automation", account=account, name="CI")
    assert excinfo.value.error_code == "policy_violation"
    new = token_create_check(actor=person, token_type="user", owner=owner, name="CI deploys")
    assert new.input.scopes == ["global"] and new.owner == owner and new.role == ""
    robot = token_create_check(
        actor=person,
        token_type="automation",
        account=account,
        name="Bot",
        expires_at=None,
        check_expiry=False,
    )
    assert robot.role == "engineer"  # the default role
    assert not Token.objects.exists() and not Event.objects.exists()


def test_defaults_are_global_all_resources_and_ninety_days(owner):
    created = create_user_token(owner, name="  Laptop  ")
    token = created.token
    assert token.name == "Laptop"
    assert token.scopes == ["global"]
    assert all(token.has_all(kind) for kind in Kind)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    assert crypto.is_well_formed(created.secret) and created.secret.startswith("kwu_")
    assert token.digest == crypto.digest(created.secret, settings.KEYWARD_TOKEN_PEPPERS[0])
    assert token.display == f"kwu_…{created.secret[-4:]}"


def test_create_logs_an_event_without_the_secret(owner):
    created = create_user_token(owner, name="CI")
    event = Event.objects.get(kind="token.created")
    assert event.token_id == created.token.pk and event.actor_user == owner
    assert created.secret not in f"{event.summary} {event.details}"
    assert created.secret[4:-6] not in f"{event.summary} {event.details}"


def test_expires_at_none_means_never(owner):
    assert create_user_token(owner, expires_at=None).token.expires_at is None


@pytest.mark.parametrize(
    ("today", "latest_allowed"),
    [
        (datetime(2027, 2, 28, 12, tzinfo=UTC), datetime(2037, 2, 28, 12, tzinfo=UTC)),
        (datetime(2028, 2, 29, 12, tzinfo=UTC), datetime(2038, 2, 28, 12, tzinfo=UTC)),
        (datetime(2027, 12, 31, 12, tzinfo=UTC), datetime(2037, 12, 31, 12, tzinfo=UTC)),
    ],
    ids=["28-february", "29-february", "31-december"],
)
def test_tokens_with_an_expiry_are_created_on_any_day(owner, today, latest_allowed):
    """Regression: on 29 February "ten years from now" was not a date, and creation failed."""
    with mock.patch("django.utils.timezone.now", return_value=today):
        default = create_user_token(owner).token
        in_a_month = create_user_token(owner, expires_at=today + timedelta(days=30)).token
        at_the_limit = create_user_token(owner, expires_at=latest_allowed).token
        with pytest.raises(TokenValidationError) as excinfo:
            create_user_token(owner, expires_at=latest_allowed + timedelta(days=1))
    assert default.expires_at == today + timedelta(days=90)
    assert in_a_month.expires_at == today + timedelta(days=30)
    assert at_the_limit.expires_at == latest_allowed
    assert "within 10 years" in field_errors(excinfo)["expires_at"][0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"scopes": "global"}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["everything"]}, "scopes"),
        ({"scopes": [3]}, "scopes"),
        ({"resources": ["zones"]}, "resources"),
        ({"resources": {"planets": "all"}}, "resources"),
        ({"resources": {"zones": "some"}}, "resources.zones"),
        ({"resources": {"zones": ["x"]}}, "resources.zones"),
        ({"resources": {"zones": [999_999]}}, "resources.zones"),
        ({"allowed_ips": ["10.0.0.300"]}, "allowed_ips"),
        ({"allowed_ips": "not an address"}, "allowed_ips"),
        ({"allowed_ips": [f"10.0.{n}.0/24" for n in range(51)]}, "allowed_ips"),
        ({"expires_at": datetime(2030, 1, 1)}, "expires_at"),  # naive
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at"),
        ({"expires_at": timezone.now() + timedelta(days=3700)}, "expires_at"),
        ({"tls_access": True}, "tls_access"),
    ],
)
def test_bad_input_is_refused_per_field_and_nothing_is_written(owner, kwargs, field):
    with pytest.raises(TokenValidationError) as excinfo:
        create_user_token(owner, **kwargs)
    assert field in field_errors(excinfo)
    assert all(message for message in field_errors(excinfo)[field])
    assert not Token.objects.exists() and not Event.objects.exists()


def test_unknown_token_type_is_refused(owner):
    with pytest.raises(TokenValidationError) as excinfo:
        token_create(actor=Actor.person(owner), token_type="robot", name="T", owner=owner)
    assert "type" in field_errors(excinfo)


def test_user_token_needs_an_owner_who_is_a_member_somewhere(owner):
    with pytest.raises(TokenValidationError):
        token_create(actor=Actor.system("t"), token_type="user", name="T")
    loner = UserFactory()
    with pytest.raises(TokenValidationError) as excinfo:
        create_user_token(loner)
    assert "__all__" in field_errors(excinfo)


def test_people_create_user_tokens_for_themselves_only(owner, account, member_factory):
    other = member_factory(account, "engineer")
    with pytest.raises(NotPermitted):
        token_create(actor=Actor.person(owner), token_type="user", name="T", owner=other)


def test_scopes_are_capped_by_the_owners_roles(account, member_factory):
    billing = member_factory(account, "billing")
    with pytest.raises(TokenValidationError) as excinfo:
        create_user_token(billing, scopes=["zones:write"])
    assert "scopes" in field_errors(excinfo)
    assert create_user_token(billing, scopes=["registrar:write"]).token.scopes == [
        "registrar:write"
    ]


def test_selected_resources_must_be_in_the_owners_accounts(owner, account):
    mine = ZoneFactory(account=account)
    foreign = ZoneFactory()
    with pytest.raises(TokenValidationError) as excinfo:
        create_user_token(owner, resources={"zones": [mine.pk, foreign.pk]})
    assert str(foreign.pk) in field_errors(excinfo)["resources.zones"][0]
    token = create_user_token(owner, resources={"zones": [mine.pk], "domains": "all"}).token
    assert not token.has_all(Kind.ZONES) and token.selected_ids(Kind.ZONES) == [mine.pk]
    assert token.has_all(Kind.DOMAINS)


def test_a_selection_is_written_once_and_not_read_back(owner, account):
    """A new token's selection: one INSERT per selected kind, no read of what it cannot
    have yet, and the event's snapshot lists exactly what was written."""
    zones = [ZoneFactory(account=account) for _ in range(3)]
    domain = DomainFactory(account=account)
    selected = {"zones": [zones[2].pk, zones[0].pk, zones[2].pk], "domains": [domain.pk]}
    with CaptureQueriesContext(connection) as captured:
        token = create_user_token(owner, resources=selected).token
    through = {Token.zones.through._meta.db_table, Token.domains.through._meta.db_table}
    statements = [query["sql"] for query in captured.captured_queries]
    touching = [sql for sql in statements if any(table in sql for table in through)]
    assert len(touching) == 2 and all(sql.startswith("INSERT") for sql in touching)
    assert not any("tokens_token" in sql for sql in statements if sql.startswith("UPDATE"))
    assert token.selected_ids(Kind.ZONES) == sorted([zones[0].pk, zones[2].pk])
    assert token.selected_ids(Kind.DOMAINS) == [domain.pk]
    snapshot = Event.objects.get(kind="token.created").details["permissions"]["resources"]
    assert snapshot == {
        **{str(kind): "all" for kind in Kind},
        "zones": sorted([zones[0].pk, zones[2].pk]),
        "domains": [domain.pk],
    }


def test_ip_allow_list_is_normalised(owner):
    token = create_user_token(
        owner, allowed_ips="203.0.113.7\n::ffff:198.51.100.0/120\n2001:db8::/32\n\n"
    ).token
    assert token.allowed_ips == ["203.0.113.7/32", "198.51.100.0/24", "2001:db8::/32"]


def test_automation_tokens_need_an_account_a_valid_role_and_a_superuser(account, member_factory):
    superuser, engineer = member_factory(account, "superuser"), member_factory(account, "engineer")
    with pytest.raises(TokenValidationError) as excinfo:
        token_create(actor=Actor.person(superuser), token_type="automation", name="CI")
    assert "account" in field_errors(excinfo)
    with pytest.raises(TokenValidationError) as excinfo:
        issue_automation_token(account, creator=superuser, role="superuser")
    assert "role" in field_errors(excinfo)
    with pytest.raises(NotPermitted):
        issue_automation_token(account, creator=engineer)
    with pytest.raises(TokenValidationError) as excinfo:
        issue_automation_token(account, creator=superuser, role="billing", scopes=["zones:read"])
    assert "scopes" in field_errors(excinfo)
    token = issue_automation_token(account, creator=superuser, tls_access=True).token
    assert token.role == "engineer" and token.tls_access and token.user is None
    assert token.created_by == superuser and token.display.startswith("kwa_")


def test_solo_plan_gives_automation_tokens_global_access_only(member_factory):
    solo = AccountFactory(plan=Plan.SOLO)
    superuser = member_factory(solo, "superuser")
    with pytest.raises(TokenValidationError) as excinfo:
        issue_automation_token(solo, creator=superuser, scopes=["zones:read"])
    assert "Upgrade" in field_errors(excinfo)["scopes"][0]
    zone = ZoneFactory(account=solo)
    with pytest.raises(TokenValidationError):
        issue_automation_token(solo, creator=superuser, resources={"zones": [zone.pk]})
    token = issue_automation_token(solo, creator=superuser).token
    assert token.scopes == ["global"] and all(token.has_all(kind) for kind in Kind)
    # User tokens choose scopes on every plan.
    assert issue_user_token(superuser, scopes=["zones:read"]).token.scopes == ["zones:read"]


def test_the_101st_active_token_is_refused(owner, account):
    for n in range(99):
        create_user_token(owner, name=f"t{n}")
    issue_automation_token(account, creator=owner)  # created by them: counts too
    with pytest.raises(TokenLimitReached) as excinfo:
        create_user_token(owner, name="one too many")
    assert excinfo.value.error_code == "token_limit_reached"
    assert Token.objects.count() == 100
    # Expired tokens do not count.
    Token.objects.filter(name="t0").update(expires_at=timezone.now() - timedelta(days=1))
    assert create_user_token(owner, name="fits again").token.pk


# --------------------------------------------------------------------------- update


def test_narrowing_needs_no_sudo_and_logs_before_and_after(owner, account):
    zone = ZoneFactory(account=account)
    created = create_user_token(owner, name="Wide")
    digest = created.token.digest
    token = token_update_permissions(
        actor=Actor.person(owner),
        token=created.token,
        name="Narrow",
        scopes=["zones:read"],
        resources={"zones": [zone.pk]},
        allowed_ips=["10.0.0.0/8"],
        sudo=False,
    )
    token.refresh_from_db()
    assert token.name == "Narrow" and token.scopes == ["zones:read"]
    assert token.selected_ids(Kind.ZONES) == [zone.pk] and token.digest == digest
    event = Event.objects.get(kind="token.updated")
    assert event.details["before"]["scopes"] == ["global"]
    assert event.details["after"]["resources"]["zones"] == [zone.pk]


@pytest.mark.parametrize(
    "change",
    [
        {"scopes": ["global"]},
        {"resources": {"zones": "all"}},
        {"allowed_ips": []},
        {"allowed_ips": ["11.0.0.0/8"]},
    ],
)
def test_widening_needs_sudo(owner, account, change):
    zone = ZoneFactory(account=account)
    token = create_user_token(
        owner, scopes=["zones:read"], resources={"zones": [zone.pk]}, allowed_ips=["10.0.0.0/8"]
    ).token
    arguments = {
        "name": "T",
        "scopes": ["zones:read"],
        "resources": {"zones": [zone.pk]},
        "allowed_ips": ["10.0.0.0/8"],
        **change,
    }
    with pytest.raises(SudoRequired):
        token_update_permissions(actor=Actor.person(owner), token=token, sudo=False, **arguments)
    token.refresh_from_db()
    assert token.scopes == ["zones:read"] and token.allowed_ips == ["10.0.0.0/8"]
    token_update_permissions(actor=Actor.person(owner), token=token, sudo=True, **arguments)


def test_update_validates_like_create(owner):
    token = create_user_token(owner).token
    with pytest.raises(TokenValidationError) as excinfo:
        token_update_permissions(
            actor=Actor.person(owner),
            token=token,
            name="",
            scopes=["global"],
            resources=None,
            allowed_ips=None,
            sudo=True,
        )
    assert "name" in field_errors(excinfo)
    with pytest.raises(TokenValidationError) as excinfo:
        token_update_permissions(
            actor=Actor.person(owner),
            token=token,
            name="T",
            scopes=["global"],
            resources={"domains": [DomainFactory().pk]},
            allowed_ips=None,
            sudo=True,
        )
    assert "resources.domains" in field_errors(excinfo)


def test_solo_plan_rule_is_the_same_for_create_and_update(member_factory):
    solo = AccountFactory(plan=Plan.SOLO)
    superuser = member_factory(solo, "superuser")
    zone = ZoneFactory(account=solo)
    messages = []
    for narrowed in ({"scopes": ["zones:read"]}, {"resources": {"zones": [zone.pk]}}):
        with pytest.raises(TokenValidationError) as excinfo:
            issue_automation_token(solo, creator=superuser, **narrowed)
        messages.append(field_errors(excinfo)["scopes"])
    token = issue_automation_token(solo, creator=superuser, scopes=[]).token
    assert token.scopes == ["global"]
    for narrowed in ({"scopes": ["zones:read"]}, {"resources": {"zones": [zone.pk]}}):
        with pytest.raises(TokenValidationError) as excinfo:
            token_update_permissions(
                actor=Actor.person(superuser),
                token=token,
                name="Bot",
                **{"scopes": [], "resources": None, "allowed_ips": [], **narrowed},
                sudo=True,
            )
        messages.append(field_errors(excinfo)["scopes"])
    assert all(message == messages[0] for message in messages)
    assert "'global'" in messages[0][0] and "Solo plan" in messages[0][0]
    for scopes in ([], ["global"], None):  # what the panel and the API may send
        updated = token_update_permissions(
            actor=Actor.person(superuser),
            token=token,
            name="Bot",
            scopes=scopes,
            resources=None,
            allowed_ips=[],
            sudo=False,
        )
        assert updated.scopes == ["global"] and all(updated.has_all(kind) for kind in Kind)


def test_solo_plan_refuses_resources_that_are_not_a_mapping(member_factory):
    solo = AccountFactory(plan=Plan.SOLO)
    superuser = member_factory(solo, "superuser")
    with pytest.raises(TokenValidationError) as excinfo:
        issue_automation_token(solo, creator=superuser, resources=["zones"])
    assert "scopes" in field_errors(excinfo)


# --------------------------------------------------------------------------- revoke


def test_revoke_deletes_the_row_and_logs_who_did_it_once(owner):
    token = create_user_token(owner, name="Gone").token
    token_revoke(actor=Actor.person(owner), token=token, revoked_by="owner")
    token_revoke(actor=Actor.person(owner), token=token, revoked_by="owner")
    assert not Token.objects.filter(pk=token.pk).exists()
    event = Event.objects.get(kind="token.revoked")
    assert event.details["revoked_by"] == "owner" and event.token_name == "Gone"
    with pytest.raises(ValueError):
        token_revoke(actor=Actor.person(owner), token=token, revoked_by="nobody")


def test_deleting_a_zone_removes_it_from_selections_without_widening(owner, account):
    zone = ZoneFactory(account=account)
    token = create_user_token(owner, resources={"zones": [zone.pk]}).token
    zone.delete()
    token.refresh_from_db()
    assert not token.has_all(Kind.ZONES) and token.selected_ids(Kind.ZONES) == []
