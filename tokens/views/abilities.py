"""The token page's "What it can do" (SPEC 13): the whole truth, per account, in words.

Every answer comes from elsewhere: permissions.decide() (through explain()) says which
operations the grant allows, the selection says where, the record rules and the IP
allow-list narrow it, and the account's policies (tokens.policies.selectors) may block
it there. This module only puts them side by side, so that an operation allowed by the
scopes but with nothing selected in the account is never shown as something it may do.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from accounts.models import Account
from accounts.roles import BILLING_READ, MANAGE_TOKENS
from tokens.kinds import BY_KIND, OPERATION_KIND, Kind
from tokens.models import Token
from tokens.permissions import SCOPE_DESCRIPTIONS, Decision, Grant, Outcome, selection_is_total
from tokens.policies.rules import POLICY_LABELS, Policy, PolicyName, policy_message
from tokens.policies.selectors import Blocked
from tokens.records.rules import record_rules_text
from tokens.usage.rules import ACCOUNTS_OPERATION, TOKENS_OPERATION, DenialReason
from tokens.usage.selectors import AccountExplanation

OPERATION_LABELS: dict[str, str] = {
    **{op: text for op, text in SCOPE_DESCRIPTIONS.items() if op not in ("global", "global:read")},
    BILLING_READ: "Read billing details",
    MANAGE_TOKENS: "Manage account tokens and members",
    TOKENS_OPERATION: "Token routes (whoami, tokens)",
    ACCOUNTS_OPERATION: "List its accounts",
}

# Why a request was refused (tokens.usage.rules.DenialReason), in words.
DENIAL_WORDS: dict[str, str] = {
    DenialReason.SCOPE: "No scope of the token covers it",
    DenialReason.ROLE: "The role does not allow it",
    DenialReason.PLAN: "The account's plan does not allow it",
    DenialReason.POLICY: "Blocked by the account's policy",
    DenialReason.NOT_IN_ACCOUNT: "The token does not act in that account",
    DenialReason.NOT_SELECTED: "Outside the resources it selects",
    DenialReason.RECORD_NOT_ALLOWED: "Outside its record rules",
}


def operation_label(operation: str) -> str:
    return OPERATION_LABELS.get(operation, operation)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Refusal:
    label: str
    reason: str


@dataclass
class Ability:
    """What the token may do in one account, and where, in words."""

    account: Account
    role: str
    allowed: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # its resources, records and addresses
    blocked: str = ""  # the policy that blocks it here, in words ("" when none)
    # SPEC 17: refused here until it is authorized for the account's SSO (it may do nothing).
    needs_sso: bool = False
    # Why it can do nothing here, when the scopes allow something but nothing is selected.
    nothing_selected: str = ""


def _reason(decision: Decision, explanation: AccountExplanation, token: Token) -> str:
    """Why `decision` refuses, in words."""
    role = explanation.role
    if decision.outcome is Outcome.ROLE:
        whose = "The token's role" if token.is_automation else "The owner's role"
        return f"{whose} ({role}) in {explanation.account.name} does not allow it."
    if decision.outcome is Outcome.PLAN:
        return (
            f"On the {explanation.account.get_plan_display()} plan automation tokens cannot have "
            "chosen scopes: upgrade the account, or create the token again."
        )
    if decision.operation == MANAGE_TOKENS:
        return "It needs “global” on all resources and no record rules: it manages only itself."
    return f"None of the token's scopes covers it (it needs “{decision.required_scope}”)."


def _where_lines(
    explanation: AccountExplanation, grant: Grant, kinds: list[Kind], account: Account
) -> list[str]:
    """Its reach in the account for the kinds it may use: resources, records, addresses."""
    lines = []
    if len(kinds) > 1 and all(selection_is_total(grant, kind) for kind in kinds):
        lines.append(f"Resources: all of them in {account.name}")
        kinds = []
    for kind in kinds:
        noun = BY_KIND[kind].noun
        if selection_is_total(grant, kind):
            lines.append(f"{_capitalised(noun)}: all of them in {account.name}")
        else:
            names = explanation.resource_names.get(str(kind), [])
            lines.append(f"{_capitalised(noun)}: only {', '.join(names)}")
    if grant.record_rules and Kind.ZONES in kinds:
        lines.append(
            f"DNS records: only {record_rules_text(grant.record_rules)}; it creates, deletes, "
            "lists and reads no other record"
        )
    networks = Policy.of(account).allowed_networks
    addresses = (
        f"only {', '.join(grant.allowed_ips)} (its IP allow-list)"
        if grant.allowed_ips
        else "any (it has no IP allow-list)"
    )
    if networks:
        addresses += f"; {account.name} accepts tokens only from {', '.join(networks)}"
    lines.append(f"Addresses: {addresses}")
    return lines


def ability_of(
    explanation: AccountExplanation,
    grant: Grant,
    token: Token,
    blocked: Blocked | None,
    *,
    needs_sso: bool = False,
) -> Ability:
    """One account's part of "What it can do" (`needs_sso`: refused there until authorized)."""
    account = explanation.account
    ability = Ability(account, explanation.role, needs_sso=needs_sso)
    empty: list[str] = []  # nouns of the kinds it may use but selects none of here
    used_kinds: list[Kind] = []
    for operation, decision in explanation.decisions.items():
        label = operation_label(operation)
        if not decision.allowed:
            ability.refused.append(Refusal(label, _reason(decision, explanation, token)))
            continue
        kind = OPERATION_KIND.get(operation)
        selects_here = (
            kind is None
            or selection_is_total(grant, kind)
            or bool(explanation.resources.get(str(kind)))
        )
        if kind is not None and not selects_here:
            noun = BY_KIND[kind].noun
            ability.refused.append(
                Refusal(label, f"None of the {noun} it selects is in {account.name}.")
            )
            if noun not in empty:
                empty.append(noun)
            continue
        ability.allowed.append(label)
        if kind is not None and kind not in used_kinds:
            used_kinds.append(kind)
    if not ability.allowed and empty:
        ability.nothing_selected = (
            f"It can do nothing in {account.name}: none of the {' or '.join(empty)} it "
            "selects is in this account."
        )
    if ability.allowed:
        ordered = [kind for kind in Kind if kind in used_kinds]
        ability.where = _where_lines(explanation, grant, ordered, account)
    if blocked is not None and not (needs_sso and blocked.policy == PolicyName.SSO_REQUIRED):
        policy = Policy.of(account)
        ability.blocked = (
            f"{POLICY_LABELS[blocked.policy]}: {policy_message(policy, blocked.policy)} "
            f"It is refused in {account.name} until it fits."
        )
    return ability


def abilities_of(
    explanations: list[AccountExplanation],
    grant: Grant,
    token: Token,
    blocked: list[Blocked],
    sso_needed: Collection[int] = (),
) -> list[Ability]:
    """ "What it can do" in every account the token acts in (`blocked`: where policies block
    it; `sso_needed`: the ids of the accounts that refuse it until it is authorized for SSO)."""
    by_account = {item.account.pk: item for item in blocked}
    return [
        ability_of(
            explanation,
            grant,
            token,
            by_account.get(explanation.account.pk),
            needs_sso=explanation.account.pk in sso_needed,
        )
        for explanation in explanations
    ]
