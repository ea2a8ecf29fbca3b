"""Writing a revoked token's tombstone, in the revoking transaction (tokens.services.revoke)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from tokens.models import Event
from tokens.tombstones.models import RevokedToken
from tokens.tombstones.selectors import revocation_reason, revoker_text


@dataclass(frozen=True)
class DeletedSecrets:
    """The digests of a token's live secrets at the moment its row was deleted."""

    digest: str
    previous_digest: str | None  # only while a roll's grace period still ran

    @property
    def all(self) -> list[str]:
        return [self.digest, *([self.previous_digest] if self.previous_digest else [])]


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
