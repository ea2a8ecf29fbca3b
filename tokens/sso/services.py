"""Authorizing a user token for an account's single sign-on (SPEC 17).

The caller checked that the session came through that account's SSO in the last 24
hours (accounts.sso.session) and that the person owns the token.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Membership
from tokens.events import Actor, event_record
from tokens.models import EventKind, Token, TokenType
from tokens.sso.models import TokenSsoAuthorization


class SsoAuthorizationRefused(Exception):
    """Not a user token of a member of that account (said in words)."""


def _authorizable(token: Token, account_ids: Collection[int]) -> list[int]:
    """The accounts among `account_ids` where the token's owner is a member."""
    if token.type != TokenType.USER or token.user_id is None or not account_ids:
        return []
    return list(
        Membership.objects.filter(user_id=token.user_id, account_id__in=account_ids)
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )


def token_sso_authorize_at_creation(
    token: Token, *, actor: Actor, account_ids: Collection[int]
) -> None:
    """A user token created in a session that came through these accounts' SSO is authorized
    there at once (inside token_create's transaction; its creation event says so)."""
    now = timezone.now()
    TokenSsoAuthorization.objects.bulk_create(
        [
            TokenSsoAuthorization(
                token=token, account_id=account_id, authorized_by=actor.user, authorized_at=now
            )
            for account_id in _authorizable(token, account_ids)
        ],
        ignore_conflicts=True,
    )


@transaction.atomic(durable=True)
def token_sso_authorize(*, actor: Actor, token: Token, account: Account) -> bool:
    """Authorize the user token for `account`'s SSO; False when it already was."""
    if account.pk not in _authorizable(token, [account.pk]):
        raise SsoAuthorizationRefused(
            f"Only a personal token of a member of {account.name} can be authorized for its SSO."
        )
    _, created = TokenSsoAuthorization.objects.get_or_create(
        token=token,
        account=account,
        defaults={"authorized_by": actor.user, "authorized_at": timezone.now()},
    )
    if created:
        event_record(
            kind=EventKind.TOKEN_SSO_AUTHORIZED,
            actor=actor,
            account=account,
            token=token,
            summary=f"{actor.label or 'Someone'} authorized “{token.name}” ({token.display}) "
            f"for the single sign-on of {account.name}",
            details={"account_id": account.pk},
        )
    return created
