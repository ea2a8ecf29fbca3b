"""An SSO client secret, sealed at rest (SPEC 17).

AES-GCM under a key derived from SECRET_KEY with HKDF (the pattern of tokens.reveal
and tokens.webhooks.signing, with its own HKDF label), the account id as associated
data, a random nonce per seal. SECRET_KEY_FALLBACKS still open secrets sealed before
a key rotation.
"""

from __future__ import annotations

import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_NONCE_BYTES = 12
_HKDF_INFO = b"keyward.sso-client-secret.v1"


class SecretUnreadable(Exception):
    """The sealed secret does not open with SECRET_KEY or its fallbacks: enter it again."""


@functools.lru_cache(maxsize=8)
def _cipher(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return AESGCM(key)


def _associated_data(account_id: int) -> bytes:
    return f"keyward.sso-client-secret:{account_id}".encode("ascii")


def secret_seal(secret: str, *, account_id: int) -> bytes:
    """`secret` encrypted for storage (nonce + ciphertext), bound to its account."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(settings.SECRET_KEY).encrypt(
        nonce, secret.encode("utf-8"), _associated_data(account_id)
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
                .decode("utf-8")
            )
        except (InvalidTag, ValueError):
            continue
    raise SecretUnreadable("The SSO client secret cannot be read; enter it again.")
