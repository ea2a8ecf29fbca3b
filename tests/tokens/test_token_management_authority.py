"""Managing another token by id follows the calling token's own reach (SPEC 4, 7, 11, 13, 15).

`DELETE /tokens/{id}`, `POST /tokens/{id}/roll` and `GET /tokens/{id}/usage` are the
operation `manage_tokens` in the target token's account: the caller must act there
(not removed, not blocked by a policy), hold `global` on every resource with no
record rules, and (for others' tokens) belong to a superuser of that account. The
table below is every kind of confined caller against every route and target; a
refusal changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, User
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    UserFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tests.tokens.conftest import call, set_policy
from tokens.events import Actor
from tokens.models import Token
from tokens.removals.models import TokenRemoval
from tokens.services.revoke import token_remove_from_account
from tokens.services.roll import token_roll

pytestmark = pytest.mark.django_db

OUTSIDE = "192.0.2.1"  # outside 10.0.0.0/8, the allow-lists of this module
ROUTES = {
    "revoke": ("DELETE", "/tokens/{}", None),
    "roll": ("POST", "/tokens/{}/roll", {"grace_period": 0}),
    "usage": ("GET", "/tokens/{}/usage", None),
}


@dataclass
class World:
    acme: Account
    other: Account
    boss: User  # superuser of Acme and of Other
    member: User  # engineer of Acme only


@pytest.fixture
def world() -> World:
    acme = AccountFactory(name="Acme", slug="acme")
    other = AccountFactory(name="Other", slug="other")
    boss, member = UserFactory(), UserFactory()
    MembershipFactory(user=boss, account=acme, role="superuser")
    MembershipFactory(user=boss, account=other, role="superuser")
    MembershipFactory(user=member, account=acme, role="engineer")
    ZoneFactory(account=acme, name="acme.example")
    return World(acme, other, boss, member)


def manage(client, action: str, token_id: int, secret: str, **extra):
    """One of the three `{id}` routes, as a client calls it."""
    method, path, body = ROUTES[action]
    return call(client, method, path.format(token_id), secret, body, **extra)


def snapshot(token_id: int) -> tuple | None:
    """What a refused request must leave as it was: the row, both digests, its removals."""
    row = Token.objects.filter(pk=token_id).values_list("digest", "previous_digest").first()
    removals = sorted(TokenRemoval.objects.filter(token_id=token_id).values_list("account_id"))
    return None if row is None else (*row, removals)


def automation_target(world: World) -> Token:
    return issue_automation_token(world.acme, creator=world.boss, name="Acme CI").token


def members_target(world: World) -> Token:
    return issue_user_token(world.member, name="Member's").token


def own_target(world: World) -> Token:
    """The boss's other user token: it acts in Acme and in Other."""
    return issue_user_token(world.boss, name="Sibling").token


TARGETS = {"automation": automation_target, "member": members_target, "own": own_target}


# --------------------------------------------------------------------------- callers
# Each returns the caller's secret and the request's extra WSGI keys; all are the
# boss's unrestricted `global` user tokens unless the case says otherwise.


def unrestricted(world: World):
    return issue_user_token(world.boss, name="Caller").secret, {}


def previous_secret_in_grace(world: World):
    created = issue_user_token(world.boss, name="Caller")
    token_roll(actor=Actor.person(world.boss), token=created.token, grace_period=timedelta(hours=1))
    return created.secret, {}  # the old secret: the same token until the grace ends


def removed_from_acme(world: World):
    created = issue_user_token(world.boss, name="Caller")
    token_remove_from_account(
        actor=Actor.person(world.boss), token=created.token, account=world.acme
    )
    return created.secret, {}


def blocked_by_max_lifetime(world: World):
    secret = issue_user_token(world.boss, name="Caller", expires_at=None).secret
    set_policy(world.acme, max_lifetime_days=30)
    return secret, {}


def blocked_by_max_idle(world: World):
    created = issue_user_token(world.boss, name="Caller")
    Token.objects.filter(pk=created.token.pk).update(
        created_at=timezone.now() - timedelta(days=40), last_used_at=None
    )
    set_policy(world.acme, max_idle_days=7)
    return created.secret, {}


def blocked_by_ip_allow_list_required(world: World):
    # The policy binds automation tokens only; an automation token manages no other token.
    secret = issue_automation_token(world.acme, creator=world.boss, name="Caller").secret
    set_policy(world.acme, automation_requires_ip_allow_list=True)
    return secret, {}


def blocked_by_allowed_networks(world: World):
    secret = issue_user_token(world.boss, name="Caller").secret
    set_policy(world.acme, allowed_networks=["10.0.0.0/8"])
    return secret, {"REMOTE_ADDR": OUTSIDE}


def outside_its_ip_allow_list(world: World):
    secret = issue_user_token(world.boss, name="Caller", allowed_ips=["10.0.0.0/8"]).secret
    return secret, {"REMOTE_ADDR": OUTSIDE}


def narrowed_by_resources(world: World):
    zone = world.acme.zones.get()
    return issue_user_token(world.boss, name="Caller", resources={"zones": [zone.pk]}).secret, {}


def narrowed_by_record_rules(world: World):
    rules = [{"name": "_acme-challenge", "types": ["TXT"]}]
    return issue_user_token(world.boss, name="Caller", record_rules=rules).secret, {}


def global_read(world: World):
    return issue_user_token(world.boss, name="Caller", scopes=["global:read"]).secret, {}


def expired(world: World):
    created = issue_user_token(world.boss, name="Caller")
    Token.objects.filter(pk=created.token.pk).update(expires_at=timezone.now() - timedelta(1))
    return created.secret, {}


NOT_FOUND = (404, "not_found", None)
SCOPE = (403, "insufficient_scope", "global")
INVALID = (401, "invalid_token", None)
MAX_LIFETIME, MAX_IDLE, NETWORKS = (
    (403, "policy_violation", name) for name in ("max_lifetime", "max_idle", "allowed_networks")
)

ALLOWED = {"revoke": 204, "roll": 201, "usage": 200}

# caller -> what every route answers it, on every target (None: allowed).
CALLERS = {
    "unrestricted global": (unrestricted, None),
    "previous secret in grace": (previous_secret_in_grace, None),
    "removed from Acme": (removed_from_acme, NOT_FOUND),
    "blocked by max_lifetime": (blocked_by_max_lifetime, MAX_LIFETIME),
    "blocked by max_idle": (blocked_by_max_idle, MAX_IDLE),
    "blocked by ip_allow_list_required": (blocked_by_ip_allow_list_required, NOT_FOUND),
    "blocked by allowed_networks": (blocked_by_allowed_networks, NETWORKS),
    "outside its IP allow-list": (outside_its_ip_allow_list, INVALID),
    "narrowed by resources": (narrowed_by_resources, SCOPE),
    "narrowed by record rules": (narrowed_by_record_rules, SCOPE),
    "global:read": (global_read, SCOPE),
    "expired": (expired, INVALID),
}


def expected_answer(caller: str, target: str, action: str):
    refusal = CALLERS[caller][1]
    if action == "roll" and target == "member" and refusal != INVALID:
        return NOT_FOUND  # someone else's user token is never rolled (SPEC 11)
    return refusal


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("caller", list(CALLERS))
def test_token_management_table(client, world, caller, target, action):
    token = TARGETS[target](world)
    secret, extra = CALLERS[caller][0](world)
    before = snapshot(token.pk)

    answer = manage(client, action, token.pk, secret, **extra)

    refusal = expected_answer(caller, target, action)
    if refusal is None:
        assert answer.status_code == ALLOWED[action], answer.content
        if action == "revoke":
            assert snapshot(token.pk) is None  # acting only where the caller manages: revoked
        elif action == "roll":
            assert snapshot(token.pk)[0] != before[0]
            assert answer.json()["data"]["id"] == token.pk
        else:
            assert answer.json()["data"]["days"] == 30
            assert snapshot(token.pk) == before
        return
    status, code, detail = refusal
    body = answer.json()
    assert (answer.status_code, body["error"]) == (status, code), body
    if code == "insufficient_scope":
        assert body["required_scope"] == detail
        assert 'scope="global"' in answer["WWW-Authenticate"]
    if code == "policy_violation":
        assert body["policy"] == detail and "Acme" in body["message"]
    assert "token" not in body  # no secret minted
    assert snapshot(token.pk) == before


# --------------------------------------------------------------------------- beyond the table


def member_in_two_accounts(world: World) -> tuple[Token, str]:
    """The member also works for Other; their token acts in Acme and Other."""
    MembershipFactory(user=world.member, account=world.other, role="engineer")
    soon = timezone.now() + timedelta(days=10)  # within any maximum lifetime set below
    created = issue_user_token(world.member, name="Member's", expires_at=soon)
    return created.token, created.secret


def zones_status(client, secret: str, account: Account) -> int:
    return call(client, "GET", f"/accounts/{account.pk}/zones", secret).status_code


def test_a_member_in_several_accounts_is_removed_from_the_callers_account_only(client, world):
    elsewhere = AccountFactory(name="Elsewhere")  # the boss does not manage it
    MembershipFactory(user=world.member, account=elsewhere, role="engineer")
    created = issue_user_token(world.member, name="Member's")
    caller = issue_user_token(world.boss, name="Caller").secret

    assert manage(client, "revoke", created.token.pk, caller).status_code == 204

    assert Token.objects.filter(pk=created.token.pk).exists()
    assert list(TokenRemoval.objects.values_list("token_id", "account_id")) == [
        (created.token.pk, world.acme.pk)
    ]
    assert zones_status(client, created.secret, world.acme) == 404
    assert zones_status(client, created.secret, elsewhere) == 200


@pytest.mark.parametrize("confinement", ["removed", "blocked"])
def test_a_caller_kept_out_of_one_account_removes_instead_of_revoking(client, world, confinement):
    """The boss manages Acme and Other, but this token of theirs may not act in Other:
    the member's token, acting in both, is removed from Acme only."""
    target, target_secret = member_in_two_accounts(world)
    created = issue_user_token(world.boss, name="Caller", expires_at=None)
    if confinement == "removed":
        token_remove_from_account(
            actor=Actor.person(world.boss), token=created.token, account=world.other
        )
    else:
        set_policy(world.other, max_lifetime_days=30)
    other_ci = issue_automation_token(world.other, creator=world.boss, name="Other CI").token
    before = snapshot(other_ci.pk)

    assert manage(client, "revoke", target.pk, created.secret).status_code == 204

    assert Token.objects.filter(pk=target.pk).exists()
    assert zones_status(client, target_secret, world.other) == 200
    assert zones_status(client, target_secret, world.acme) == 404
    # Other's own tokens stay out of its reach.
    refused = manage(client, "roll", other_ci.pk, created.secret)
    assert refused.status_code == (404 if confinement == "removed" else 403)
    assert snapshot(other_ci.pk) == before


@pytest.mark.parametrize("action", list(ALLOWED))
def test_a_sibling_that_works_where_the_caller_is_removed_is_out_of_reach(client, world, action):
    """Removed from Other only, a token may not reach the owner's sibling that works there."""
    sibling = own_target(world)
    created = issue_user_token(world.boss, name="Caller")
    token_remove_from_account(
        actor=Actor.person(world.boss), token=created.token, account=world.other
    )
    before = snapshot(sibling.pk)

    assert manage(client, action, sibling.pk, created.secret).status_code == 404
    assert snapshot(sibling.pk) == before

    # Once the sibling is out of Other too, the caller reaches it everywhere it acts.
    token_remove_from_account(actor=Actor.person(world.boss), token=sibling, account=world.other)
    assert manage(client, action, sibling.pk, created.secret).status_code == ALLOWED[action]


@pytest.mark.parametrize("action", list(ALLOWED))
def test_a_sibling_acting_nowhere_needs_only_the_unrestricted_grant(client, action):
    loner = UserFactory()
    membership = MembershipFactory(user=loner, account=AccountFactory())
    sibling = issue_user_token(loner, name="Sibling").token
    narrowed = issue_user_token(loner, name="Narrowed", scopes=["global:read"]).secret
    caller = issue_user_token(loner, name="Caller").secret
    membership.delete()  # a member of no account now: their tokens act nowhere
    before = snapshot(sibling.pk)
    refused = manage(client, action, sibling.pk, narrowed)
    assert (refused.status_code, refused.json()["required_scope"]) == (403, "global")
    assert snapshot(sibling.pk) == before
    assert manage(client, action, sibling.pk, caller).status_code == ALLOWED[action]


@pytest.mark.parametrize("action", list(ALLOWED))
def test_a_billing_or_user_member_manages_their_own_tokens_only(client, world, action):
    viewer = UserFactory()
    MembershipFactory(user=viewer, account=world.acme, role="billing")
    sibling = issue_user_token(viewer, name="Sibling").token
    caller = issue_user_token(viewer, name="Caller").secret
    automation = automation_target(world)
    assert manage(client, action, automation.pk, caller).status_code == 404
    assert manage(client, action, sibling.pk, caller).status_code == ALLOWED[action]


@pytest.mark.parametrize("narrowed_by", ["resources", "record_rules", "scopes"])
def test_a_narrowed_token_still_manages_itself_by_id(client, world, narrowed_by):
    narrowing = {
        "resources": {"zones": [world.acme.zones.get().pk]},
        "record_rules": [{"name": "www"}],
        "scopes": ["zones:read"],
    }
    created = issue_user_token(world.boss, name="Narrowed", **{narrowed_by: narrowing[narrowed_by]})
    if narrowed_by == "scopes":  # as ever: by id, even itself needs `global`
        assert manage(client, "roll", created.token.pk, created.secret).status_code == 403
        return
    assert manage(client, "usage", created.token.pk, created.secret).status_code == 200
    rolled = manage(client, "roll", created.token.pk, created.secret)
    assert rolled.status_code == 201
    new_secret = rolled.json()["data"]["token"]
    assert manage(client, "revoke", created.token.pk, new_secret).status_code == 204
    assert not Token.objects.filter(pk=created.token.pk).exists()


def test_a_refusal_is_counted_as_denied(client, world):
    target = automation_target(world)
    created = issue_user_token(world.boss, name="Caller", scopes=["global:read"])
    assert manage(client, "roll", target.pk, created.secret).status_code == 403
    usage = call(client, "GET", "/tokens/self/usage", created.secret).json()["data"]
    tokens = next(row for row in usage["operations"] if row["operation"] == "tokens")
    assert (tokens["allowed"], tokens["denied"]) == (1, 1)  # this read, and the refused roll
    assert usage["denials"][0]["required_scope"] == "global"


def test_the_explainer_says_a_narrowed_token_manages_no_tokens(client, world):
    rules = [{"name": "_acme-challenge", "types": ["TXT"]}]
    for narrowed, allowed in (
        (issue_user_token(world.boss, record_rules=rules), False),
        (issue_user_token(world.boss, name="Full"), True),
    ):
        answer = call(client, "GET", "/tokens/self/permissions", narrowed.secret).json()["data"]
        acme = next(a for a in answer["accounts"] if a["account"]["id"] == world.acme.pk)
        manage_tokens = acme["operations"]["manage_tokens"]
        assert manage_tokens["allowed"] is allowed
        if not allowed:
            assert manage_tokens == {
                "allowed": False,
                "reason": "scope",
                "required_scope": "global",
            }
        # The token page asks the same decide() (SPEC 13).
        client.force_login(world.boss)
        page = client.get(reverse("tokens:detail", args=[narrowed.token.pk])).content.decode()
        refused = "<li><strong>Manage account tokens and members</strong>: It needs" in page
        assert refused is not allowed
        assert ("<li>✓ Manage account tokens and members</li>" in page) is allowed


def test_managing_by_id_costs_a_few_queries(client, world, django_assert_max_num_queries):
    target = automation_target(world)
    caller = issue_user_token(world.boss, name="Caller").secret
    manage(client, "usage", target.pk, caller)  # first use writes last_used
    # authentication, the target, the caller's standing in its account, the usage (2)
    with django_assert_max_num_queries(5):
        assert manage(client, "usage", target.pk, caller).status_code == 200
