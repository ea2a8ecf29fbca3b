"""What the resource writes (dns, domains, certificates, cdn) share.

Each resource write is keyword-only and atomic, validates its input
(ResourceValidationError, nothing written) and logs an `api.write` event whose
summary starts with the actor's label, e.g. "Token “CI” (kwa_…x7Qa) created A
record www in acme.example". The API calls them; so may any panel page.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from accounts.models import Account
from tokens.events import Actor, event_record
from tokens.models import EventKind

# One DNS label (letters, digits, '_' and '-'), as record names and host names use.
LABEL = r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)"
_HOSTNAME_RE = re.compile(rf"^{LABEL}(?:\.{LABEL})*\.?$")


class ResourceValidationError(ValidationError):
    """Bad input for a resource write; `message_dict` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__({field: [message] for field, message in errors.items()})


def log_write(*, actor: Actor, account: Account, summary: str, details: dict) -> None:
    """Log one resource write (`api.write`); `summary` follows the actor's label."""
    event_record(
        kind=EventKind.API_WRITE,
        actor=actor,
        account=account,
        summary=f"{actor.label or 'Someone'} {summary}",
        details=details,
    )


def hostname_problem(value: str, what: str) -> str | None:
    """Why `value` is not a host name (`what` names it in the message), or None."""
    if not value or len(value) > 253 or not _HOSTNAME_RE.match(value):
        return f"Give {what} as a host name, e.g. “origin.example.com”."
    return None
