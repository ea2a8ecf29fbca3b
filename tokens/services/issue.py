"""Issuing a token (SPEC 3, 6, 9): who may create which token, its defaults, the limit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.constants import Role
from accounts.models import Account, User
from accounts.selectors import memberships_managing
from tokens import crypto
from tokens.constants import DEFAULT_EXPIRY, MAX_ACTIVE_TOKENS_PER_USER
from tokens.events import Actor, event_record
from tokens.models import ActorKind, EventKind, Token, TokenType
from tokens.permissions import AUTOMATION_ROLES
from tokens.policies.selectors import token_refusal
from tokens.publishers.models import Publisher
from tokens.selections.services import token_flags_set, token_selections_add
from tokens.selectors import token_reach
from tokens.services.common import (
    CreatedToken,
    NotPermitted,
    TokenLimitReached,
    refuse_by_policy,
    token_permissions_snapshot,
)
from tokens.validation import Resources, TokenValidationError, clean_token_input


class _Default(Enum):
    """A typed sentinel: "argument not given" (None means never, for `expires_at`)."""

    DEFAULT = "default"


_DEFAULT: Final = _Default.DEFAULT


def _may_manage_account_tokens(user: User | None, account: Account) -> bool:
    return user is not None and memberships_managing(user).filter(account=account).exists()


def _user_token_owner(*, actor: Actor, owner: User | None, tls_access: bool) -> User:
    """The owner of a new user token: people create user tokens for themselves only."""
    if owner is None:
        raise TokenValidationError({"__all__": "A user token needs an owner."})
    if actor.kind == ActorKind.USER and actor.user != owner:
        raise NotPermitted("People create user tokens for themselves only.")
    if tls_access:
        raise TokenValidationError({"tls_access": "TLS management is for automation tokens only."})
    return owner


def _automation_token_role(*, actor: Actor, account: Account | None, role: str | None) -> str:
    """The role of a new automation token (engineer by default); its account's managers only."""
    if account is None:
        raise TokenValidationError({"account": "Choose the account the token acts in."})
    role = role or Role.ENGINEER
    if role not in AUTOMATION_ROLES:
        raise TokenValidationError(
            {"role": "An automation token's role is engineer, user or billing."}
        )
    if actor.kind == ActorKind.USER and not _may_manage_account_tokens(actor.user, account):
        raise NotPermitted("Only superusers of the account create automation tokens.")
    return role


def _check_token_limit(person: User, now: datetime) -> None:
    """Refuse a token beyond the person's limit of active tokens (SPEC 9)."""
    # Lock the person's row so concurrent creations count one after another.
    User.objects.select_for_update().filter(pk=person.pk).first()
    if Token.objects.counting_towards_limit(person).active(now).count() >= (
        MAX_ACTIVE_TOKENS_PER_USER
    ):
        raise TokenLimitReached()


@transaction.atomic
def token_create(
    *,
    actor: Actor,
    token_type: str,
    name: str,
    owner: User | None = None,
    account: Account | None = None,
    role: str | None = None,
    scopes: Sequence[str] | None = None,
    resources: Resources | None = None,
    tls_access: bool = False,
    allowed_ips: Iterable[str] | str | None = None,
    expires_at: datetime | _Default | None = _DEFAULT,
    legacy_key: str | None = None,
    record_rules: Iterable[Any] | None = None,
    minted_by: Publisher | None = None,
    minted_run: Mapping[str, str] | None = None,
) -> CreatedToken:
    """Issue a token and return it with its secret (the only time the secret is seen).

    User tokens belong to `owner` and act in each of the owner's accounts, capped
    by the owner's role there. Automation tokens act in `account` only, capped by
    `role`, and only superusers of that account create them. `expires_at` defaults
    to 90 days from now; None means never. `legacy_key` imports an old key string
    as the secret (SPEC 9). `record_rules` limit its DNS records (SPEC 14; none:
    every record). `minted_by`: the trusted publisher minting it for the CI run
    `minted_run` (SPEC 18); its event is then `token.minted`. Raises
    TokenValidationError (nothing is written).
    """
    now = timezone.now()
    if token_type not in TokenType.values:
        raise TokenValidationError({"type": "Choose a user token or an automation token."})
    limit_holder: User | None
    if token_type == TokenType.USER:
        owner = _user_token_owner(actor=actor, owner=owner, tls_access=tls_access)
        account, role, limit_holder = None, "", owner
    else:
        role = _automation_token_role(actor=actor, account=account, role=role)
        owner, limit_holder = None, actor.user

    reach = token_reach(
        token_type=token_type,
        owner_id=owner.pk if owner else None,
        account_id=account.pk if account else None,
    )
    if token_type == TokenType.USER and not reach.account_ids:
        raise TokenValidationError(
            {"__all__": "You are not a member of any account, so a token could not act anywhere."}
        )
    cleaned = clean_token_input(
        token_type=token_type,
        account=account,
        role=role,
        reach=reach,
        name=name,
        scopes=["global"] if scopes is None else scopes,
        resources=resources,
        allowed_ips=allowed_ips,
        record_rules=record_rules,
        expires_at=now + DEFAULT_EXPIRY if expires_at is _DEFAULT else expires_at,
        now=now,
        tls_access=bool(tls_access),
    )
    expiry, networks = cleaned.expires_at, cleaned.allowed_ips
    if token_type == TokenType.AUTOMATION:
        assert account is not None  # _automation_token_role refused a missing one
        refuse_by_policy(token_refusal(account, token_type, now, expiry, networks))
    if limit_holder is not None:
        _check_token_limit(limit_holder, now)

    secret = legacy_key if legacy_key is not None else crypto.generate(token_type)
    token = Token(
        type=token_type,
        name=cleaned.name,
        user=owner,
        account=account,
        created_by=actor.user if actor.kind in (ActorKind.USER, ActorKind.TOKEN) else None,
        role=role,
        scopes=cleaned.scopes,
        tls_access=bool(tls_access) and token_type == TokenType.AUTOMATION,
        allowed_ips=networks,
        record_rules=cleaned.record_rules,
        digest=crypto.digest(secret, settings.KEYWARD_TOKEN_PEPPERS[0]),
        display=crypto.display_hint(secret),
        is_legacy=legacy_key is not None,
        created_at=now,
        expires_at=expiry,
        minted_by=minted_by,
        minted_run=dict(minted_run or {}) if minted_by is not None else None,
    )
    token_flags_set(token, cleaned.resources)
    token.save()
    selections = token_selections_add(token, cleaned.resources)

    details: dict[str, Any] = {"permissions": token_permissions_snapshot(token, selections)}
    if minted_by is not None:
        details["publisher"] = {"id": minted_by.pk, "name": minted_by.name}
        details["run"] = dict(minted_run or {})
    event_record(
        kind=EventKind.TOKEN_MINTED if minted_by is not None else EventKind.TOKEN_CREATED,
        actor=actor,
        account=token.account,
        token=token,
        summary=f"{actor.label or 'Someone'} {'minted' if minted_by is not None else 'created'} "
        f"{token.get_type_display().lower()} “{token.name}” ({token.display})",
        details=details,
    )
    return CreatedToken(token=token, secret=secret)
