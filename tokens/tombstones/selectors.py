"""What support reads of revoked tokens: a tombstone found by a pasted value, and why and
by whom a token was revoked, in words."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.db.models import Q

from tokens.tombstones.models import RevokedToken

# Why a token was revoked, in words, for the revokers that have a reason beyond "who".
_REASONS: dict[str, str] = {
    "leak_report": "Reported as leaked",
    "cleanup": "Unused for two years (stale-token cleanup)",
    "max_idle": "Unused past the account's maximum idle time (policy)",
    "minted_expired": "Minted by a trusted publisher; deleted a day after it expired",
}


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


def tombstone_find(digests: Collection[str]) -> RevokedToken | None:
    """The tombstone of a revoked token one of whose secrets hashes to one of `digests`."""
    return (
        RevokedToken.objects.filter(Q(digest__in=digests) | Q(previous_digest__in=digests))
        .select_related("account", "owner")
        .first()
    )
