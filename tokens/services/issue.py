"""Issuing a token (SPEC 3, 6, 9): who may create which token, its defaults, the limit.

`token_create_check` is every check of `token_create` but the limit, writing nothing:
the wizard asks it to show all of a form's problems at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, User
from accounts.selectors import memberships_managing
from tokens import crypto
from tokens.constants import DEFAULT_EXPIRY, MAX_ACTIVE_TOKENS_PER_USER
from tokens.events import Actor, event_record
from tokens.kinds import Kind
from tokens.models import ActorKind, EventKind, Token, TokenType
from tokens.permissions import AUTOMATION_ROLES, DEFAULT_AUTOMATION_ROLE
from tokens.policies.selectors import token_refusal
from tokens.publishers.models import Publisher
from tokens.selections.services import token_flags_set, token_selections_add
from tokens.selectors import TokenReach, token_reach
from tokens.services.common import (
    CreatedToken,
    NotPermitted,
    TokenLimitReached,
    refuse_by_policy,
    token_permissions_snapshot,
)
from tokens.sso.services import token_sso_authorize_at_creation
from tokens.validation import Resources, TokenInput, TokenValidationError, clean_token_input


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
    role = role or DEFAULT_AUTOMATION_ROLE
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


@dataclass(frozen=True)
class NewToken:
    """A token about to be issued, its input checked (token_create_check); nothing written."""

    token_type: str
    owner: User | None  # a user token's
    account: Account | None  # an automation token's
    role: str  # an automation token's; "" for a user token
    tls_access: bool
    input: TokenInput  # name, scopes, resources, IP allow-list, record rules, expiry
    limit_holder: User | None  # whose limit of active tokens it counts towards


def token_create_check(
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
    record_rules: Iterable[Any] | None = None,
    check_expiry: bool = True,
    now: datetime | None = None,
) -> NewToken:
    """Every check token_create makes but the limit of active tokens, writing nothing.

    The same arguments and defaults as token_create: who may create it, its role
    (engineer by default), its reach, its input, its account's policies. The wizard
    asks it to show every problem of a form at once. `check_expiry=False` leaves the
    expiry unjudged, and the policies with it (they judge the expiry): the form has
    refused it already. Raises TokenValidationError naming each field, or NotPermitted.
    """
    now = now or timezone.now()
    if token_type not in TokenType.values:
        raise TokenValidationError({"type": "Choose a user token or an automation token."})
    limit_holder: User | None
    if token_type == TokenType.USER:
        owner = _user_token_owner(actor=actor, owner=owner, tls_access=tls_access)
        account, role, limit_holder = None, "", owner
    else:
        role = _automation_token_role(actor=actor, account=account, role=role)
        owner, limit_holder = None, actor.user
    cleaned = clean_token_input(
        token_type=token_type,
        account=account,
        role=role,
        reach=_reach(token_type, owner=owner, account=account),
        name=name,
        scopes=["global"] if scopes is None else scopes,
        resources=resources,
        allowed_ips=allowed_ips,
        record_rules=record_rules,
        expires_at=now + DEFAULT_EXPIRY if expires_at is _DEFAULT else expires_at,
        now=now,
        tls_access=bool(tls_access),
        check_expiry=check_expiry,
    )
    if account is not None and check_expiry:  # an automation token
        policy = token_refusal(account, token_type, now, cleaned.expires_at, cleaned.allowed_ips)
        refuse_by_policy(policy)
    tls = bool(tls_access) and token_type == TokenType.AUTOMATION
    return NewToken(token_type, owner, account, role, tls, cleaned, limit_holder)


def _reach(token_type: str, *, owner: User | None, account: Account | None) -> TokenReach:
    """Where the new token will act; a user token of someone in no account acts nowhere."""
    reach = token_reach(
        token_type=token_type,
        owner_id=owner.pk if owner else None,
        account_id=account.pk if account else None,
    )
    if token_type == TokenType.USER and not reach.account_ids:
        raise TokenValidationError(
            {"__all__": "You are not a member of any account, so a token could not act anywhere."}
        )
    return reach


# Not durable: import_legacy_keys and seed_demo issue many tokens in one transaction.
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
    sso_accounts: Collection[int] = (),
) -> CreatedToken:
    """Issue a token and return it with its secret (the only time the secret is seen).

    User tokens belong to `owner` and act in each of the owner's accounts, capped
    by the owner's role there. Automation tokens act in `account` only, capped by
    `role`, and only superusers of that account create them. `expires_at` defaults
    to 90 days from now; None means never. `legacy_key` imports an old key string
    as the secret (SPEC 9). `record_rules` limit its DNS records (SPEC 14; none:
    every record). `minted_by`: the trusted publisher minting it for the CI run
    `minted_run` (SPEC 18); its event is then `token.minted`. `sso_accounts`: the
    accounts whose SSO the creating session came through; a user token is authorized
    there at creation (SPEC 17). Raises TokenValidationError (nothing is written).
    """
    now = timezone.now()
    new = token_create_check(
        actor=actor,
        token_type=token_type,
        name=name,
        owner=owner,
        account=account,
        role=role,
        scopes=scopes,
        resources=resources,
        tls_access=tls_access,
        allowed_ips=allowed_ips,
        expires_at=expires_at,
        record_rules=record_rules,
        now=now,
    )
    if new.limit_holder is not None:
        _check_token_limit(new.limit_holder, now)
    secret = legacy_key if legacy_key is not None else crypto.generate(token_type)
    # A trusted publisher's token is for one CI run (SPEC 18).
    run = dict(minted_run or {}) if minted_by is not None else None
    token = _token_save(
        new,
        actor=actor,
        secret=secret,
        legacy=legacy_key is not None,
        now=now,
        minted_by=minted_by,
        minted_run=run,
    )
    if sso_accounts:
        token_sso_authorize_at_creation(token, actor=actor, account_ids=sso_accounts)
    _created_record(token, new.input.resources, actor=actor, minted_by=minted_by, run=run)
    return CreatedToken(token=token, secret=secret)


def _created_record(
    token: Token,
    resources: Mapping[Kind, list[int] | None],
    *,
    actor: Actor,
    minted_by: Publisher | None,
    run: dict[str, str] | None,
) -> None:
    """The `token.created` event, or `token.minted` naming the publisher and the CI run.

    Its permissions snapshot takes the selection from what was written (`resources`,
    cleaned), rather than reading it back."""
    selections = {kind: ids for kind, ids in resources.items() if ids}
    details: dict[str, Any] = {"permissions": token_permissions_snapshot(token, selections)}
    if minted_by is not None:
        details["publisher"] = {"id": minted_by.pk, "name": minted_by.name}
        details["run"] = run or {}
    verb = "minted" if minted_by is not None else "created"
    event_record(
        kind=EventKind.TOKEN_MINTED if minted_by is not None else EventKind.TOKEN_CREATED,
        actor=actor,
        account=token.account,
        token=token,
        summary=f"{actor.label or 'Someone'} {verb} {token.get_type_display().lower()} "
        f"“{token.name}” ({token.display})",
        details=details,
    )


def _token_save(
    new: NewToken,
    *,
    actor: Actor,
    secret: str,
    legacy: bool,
    now: datetime,
    minted_by: Publisher | None,
    minted_run: dict[str, str] | None,
) -> Token:
    """Write the new token's row and its selected resources; only the secret's digest is kept."""
    cleaned = new.input
    token = Token(
        type=new.token_type,
        name=cleaned.name,
        user=new.owner,
        account=new.account,
        created_by=actor.user if actor.kind in (ActorKind.USER, ActorKind.TOKEN) else None,
        role=new.role,
        scopes=cleaned.scopes,
        tls_access=new.tls_access,
        allowed_ips=cleaned.allowed_ips,
        record_rules=cleaned.record_rules,
        digest=crypto.digest(secret, settings.KEYWARD_TOKEN_PEPPERS[0]),
        display=crypto.display_hint(secret),
        is_legacy=legacy,
        created_at=now,
        expires_at=cleaned.expires_at,
        minted_by=minted_by,
        minted_run=minted_run,
    )
    token_flags_set(token, cleaned.resources)
    token.save(force_insert=True)
    token_selections_add(token, cleaned.resources)
    return token
