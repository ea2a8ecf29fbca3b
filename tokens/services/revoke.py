"""Revoking a token: its row is deleted and a tombstone kept; or a member's user token
removed from one account (SPEC 6, 9).

Revoking deletes the Token row (SPEC 9), so without a trace support could only
answer "no token found" for a leaked value that was revoked an hour ago. Every
revocation goes through `token_revoke`, which deletes the row (`_token_row_delete`)
and writes, in its transaction, the token's tombstone (tokens.tombstones): no secret,
no permissions; support's **Find by token value** reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from tokens.events import Actor, event_record
from tokens.models import EventKind, Token, TokenType
from tokens.removals.models import TokenRemoval
from tokens.services.common import token_permissions_snapshot
from tokens.tombstones.services import DeletedSecrets, tombstone_record

REVOKED_BY = {
    "owner": "its owner",
    "superuser": "a superuser",
    "support": "support staff",
    "self": "the token itself",
    "cleanup": "the stale-token cleanup",
    "max_idle": "the stale-token cleanup (policy: Maximum idle time)",
    "leak_report": "a leak report",
    "minted_expired": "the minted-token cleanup (a day after it expired)",
}


@transaction.atomic(durable=True)
def token_revoke(
    *,
    actor: Actor,
    token: Token,
    revoked_by: str,
    account: Account | None = None,
    details: Mapping[str, Any] | None = None,
) -> bool:
    """Revoke a token: its row is deleted, so it stops working at once (every secret of it),
    and a tombstone (RevokedToken: no secret, no permissions) says when and by whom.

    `revoked_by` is one of REVOKED_BY's keys. `account` names the account in
    whose name a superuser acted (for the event log); `details` adds to the
    event's details (never a secret). False when it was already gone.
    """
    if revoked_by not in REVOKED_BY:
        raise ValueError(f"unknown revoker {revoked_by!r}")
    snapshot = Token(
        pk=token.pk,
        name=token.name,
        display=token.display,
        type=token.type,
        user_id=token.user_id,
    )
    event_account = token.account or account
    details = {
        "revoked_by": revoked_by,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "permissions": token_permissions_snapshot(token),
        **(details or {}),
    }
    secrets = _token_row_delete(token, now=timezone.now())
    if secrets is None:
        return False  # someone else revoked it first; log nothing twice
    event = event_record(
        kind=EventKind.TOKEN_REVOKED,
        actor=actor,
        account=event_account,
        token=snapshot,
        summary=f"“{token.name}” ({token.display}) revoked by {REVOKED_BY[revoked_by]}"
        + (f" ({actor.label})" if actor.label and revoked_by != "self" else ""),
        details=details,
    )
    tombstone_record(secrets, event=event, by=REVOKED_BY[revoked_by])
    return True


@transaction.atomic(durable=True)
def token_remove_from_account(*, actor: Actor, token: Token, account: Account) -> None:
    """Cut a member's user token off from one account (SPEC 6, "Remove from <account>").

    The token stops working there at once and keeps working in its owner's other
    accounts; its owner sees who removed it. Logged in that account.
    """
    if token.type != TokenType.USER:
        raise ValueError("Only user tokens are removed from an account; revoke others.")
    if not Token.objects.select_for_update().filter(pk=token.pk).exists():
        return  # revoked meanwhile: gone everywhere, which is more than removed
    _, created = TokenRemoval.objects.get_or_create(
        token=token,
        account=account,
        defaults={"removed_by": actor.user, "removed_by_label": actor.label[:200]},
    )
    if not created:
        return  # removed already; log nothing twice
    event_record(
        kind=EventKind.TOKEN_REMOVED,
        actor=actor,
        account=account,
        token=token,
        summary=f"“{token.name}” ({token.display}) removed from {account.name}"
        + (f" by {actor.label}" if actor.label else ""),
        details={"permissions": token_permissions_snapshot(token)},
    )


def _token_row_delete(token: Token, *, now: datetime) -> DeletedSecrets | None:
    """Delete a token's row (every secret of it stops at once); None when it was gone already.

    The digests are read from the locked row, not from `token`: a roll between
    loading `token` and now changed them. Call inside the revoking transaction.
    """
    row = (
        Token.objects.select_for_update()
        .filter(pk=token.pk)
        .values_list("digest", "previous_digest", "previous_secret_expires_at")
        .first()
    )
    if row is None:
        return None
    Token.objects.filter(pk=token.pk).delete()
    digest, previous, until = row
    grace_running = previous is not None and until is not None and until > now
    return DeletedSecrets(digest, previous if grace_running else None)
