"""What a token will be able to do, in words: the wizard's review before Generate token,
restated on the reveal page.

Per account the token acts in: the operations permissions.explain() allows (the one
decision function, for the account's role and plan), the resources its scopes reach
by name, and its record rules; then its IP allow-list and expiry. Built from the
checked input of a new token (token_create_check's NewToken) or from a stored token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accounts.constants import Role
from accounts.models import Account
from tokens import selectors
from tokens.kinds import BY_KIND, Kind
from tokens.models import Token, TokenType
from tokens.permissions import Grant, explain, kinds_for_scopes
from tokens.policies.rules import POLICY_LABELS, Policy, policy_violation
from tokens.policies.selectors import token_blocked_in
from tokens.records.rules import record_rules_text, rules_from_json
from tokens.services.issue import NewToken
from tokens.views.detail import operation_label


@dataclass(frozen=True)
class AccountReview:
    """What the token may do in one account."""

    account: Account
    role_label: str
    may: list[str]
    resources: list[str]  # "Only these zones: acme.example, shop.example", one line per kind
    blocked_by: str = ""  # the policy of the account that blocks the token there


@dataclass(frozen=True)
class TokenReview:
    """The whole token, in words."""

    type_label: str
    is_user_token: bool  # acts as its owner, capped by the owner's role
    accounts: list[AccountReview]
    scopes: list[str]
    record_rules: str  # "" when none
    allowed_ips: list[str]  # empty: any address
    expires_at: datetime | None
    tls_access: bool


def _resource_lines(
    account: Account, scopes: Sequence[str], resources: Mapping[Kind, Sequence[int] | None]
) -> list[str]:
    """Per kind the scopes reach: "all" or the names of the selected ones in `account`."""
    lines = []
    for kind in Kind:
        if kind not in kinds_for_scopes(scopes):
            continue
        noun = BY_KIND[kind].label.lower()
        ids = resources.get(kind)
        if ids is None:
            lines.append(f"All {noun} of {account.name}")
            continue
        names = list(
            BY_KIND[kind]
            .model.objects.filter(pk__in=ids, account=account)
            .order_by("name")
            .values_list("name", flat=True)
        )
        if names:
            lines.append(f"Only these {noun}: {', '.join(names)}")
        else:
            lines.append(f"No {noun}: none of those selected is in {account.name}")
    return lines


def token_review(
    *,
    token_type: str,
    accounts: Sequence[tuple[Account, str]],
    scopes: Sequence[str],
    resources: Mapping[Kind, Sequence[int] | None],
    tls_access: bool,
    allowed_ips: Sequence[str],
    record_rules: Sequence[Mapping[str, object]],
    expires_at: datetime | None,
    blocked: Mapping[int, str],
) -> TokenReview:
    """The review of a token acting in `accounts` (each with the role that caps it there);
    `blocked`: per account id, the label of the policy that blocks it there."""
    rules = rules_from_json(list(record_rules))
    grant = Grant(
        token_type=token_type,
        scopes=frozenset(scopes),
        all_kinds=frozenset(kind for kind in Kind if resources.get(kind) is None),
        selections={kind: frozenset(ids) for kind, ids in resources.items() if ids is not None},
        tls_access=tls_access,
        expires_at=expires_at,
        allowed_ips=tuple(allowed_ips),
        account_id=accounts[0][0].pk if token_type == TokenType.AUTOMATION and accounts else None,
        record_rules=rules,
    )
    reviews = []
    for account, role in accounts:
        decisions = explain(grant, role=role, plan=account.plan)
        reviews.append(
            AccountReview(
                account=account,
                role_label=Role(role).label.lower(),
                may=[operation_label(op) for op, decision in decisions.items() if decision.allowed],
                resources=_resource_lines(account, scopes, resources),
                blocked_by=blocked.get(account.pk, ""),
            )
        )
    zones_reached = Kind.ZONES in kinds_for_scopes(scopes)
    return TokenReview(
        type_label=TokenType(token_type).label,
        is_user_token=token_type == TokenType.USER,
        accounts=reviews,
        scopes=list(scopes),
        record_rules=record_rules_text(rules) if zones_reached else "",
        allowed_ips=list(allowed_ips),
        expires_at=expires_at,
        tls_access=tls_access,
    )


def new_token_review(new: NewToken) -> TokenReview:
    """The review of a token about to be created (checked by token_create_check)."""
    if new.token_type == TokenType.AUTOMATION:
        assert new.account is not None  # an automation token always has one
        accounts = [(new.account, new.role)]
    else:
        assert new.owner is not None  # a user token always has an owner
        reach = selectors.token_reach(token_type=new.token_type, owner_id=new.owner.pk)
        accounts = [(m.account, m.role) for m in reach.memberships]
    cleaned = new.input
    now = timezone.now()
    blocked = {}
    for account, _ in accounts:
        broken = policy_violation(
            Policy.of(account),
            token_type=new.token_type,
            created_at=now,
            expires_at=cleaned.expires_at,
            last_used_at=None,
            allowed_ips=cleaned.allowed_ips,
            now=now,
            check_network=False,
            owner_has_second_factor=new.owner is None or new.owner.has_second_factor,
        )
        if broken is not None:
            blocked[account.pk] = POLICY_LABELS[broken]
    return token_review(
        token_type=new.token_type,
        accounts=accounts,
        scopes=cleaned.scopes,
        resources=cleaned.resources,
        tls_access=new.tls_access,
        allowed_ips=cleaned.allowed_ips,
        record_rules=cleaned.record_rules,
        expires_at=cleaned.expires_at,
        blocked=blocked,
    )


def stored_token_review(token: Token) -> TokenReview:
    """The review of a stored token (the reveal page restates it)."""
    reach = selectors.token_reach(
        token_type=token.type,
        owner_id=token.user_id,
        account_id=token.account_id,
        token_id=token.pk,
    )
    if token.is_automation:
        assert token.account is not None  # an automation token always has one
        accounts = [(token.account, token.role)]
    else:
        accounts = [(m.account, m.role) for m in reach.memberships]
    return token_review(
        token_type=token.type,
        accounts=accounts,
        scopes=list(token.scopes),
        resources={
            kind: None if token.has_all(kind) else token.selected_ids(kind) for kind in Kind
        },
        tls_access=token.tls_access,
        allowed_ips=list(token.allowed_ips),
        record_rules=list(token.record_rules),
        expires_at=token.expires_at,
        blocked={item.account.pk: item.label for item in token_blocked_in(token)},
    )
