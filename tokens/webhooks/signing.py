"""An endpoint's signing secret, sealed at rest, and Standard Webhooks signatures (SPEC 19).

The secret is `whsec_` and the base64 of 32 random bytes, as Standard Webhooks
defines it. Keyward signs with it, so it is kept sealed rather than digested (accounts.sealing,
with its own HKDF label), bound to the endpoint's account id.

Signing is the `standardwebhooks` package's: `webhook-signature: v1,<base64 HMAC-SHA256>`
over `<webhook-id>.<webhook-timestamp>.<body>`; while a rolled-away secret still signs,
the header carries both signatures, space separated, as the standard allows.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

from accounts.sealing import Sealer
from tokens.webhooks.constants import SECRET_BYTES, SECRET_PREFIX

_SEALER = Sealer(b"keyward.webhook-secret.v1")
USER_AGENT = "Keyward-Webhooks/1"


class SecretUnreadable(Exception):
    """The sealed secret does not open with SECRET_KEY or its fallbacks: roll it."""


def secret_generate() -> str:
    """A new signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def _associated_data(account_id: int) -> bytes:
    return f"keyward.webhook-secret:{account_id}".encode("ascii")


def secret_seal(secret: str, *, account_id: int) -> bytes:
    """`secret` encrypted for storage (nonce + ciphertext), bound to its account."""
    return _SEALER.seal(secret.encode("ascii"), associated=_associated_data(account_id))


def secret_open(sealed: bytes | memoryview, *, account_id: int) -> str:
    """The secret `secret_seal` sealed, or SecretUnreadable."""
    opened = _SEALER.open(sealed, associated=_associated_data(account_id))
    if opened is None:
        raise SecretUnreadable("The endpoint's signing secret cannot be read; roll it.")
    return opened.decode("ascii")


def signed_headers(
    *, secrets: Sequence[str], message_id: str, timestamp: datetime, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed with each of `secrets`."""
    signatures = " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
