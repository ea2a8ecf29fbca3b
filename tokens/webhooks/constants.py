"""Webhook event types, the retry schedule and the limits (SPEC 19)."""

from __future__ import annotations

from datetime import timedelta

from django.db import models


class WebhookEventType(models.TextChoices):
    """What an endpoint may subscribe to; the `type` of a delivery's body."""

    TOKEN_CREATED = "token.created", "Token created"
    TOKEN_PERMISSIONS_CHANGED = "token.permissions_changed", "Token permissions changed"
    TOKEN_ROLLED = "token.rolled", "Token secret rolled"
    TOKEN_REVOKED = "token.revoked", "Token revoked"
    TOKEN_EXPIRING = "token.expiring", "Token expiring (7 days and 1 day before)"
    TOKEN_BLOCKED = "token.blocked", "Token blocked by a policy"
    TOKEN_MINTED = "token.minted", "Short-lived token minted (trusted publisher)"
    TOKEN_NEW_NETWORK = "token.new_network", "Token used from a new network"
    POLICY_CHANGED = "policy.changed", "Token policies changed"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member's role changed"


# **Send test event** delivers this type to one endpoint, whatever it subscribes to.
TEST_EVENT_TYPE = "webhook.test"

# The event log's kinds (tokens.models.EventKind) that are also webhook events: the
# event writer (tokens.events.event_record) emits them to the event's account.
EVENT_KIND_TO_WEBHOOK_TYPE: dict[str, str] = {
    "token.created": WebhookEventType.TOKEN_CREATED,
    "token.updated": WebhookEventType.TOKEN_PERMISSIONS_CHANGED,
    "token.rolled": WebhookEventType.TOKEN_ROLLED,
    "token.revoked": WebhookEventType.TOKEN_REVOKED,
    "token.minted": WebhookEventType.TOKEN_MINTED,
    "token.new_network": WebhookEventType.TOKEN_NEW_NETWORK,
    "account.policies_changed": WebhookEventType.POLICY_CHANGED,
    "member.role_changed": WebhookEventType.MEMBER_ROLE_CHANGED,
}

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# After a roll the previous secret also signs for this long (two signatures in the header),
# so receivers can switch to the new one without losing deliveries.
PREVIOUS_SECRET_SIGNS_FOR = timedelta(hours=24)

MAX_ENDPOINTS_PER_ACCOUNT = 20
MAX_URL_LENGTH = 2000

# Eight attempts over about a day: the first at once, then each after these waits
# (exponential, times four, capped at 8 hours): 1 min, 4 min, 16 min, 64 min, 4 h 16 min,
# 8 h, 8 h. The eighth comes about 21 h 41 min after the first.
ATTEMPTS = 8
FIRST_RETRY_AFTER = timedelta(minutes=1)
RETRY_FACTOR = 4
LONGEST_WAIT = timedelta(hours=8)

# An endpoint whose deliveries have failed, with no success between, for this long is
# switched off and its account's superusers are emailed.
DISABLE_AFTER_FAILING_FOR = timedelta(days=3)

# The HTTP send: seconds to connect, to send, to wait for each read; the whole answer
# must come within TOTAL_SECONDS, and no more than MAX_RESPONSE_BYTES of it is read.
CONNECT_SECONDS = 5.0
READ_SECONDS = 10.0
TOTAL_SECONDS = 15.0
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 500
RESOLVE_SECONDS = 5.0

# A delivery being attempted is held this long (its next_attempt_at pushed ahead), so the
# retry job does not queue it again meanwhile; longer than one attempt can take.
ATTEMPT_LEASE = timedelta(minutes=2)

# The delivery log keeps this long.
DELIVERY_RETENTION = timedelta(days=30)


def retry_wait(attempts_made: int) -> timedelta:
    """How long to wait after the `attempts_made`-th failed attempt (1-based)."""
    wait = FIRST_RETRY_AFTER * RETRY_FACTOR ** (attempts_made - 1)
    return min(wait, LONGEST_WAIT)
