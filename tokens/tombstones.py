"""Revoked tokens: the one place a token row is deleted, and the tombstone it leaves.

Revoking deletes the Token row (SPEC 9), so without a trace support could only
answer "no token found" for a leaked value that was revoked an hour ago. Every
revocation goes through `tokens.services.token_revoke`, which calls
`token_row_delete` and then `tombstone_record` in its transaction: a RevokedToken
keyed by the token's digest (and its previous secret's, while a roll's grace
period ran). No secret, no permissions; support's **Find by token value** reads
it back with `tombstone_find`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from tokens.models import Event, RevokedToken, Token

# Why a token was revoked, in words, for the revokers that have a reason beyond "who".
_REASONS: dict[str, str] = {
    "leak_report": "Reported as leaked",
    "cleanup": "Unused for two years (stale-token cleanup)",
    "max_idle": "Unused past the account's maximum idle time (policy)",
}


@dataclass(frozen=True)
class DeletedSecrets:
    """The digests of a token's live secrets at the moment its row was deleted."""

    digest: str
    previous_digest: str | None  # only while a roll's grace period still ran

    @property
    def all(self) -> list[str]:
        return [self.digest, *([self.previous_digest] if self.previous_digest else [])]


def token_row_delete(token: Token, *, now: datetime) -> DeletedSecrets | None:
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


def revocation_reason(revoked_by: str, details: Mapping[str, Any]) -> str:
    """Why a token was revoked, in words ("" when who did it says it all).

    Leak reports add where the secret was found (SPEC 12's `url` and `source`);
    support's revocations from a token's admin page, the note they wrote.
    """
    reason = _REASONS.get(revoked_by, "")
    if revoked_by == "leak_report":
        url, source = str(details.get("url") or ""), str(details.get("source") or "")
        reason += f": found at {url}" if url else ""
        reason += f" ({source})" if source else ""
    note = str(details.get("note") or "")  # what support wrote when revoking from the admin
    return f"{reason}. {note}" if reason and note else reason or note


def revoker_text(by: str, revoked_by: str, label: str) -> str:
    """Who revoked, in words: "support staff (support: ana@example.com)", "its owner (…)"."""
    return f"{by} ({label})" if label and revoked_by != "self" else by


def tombstone_record(secrets: DeletedSecrets, *, event: Event, by: str) -> RevokedToken:
    """Write the tombstone of a token just revoked, from its `token.revoked` event.

    `by` says who in words ("support staff"); the event gives the rest. A digest
    seen before (a legacy key imported again after its revocation) keeps only
    its latest tombstone.
    """
    assert event.token_id is not None  # a token.revoked event names its token
    digests = secrets.all
    RevokedToken.objects.filter(Q(digest__in=digests) | Q(previous_digest__in=digests)).delete()
    revoked_by = str(event.details.get("revoked_by", ""))
    return RevokedToken.objects.create(
        digest=secrets.digest,
        previous_digest=secrets.previous_digest,
        token_id=event.token_id,
        name=event.token_name,
        display=event.token_display,
        type=event.token_type,
        account_id=event.account_id,
        owner_id=event.token_owner_id,
        revoked_at=event.created_at,
        revoked_by=revoked_by,
        revoked_by_label=revoker_text(by, revoked_by, event.actor_label)[:300],
        reason=revocation_reason(revoked_by, event.details)[:600],
    )


def tombstone_find(digests: Collection[str]) -> RevokedToken | None:
    """The tombstone of a revoked token one of whose secrets hashes to one of `digests`."""
    return (
        RevokedToken.objects.filter(Q(digest__in=digests) | Q(previous_digest__in=digests))
        .select_related("account", "owner")
        .first()
    )
