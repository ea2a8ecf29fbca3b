"""What the create-token wizard shows of the accounts' token policies (SPEC 15).

An automation token must fit its account's policies: expiry choices beyond the
maximum lifetime are disabled (with the reason) and the IP allow-list is
marked required where the account says so. A user token is created anyway;
the wizard names the accounts whose policies would block it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Account
from tokens.forms import DEFAULT_EXPIRATION, EXPIRATION_CHOICES, TokenCreateForm
from tokens.models import TokenType
from tokens.policies.rules import POLICY_LABELS, Policy, PolicyName
from tokens.views.form import value_of


def _expiry_options(form: TokenCreateForm, limit: int | None) -> list[dict[str, Any]]:
    """The expiry choices with the day each one ends on, those beyond `limit` days (and
    "never") disabled."""
    now = timezone.now()
    options: list[dict[str, Any]] = [
        {
            "value": value,
            "label": label,
            "date": timezone.localdate(now + timedelta(days=int(value)))
            if value.isdigit()
            else None,
            "disabled": limit is not None
            and (value == "never" or (value.isdigit() and int(value) > limit)),
        }
        for value, label in EXPIRATION_CHOICES
    ]
    enabled = [option["value"] for option in options if not option["disabled"]]
    chosen = str(value_of(form, "expiration") or DEFAULT_EXPIRATION)
    if chosen not in enabled:
        days = [value for value in enabled if value.isdigit()]
        chosen = days[-1] if days else "custom"
    for option in options:
        option["checked"] = option["value"] == chosen
    return options


def _user_token_notes(policies: list[tuple[Account, Policy]]) -> list[dict[str, str]]:
    """Per account with a policy a user token must respect, what it asks."""
    notes = []
    for account, policy in policies:
        if policy.max_lifetime_days is not None:
            notes.append(
                {
                    "account": account.name,
                    "policy": POLICY_LABELS[PolicyName.MAX_LIFETIME],
                    "text": f"{policy.max_lifetime_days} days: a token expiring later, or "
                    "never, is blocked there.",
                }
            )
        if policy.max_idle_days is not None:
            notes.append(
                {
                    "account": account.name,
                    "policy": POLICY_LABELS[PolicyName.MAX_IDLE],
                    "text": f"blocked there after {policy.max_idle_days} days without use.",
                }
            )
        if policy.allowed_networks:
            notes.append(
                {
                    "account": account.name,
                    "policy": POLICY_LABELS[PolicyName.ALLOWED_NETWORKS],
                    "text": "works there only from " + ", ".join(policy.allowed_networks) + ".",
                }
            )
    return notes


def policy_context(
    form: TokenCreateForm, token_type: str, accounts: list[Account]
) -> dict[str, Any]:
    """The wizard's context about policies, for the account(s) the token would act in."""
    policies = [(account, Policy.of(account)) for account in accounts]
    policies = [(account, policy) for account, policy in policies if not policy.is_off]
    limit = None
    allow_list_required = False
    if token_type == TokenType.AUTOMATION and policies:
        policy = policies[0][1]
        limit = policy.max_lifetime_days
        allow_list_required = policy.automation_requires_ip_allow_list
    if limit is not None:
        latest_day = timezone.localdate() + timedelta(days=limit - 1)
        form.fields["expires_on"].widget.attrs["max"] = latest_day.isoformat()
    return {
        "expiry_options": _expiry_options(form, limit),
        "lifetime_limit": limit,
        "policy_account": policies[0][0] if policies else None,
        "allow_list_required": allow_list_required,
        "user_policy_notes": _user_token_notes(policies) if token_type == TokenType.USER else [],
    }
