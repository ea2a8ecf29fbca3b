"""Account token policies (SPEC 15) as a pure rule: which policy of an account a token breaks.

The request path (tokens.auth.bearer), the services (creation and edit) and the panel ask
`policy_violation()`; tokens.policies.selectors applies it to Token rows and
tokens.policies.services saves an account's policies.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tokens.permissions import ip_allowed


class PolicyName(StrEnum):
    """An account token policy (SPEC 15), as named in the API's policy_violation answers."""

    MAX_LIFETIME = "max_lifetime"
    MAX_IDLE = "max_idle"
    IP_ALLOW_LIST_REQUIRED = "ip_allow_list_required"
    ALLOWED_NETWORKS = "allowed_networks"
    TWO_FACTOR_REQUIRED = "two_factor_required"
    SSO_REQUIRED = "sso_required"


POLICY_LABELS: dict[str, str] = {
    PolicyName.MAX_LIFETIME: "Maximum lifetime",
    PolicyName.MAX_IDLE: "Maximum idle time",
    PolicyName.IP_ALLOW_LIST_REQUIRED: "Automation tokens need an IP allow-list",
    PolicyName.ALLOWED_NETWORKS: "Allowed networks",
    PolicyName.TWO_FACTOR_REQUIRED: "Members need two-factor authentication",
    PolicyName.SSO_REQUIRED: "Needs SSO authorization",
}


@dataclass(frozen=True, slots=True)
class Policy:
    """An account's token policies; the default is every policy off."""

    max_lifetime_days: int | None = None
    max_idle_days: int | None = None
    automation_requires_ip_allow_list: bool = False
    allowed_networks: tuple[str, ...] = ()
    # SPEC 16: a member's user tokens work in the account only while the member has a
    # second factor (automation tokens are unaffected).
    require_2fa: bool = False
    # SPEC 17 (force SSO): a member's user token works in the account only once its owner
    # authorized it for the account's SSO. Set on the SSO page, not with the policies.
    require_sso: bool = False

    @property
    def is_off(self) -> bool:
        return self == NO_POLICY

    @classmethod
    def of(cls, account: Any) -> Policy:
        """The policy stored on an account row (accounts.models.Account)."""
        policy = cls(
            max_lifetime_days=account.max_lifetime_days,
            max_idle_days=account.max_idle_days,
            automation_requires_ip_allow_list=bool(account.automation_requires_ip_allow_list),
            allowed_networks=tuple(account.allowed_networks or ()),
            require_2fa=bool(account.require_2fa),
            require_sso=bool(account.force_sso),
        )
        return NO_POLICY if policy == NO_POLICY else policy

    def latest_expiry(self, created_at: datetime) -> datetime | None:
        """The latest expiry a token created at `created_at` may have (None: no limit)."""
        if self.max_lifetime_days is None:
            return None
        return created_at + timedelta(days=self.max_lifetime_days)


NO_POLICY = Policy()

LIFETIME_RANGE = (1, 3650)  # days, SPEC 15 (and the database constraint on Account)
IDLE_RANGE = (7, 730)


def policy_json(policy: Policy) -> dict[str, Any]:
    """A policy for the event log's before and after."""
    return {
        "max_lifetime_days": policy.max_lifetime_days,
        "max_idle_days": policy.max_idle_days,
        "automation_requires_ip_allow_list": policy.automation_requires_ip_allow_list,
        "allowed_networks": list(policy.allowed_networks),
        "require_2fa": policy.require_2fa,
    }


def policy_message(policy: Policy, name: str) -> str:
    """Why a token breaks `name` of `policy`, in words for people and API clients."""
    if name == PolicyName.MAX_LIFETIME:
        return (
            f"The account allows tokens a maximum lifetime of {policy.max_lifetime_days} days "
            "(and no token that never expires)."
        )
    if name == PolicyName.MAX_IDLE:
        return (
            f"The account blocks tokens unused for {policy.max_idle_days} days (maximum idle time)."
        )
    if name == PolicyName.IP_ALLOW_LIST_REQUIRED:
        return "The account requires automation tokens to have an IP allow-list."
    if name == PolicyName.TWO_FACTOR_REQUIRED:
        return (
            "The account requires two-factor authentication: the token's owner has no second "
            "factor. Add one on the Security page (/security/) and the token works again."
        )
    if name == PolicyName.SSO_REQUIRED:
        return (
            "The account requires single sign-on: the token's owner has not authorized it "
            "for the account's SSO. Sign in with SSO, then press Authorize for SSO on the "
            "token's page, and the token works here."
        )
    return "The account allows tokens only from its allowed networks."


def policy_violation(
    policy: Policy,
    *,
    token_type: str,
    created_at: datetime,
    expires_at: datetime | None,
    last_used_at: datetime | None,
    allowed_ips: Collection[str],
    now: datetime,
    client_ip: str | None = None,
    check_network: bool = True,
    owner_has_second_factor: bool = True,
    sso_authorized: bool = True,
) -> str | None:
    """The first policy of an account that a token breaks there (a PolicyName), or None.

    In order: maximum lifetime (the token may not expire later than that many
    days after its creation, and never-expiring tokens break it), maximum idle
    time (unused that long, or never used and created that long ago, counted
    to the exact moment), the IP allow-list automation tokens need, and the
    allowed networks `client_ip` must fall in (an unknown address, None, falls
    in none), and a second factor for the owner of a user token where the account
    requires two-factor authentication (SPEC 16), and the SSO authorization of a user
    token where the account forces single sign-on (SPEC 17). `check_network=False` leaves
    networks out: at creation or in a preview there is no request address to judge.
    """
    latest = policy.latest_expiry(created_at)  # None: no maximum lifetime
    if latest is not None and (expires_at is None or expires_at > latest):
        return PolicyName.MAX_LIFETIME
    if policy.max_idle_days is not None:
        since = last_used_at or created_at
        if now - since >= timedelta(days=policy.max_idle_days):
            return PolicyName.MAX_IDLE
    if policy.automation_requires_ip_allow_list and token_type == "automation" and not allowed_ips:
        return PolicyName.IP_ALLOW_LIST_REQUIRED
    outside = client_ip is None or not ip_allowed(client_ip, policy.allowed_networks)
    if check_network and policy.allowed_networks and outside:
        return PolicyName.ALLOWED_NETWORKS
    if policy.require_2fa and token_type == "user" and not owner_has_second_factor:
        return PolicyName.TWO_FACTOR_REQUIRED
    return sso_violation(policy, token_type=token_type, sso_authorized=sso_authorized)


def sso_violation(policy: Policy, *, token_type: str, sso_authorized: bool) -> str | None:
    """SSO_REQUIRED when the account forces single sign-on and this user token is not
    authorized for it (SPEC 17), else None: the last rule of policy_violation(), also
    asked alone where a page must say so even when another policy blocks the token first.
    """
    if policy.require_sso and token_type == "user" and not sso_authorized:
        return PolicyName.SSO_REQUIRED
    return None
