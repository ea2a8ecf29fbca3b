"""Rolling a token's secret (SPEC 11): a new secret, the old one kept for a grace period."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tokens import crypto
from tokens.constants import MAX_ROLL_GRACE_PERIOD
from tokens.events import Actor, event_record
from tokens.models import EventKind, Token
from tokens.services.common import CreatedToken, token_locked
from tokens.validation import TokenValidationError


@transaction.atomic
def token_roll(*, actor: Actor, token: Token, grace_period: timedelta) -> CreatedToken:
    """Give a token a new secret; everything else stays (SPEC 11). Returns the new secret.

    The old secret keeps working for `grace_period` (0: it stops at once) as the
    token's previous secret; a previous secret from an earlier roll ends now, so
    at most two secrets are live. The caller checks who may roll (the owner of a
    user token, the account's superusers for an automation token). TokenGone when
    the token was revoked meanwhile (nothing is written).
    """
    if not timedelta(0) <= grace_period <= MAX_ROLL_GRACE_PERIOD:
        raise TokenValidationError(
            {"grace_period": "The grace period is 0 seconds to 7 days (604800 seconds)."}
        )
    token = token_locked(token)
    now = timezone.now()
    old_display = token.display
    secret = crypto.generate(token.type)
    if grace_period:
        token.previous_digest = token.digest
        token.previous_secret_expires_at = now + grace_period
    else:
        token.previous_digest = token.previous_secret_expires_at = None
    token.previous_secret_last_used_at = None
    token.digest = crypto.digest(secret, settings.KEYWARD_TOKEN_PEPPERS[0])
    token.display = crypto.display_hint(secret)
    token.save(
        update_fields=[
            "digest",
            "display",
            "previous_digest",
            "previous_secret_expires_at",
            "previous_secret_last_used_at",
        ]
    )
    seconds = int(grace_period.total_seconds())
    event_record(
        kind=EventKind.TOKEN_ROLLED,
        actor=actor,
        account=token.account,
        token=token,
        summary=f"{actor.label or 'Someone'} rolled the secret of “{token.name}” "
        f"({old_display} → {token.display})"
        + (f", the old one works for {_duration_text(seconds)}" if seconds else ""),
        details={
            "grace_period": seconds,
            "previous_display": old_display,
            "previous_secret_expires_at": (
                token.previous_secret_expires_at.isoformat()
                if seconds and token.previous_secret_expires_at is not None
                else None
            ),
        },
    )
    return CreatedToken(token=token, secret=secret)


def _duration_text(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
