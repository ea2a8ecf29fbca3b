"""An endpoint's signing secret, sealed at rest, and Standard Webhooks signatures (SPEC 19).

The secret is `whsec_` and the base64 of 32 random bytes, as Standard Webhooks
defines it. Keyward signs with it, so it is kept sealed rather than digested: AES-GCM
under a key derived from SECRET_KEY with HKDF (the pattern of tokens.reveal, with
its own HKDF label), the endpoint's account id as associated data, a random nonce
per seal. SECRET_KEY_FALLBACKS still open secrets sealed before a key rotation.

Signing is the `standardwebhooks` package's: `webhook-signature: v1,<base64 HMAC-SHA256>`
over `<webhook-id>.<webhook-timestamp>.<body>`; while a rolled-away secret still signs,
the header carries both signatures, space separated, as the standard allows.
"""

from __future__ import annotations

import base64
import functools
import os
from collections.abc import Sequence
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from standardwebhooks import Webhook

from tokens.webhooks.constants import SECRET_BYTES, SECRET_PREFIX

_NONCE_BYTES = 12
_HKDF_INFO = b"keyward.webhook-secret.v1"
USER_AGENT = "Keyward-Webhooks/1"


class SecretUnreadable(Exception):
    """The sealed secret does not open with SECRET_KEY or its fallbacks: roll it."""


def secret_generate() -> str:
    """A new signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


@functools.lru_cache(maxsize=8)
def _cipher(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return AESGCM(key)


def _associated_data(account_id: int) -> bytes:
    return f"keyward.webhook-secret:{account_id}".encode("ascii")


def secret_seal(secret: str, *, account_id: int) -> bytes:
    """`secret` encrypted for storage (nonce + ciphertext), bound to its account."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(settings.SECRET_KEY).encrypt(
        nonce, secret.encode("ascii"), _associated_data(account_id)
    )
    return nonce + sealed


def secret_open(sealed: bytes | memoryview, *, account_id: int) -> str:
    """The secret `secret_seal` sealed, or SecretUnreadable."""
    raw = bytes(sealed)
    nonce, ciphertext = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    for secret_key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        try:
            return (
                _cipher(secret_key)
                .decrypt(nonce, ciphertext, _associated_data(account_id))
                .decode("ascii")
            )
        except (InvalidTag, ValueError):
            continue
    raise SecretUnreadable("The endpoint's signing secret cannot be read; roll it.")


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
