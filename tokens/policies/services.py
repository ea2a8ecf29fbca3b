"""Saving an account's token policies (SPEC 15)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Account
from tokens.events import Actor, event_record
from tokens.models import EventKind
from tokens.policies.rules import IDLE_RANGE, LIFETIME_RANGE, Policy, policy_json, policy_message
from tokens.policies.selectors import policy_preview
from tokens.webhooks.constants import WebhookEventType
from tokens.webhooks.emit import token_webhook_json, webhook_emit, webhook_wanted


def _check_ranges(policy: Policy) -> None:
    for value, (low, high), label in (
        (policy.max_lifetime_days, LIFETIME_RANGE, "max_lifetime_days"),
        (policy.max_idle_days, IDLE_RANGE, "max_idle_days"),
    ):
        if value is not None and not low <= value <= high:
            raise ValueError(f"{label} must be {low} to {high} days")


@transaction.atomic(durable=True)
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
    blocked_before = _blocked_ids(account, Policy.of(account))
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
    _emit_blocked(account, policy, blocked_before)
    return account


def _blocked_ids(account: Account, policy: Policy) -> set[int] | None:
    """The tokens `policy` blocks in the account; None when no webhook wants to know."""
    if not webhook_wanted(account, WebhookEventType.TOKEN_BLOCKED):
        return None
    return {token.pk for token, _ in policy_preview(account, policy)}


def _emit_blocked(account: Account, policy: Policy, blocked_before: set[int] | None) -> None:
    """`token.blocked` for each token the new policies started refusing (SPEC 19)."""
    if blocked_before is None:
        return
    for token, name in policy_preview(account, policy):
        if token.pk not in blocked_before:
            webhook_emit(
                account,
                WebhookEventType.TOKEN_BLOCKED,
                {
                    "token": token_webhook_json(token),
                    "account": {"id": account.pk, "slug": account.slug, "name": account.name},
                    "policy": name,
                    "reason": policy_message(policy, name),
                },
            )
