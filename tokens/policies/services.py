"""Saving an account's token policies (SPEC 15)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Account
from tokens.events import Actor, event_record
from tokens.models import EventKind
from tokens.policies.rules import IDLE_RANGE, LIFETIME_RANGE, Policy, policy_json


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
    account.require_2fa = policy.require_2fa
    account.save(
        update_fields=[
            "max_lifetime_days",
            "max_idle_days",
            "automation_requires_ip_allow_list",
            "allowed_networks",
            "require_2fa",
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
