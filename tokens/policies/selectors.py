"""Which tokens an account's policies block (SPEC 15): at creation and edit, in the token
lists, in the preview, and the automation tokens past their maximum idle time.

The rule is tokens.policies.rules.policy_violation(); this module applies it to
Token rows. The API applies it to the authenticated principal (tokens.auth.bearer),
from the same query as the account.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, Membership
from tokens.models import Token, TokenType
from tokens.policies.rules import (
    POLICY_LABELS,
    Policy,
    PolicyName,
    policy_message,
    policy_violation,
    sso_violation,
)
from tokens.selectors import tokens_acting_in

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

    @property
    def text(self) -> str:
        """ "Maximum lifetime in Acme", "Needs SSO authorization for Acme" (SPEC 17)."""
        joint = "for" if self.policy == PolicyName.SSO_REQUIRED else "in"
        return f"{self.label} {joint} {self.account.name}"


def token_breaks(
    token: Token, policy: Policy, *, now: datetime, account_id: int | None = None
) -> str | None:
    """The policy a stored token breaks (a PolicyName) in the account `account_id`, or None.

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
        owner_has_second_factor=_owner_has_second_factor(token, policy),
        sso_authorized=_sso_authorized(token, policy, account_id),
    )


def _sso_authorized(token: Token, policy: Policy, account_id: int | None) -> bool:
    """Whether a user token is authorized for the account's SSO, read only where it is forced."""
    if not policy.require_sso or token.type != TokenType.USER or account_id is None:
        return True
    return any(item.account_id == account_id for item in token.sso_authorizations.all())


def _owner_has_second_factor(token: Token, policy: Policy) -> bool:
    """Whether a user token's owner has a second factor, read only where it matters."""
    if not policy.require_2fa or token.type != TokenType.USER or token.user is None:
        return True
    return token.user.has_second_factor


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
        broken = token_breaks(token, Policy.of(account), now=now, account_id=account.pk)
        if broken is not None:
            found.append(Blocked(account, broken))
    return found


def sso_needed_in(token: Token, accounts: Iterable[Account]) -> list[Account]:
    """The accounts among `accounts` (those the token acts in) that refuse it until it is
    authorized for their SSO, whatever other policy blocks it there first."""
    return [
        account
        for account in accounts
        if sso_violation(
            policy := Policy.of(account),
            token_type=token.type,
            sso_authorized=_sso_authorized(token, policy, account.pk),
        )
        is not None
    ]


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
    if any(account.force_sso for accounts in accounts_of.values() for account in accounts):
        # SPEC 17: each user token's SSO authorizations, read once for the table.
        users = [token for token in tokens if token.type == TokenType.USER]
        prefetch_related_objects(users, "sso_authorizations")
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
        broken = token_breaks(token, policy, now=now, account_id=account.pk)
        if broken is not None:
            found.append((token, broken))
    return found


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


def members_without_second_factor(account: Account) -> list[Membership]:
    """The members a two-factor requirement would shut out of `account` (the preview names them)."""
    return list(
        Membership.objects.filter(account=account, user__has_second_factor=False)
        .select_related("user")
        .order_by("user__email")
    )
