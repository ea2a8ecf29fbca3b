"""Account token policies (SPEC 15): which tokens they block, the preview, and saving them.

The rule itself is tokens.permissions.policy_violation(); this module applies it
to Token rows (creation, edit, lists, the preview) and holds the one service
that changes an account's policies. The API applies it to the authenticated
principal in tokens.api.access.authorize(), from the same query as the account.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, Membership
from tokens.events import Actor, event_record
from tokens.models import EventKind, Token, TokenType
from tokens.policy_rules import POLICY_LABELS, Policy, PolicyName, policy_message, policy_violation
from tokens.selectors import tokens_acting_in

LIFETIME_RANGE = (1, 3650)  # days, SPEC 15 (and the database constraint on Account)
IDLE_RANGE = (7, 730)

# The field of a token's form or service call that a creation-time refusal points at.
_POLICY_FIELDS: dict[str, str] = {
    PolicyName.MAX_LIFETIME: "expires_at",
    PolicyName.IP_ALLOW_LIST_REQUIRED: "allowed_ips",
}


@dataclass(frozen=True)
class Blocked:
    """A token is blocked in `account` by the policy `policy` (a PolicyName)."""

    account: Account
    policy: str

    @property
    def label(self) -> str:
        return POLICY_LABELS[self.policy]


def token_breaks(token: Token, policy: Policy, *, now: datetime) -> str | None:
    """The policy a stored token breaks (a PolicyName), or None.

    Allowed networks are judged from the address the token was last used from:
    a token never used has no address to judge (its next request will be).
    """
    if policy.is_off:
        return None
    return policy_violation(
        policy,
        token_type=token.type,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at or token.imported_at,  # legacy keys: since import
        allowed_ips=token.allowed_ips,
        now=now,
        client_ip=token.last_used_ip,
        check_network=token.last_used_ip is not None,
    )


def token_refusal(
    account: Account,
    token_type: str,
    created_at: datetime,
    expires_at: datetime | None,
    allowed_ips: Collection[str],
) -> tuple[str, str] | None:
    """(field, message) when a token being created or edited breaks a policy of `account`.

    Networks are left out: there is no request address to judge yet.
    """
    policy = Policy.of(account)
    broken = policy_violation(
        policy,
        token_type=token_type,
        created_at=created_at,
        expires_at=expires_at,
        last_used_at=None,
        allowed_ips=allowed_ips,
        now=created_at,
        check_network=False,
    )
    if broken is None:
        return None
    message = f"{POLICY_LABELS[broken]} ({account.name}): {policy_message(policy, broken)}"
    return _POLICY_FIELDS.get(broken, "__all__"), message


def edit_refusal(token: Token, *, allowed_ips: Collection[str]) -> tuple[str, str] | None:
    """A refusal when this edit of an automation token is what breaks a policy.

    A token already outside a policy stays editable (it is blocked at request
    time anyway); only a change that newly breaks one is refused.
    """
    assert token.account is not None  # an automation token always has one
    facts = (token.type, token.created_at, token.expires_at)
    new = token_refusal(token.account, *facts, allowed_ips)
    return None if new == token_refusal(token.account, *facts, token.allowed_ips) else new


def blocked_in(token: Token, accounts: Iterable[Account], *, now: datetime) -> list[Blocked]:
    """The accounts among `accounts` (those the token acts in) whose policies block it."""
    found = []
    for account in accounts:
        broken = token_breaks(token, Policy.of(account), now=now)
        if broken is not None:
            found.append(Blocked(account, broken))
    return found


def token_blocked_in(token: Token, *, now: datetime | None = None) -> list[Blocked]:
    """Where a token is blocked by policy: its account, or its owner's accounts (one query)."""
    now = now or timezone.now()
    if token.type == TokenType.AUTOMATION:
        assert token.account is not None  # an automation token always has one
        return blocked_in(token, [token.account], now=now)
    assert token.user_id is not None  # a user token always has an owner
    accounts = Account.objects.filter(memberships__user_id=token.user_id).order_by("name")
    return blocked_in(token, accounts, now=now)


def blocked_by_token(tokens: Sequence[Token], *, now: datetime) -> dict[int, list[Blocked]]:
    """For a table of tokens, where each one is blocked: one query whatever their number.

    Automation tokens come with their account (select_related); user tokens act
    in their owners' accounts, read once for all owners.
    """
    owners = {
        token.user_id
        for token in tokens
        if token.type == TokenType.USER and token.user_id is not None  # always, for user tokens
    }
    accounts_of: dict[int, list[Account]] = {}
    if owners:
        for membership in (
            Membership.objects.filter(user_id__in=owners)
            .select_related("account")
            .order_by("account__name")
        ):
            accounts_of.setdefault(membership.user_id, []).append(membership.account)
    result = {}
    for token in tokens:
        accounts: list[Account]
        if token.is_automation:
            assert token.account is not None  # an automation token always has one
            accounts = [token.account]
        else:
            assert token.user_id is not None  # a user token always has an owner
            accounts = accounts_of.get(token.user_id, [])
        result[token.pk] = blocked_in(token, accounts, now=now)
    return result


def policy_preview(account: Account, policy: Policy) -> list[tuple[Token, str]]:
    """The tokens acting in `account` that `policy` would block there, and which policy."""
    now = timezone.now()
    found = []
    for token in tokens_acting_in(account).order_by("name", "pk"):
        broken = token_breaks(token, policy, now=now)
        if broken is not None:
            found.append((token, broken))
    return found


def policy_json(policy: Policy) -> dict[str, Any]:
    """A policy for the event log's before and after."""
    return {
        "max_lifetime_days": policy.max_lifetime_days,
        "max_idle_days": policy.max_idle_days,
        "automation_requires_ip_allow_list": policy.automation_requires_ip_allow_list,
        "allowed_networks": list(policy.allowed_networks),
    }


def _check_ranges(policy: Policy) -> None:
    for value, (low, high), label in (
        (policy.max_lifetime_days, LIFETIME_RANGE, "max_lifetime_days"),
        (policy.max_idle_days, IDLE_RANGE, "max_idle_days"),
    ):
        if value is not None and not low <= value <= high:
            raise ValueError(f"{label} must be {low} to {high} days")


@transaction.atomic
def account_policies_update(*, actor: Actor, account: Account, policy: Policy) -> Account:
    """Set an account's token policies; logs before and after (nothing when unchanged).

    Tokens the new policies break are blocked in the account from their next
    request on, never revoked. The caller checked that the actor manages the
    account and is in sudo mode; `policy.allowed_networks` must be normalised
    networks (tokens.validation.clean_allowed_ips).
    """
    _check_ranges(policy)
    account = Account.objects.select_for_update().get(pk=account.pk)
    before = policy_json(Policy.of(account))
    after = policy_json(policy)
    if before == after:
        return account
    account.max_lifetime_days = policy.max_lifetime_days
    account.max_idle_days = policy.max_idle_days
    account.automation_requires_ip_allow_list = policy.automation_requires_ip_allow_list
    account.allowed_networks = list(policy.allowed_networks)
    account.save(
        update_fields=[
            "max_lifetime_days",
            "max_idle_days",
            "automation_requires_ip_allow_list",
            "allowed_networks",
        ]
    )
    event_record(
        kind=EventKind.POLICIES_CHANGED,
        actor=actor,
        account=account,
        summary=f"{actor.label or 'Someone'} changed the token policies of {account.name}",
        details={"before": before, "after": after},
    )
    return account


def idle_automation_tokens(now: datetime) -> list[Token]:
    """Automation tokens past their account's maximum idle time (revoked by the cleanup).

    Unused since creation (an imported legacy key: since its import) counts as idle,
    as for the two-year stale rule. One query per account that sets the policy.
    """
    found: list[Token] = []
    for account in Account.objects.filter(max_idle_days__isnull=False).order_by("pk"):
        assert account.max_idle_days is not None  # filtered on above
        cutoff = now - timedelta(days=account.max_idle_days)
        found.extend(
            Token.objects.annotate(
                last_activity=Coalesce("last_used_at", "imported_at", "created_at")
            )
            .filter(type=TokenType.AUTOMATION, account=account, last_activity__lte=cutoff)
            .select_related("account")
            .order_by("last_activity", "pk")
        )
    return found
