"""What the token writes share: their errors, the locked row, the resources they set and
the snapshot of a token's permissions that the event log keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404

from tokens.constants import MAX_ACTIVE_TOKENS_PER_USER
from tokens.models import Token
from tokens.permissions import Kind
from tokens.validation import TokenValidationError


class TokenLimitReached(TokenValidationError):
    """The user already has the maximum number of active tokens."""

    def __init__(self) -> None:
        super().__init__(
            {
                "__all__": (
                    f"You already have {MAX_ACTIVE_TOKENS_PER_USER} active tokens, the most "
                    "allowed. Delete tokens you no longer use, then try again."
                )
            },
            code="token_limit_reached",
        )


class SudoRequired(Exception):
    """Widening a token's permissions needs a recent password re-check."""


class NotPermitted(Exception):
    """The actor may not do this (the caller shows 403 or 404 as it sees fit)."""


class TokenGone(Http404):
    """The token was revoked while a change to it was under way: nothing was changed.

    An Http404, like the selectors' "no such token": the panel shows its 404 page
    and the API answers 404 `not_found`, as they would a moment later.
    """


def token_locked(token: Token) -> Token:
    """`token`'s row, locked until the transaction ends; TokenGone when it was revoked."""
    row = Token.objects.select_for_update().filter(pk=token.pk).first()
    if row is None:
        raise TokenGone("The token was revoked meanwhile.")
    return row


@dataclass(frozen=True)
class CreatedToken:
    """A new token and its secret: the only time the secret exists outside the client."""

    token: Token
    secret: str


def token_permissions_snapshot(
    token: Token, selections: dict[Kind, list[int]] | None = None
) -> dict[str, Any]:
    """What a token may do, for before/after in the event log (never the secret).

    `selections`: its selected ids per kind, when known (they are not read back)."""
    snapshot: dict[str, Any] = {
        "name": token.name,
        "scopes": list(token.scopes),
        "resources": token.resources_json()
        if selections is None
        else {
            str(kind): "all" if token.has_all(kind) else selections.get(kind, []) for kind in Kind
        },
        "allowed_ips": list(token.allowed_ips),
        "record_rules": list(token.record_rules),
    }
    if token.is_automation:
        snapshot["role"] = token.role
        snapshot["tls_access"] = token.tls_access
    return snapshot


def refuse_by_policy(refusal: tuple[str, str] | None) -> None:
    """An automation token that breaks a policy of its account is not made (SPEC 15)."""
    if refusal is not None:
        field, message = refusal
        raise TokenValidationError({field: message}, code="policy_violation")
