"""Secrets kept sealed: AES-GCM under a key derived from SECRET_KEY.

Each use has its own HKDF label (so one use's key never opens another's), the caller
binds a sealed value to what it belongs to with associated data (an account, a person
and a token), and every seal takes a random 12-byte nonce, stored in front of the
ciphertext. SECRET_KEY_FALLBACKS still open values sealed before a key rotation.
Used by SSO client secrets, webhook signing secrets and the reveal cookie.
"""

from __future__ import annotations

import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

NONCE_BYTES = 12


@functools.lru_cache(maxsize=16)
def _cipher(label: bytes, secret_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        secret_key.encode("utf-8")
    )
    return AESGCM(key)


class Sealer:
    """Seals and opens values for one use, named by its HKDF label."""

    def __init__(self, label: bytes) -> None:
        self._label = label

    def seal(self, plaintext: bytes, *, associated: bytes) -> bytes:
        """`plaintext` encrypted (nonce + ciphertext) under SECRET_KEY, bound to `associated`."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + _cipher(self._label, settings.SECRET_KEY).encrypt(
            nonce, plaintext, associated
        )

    def open(self, sealed: bytes | memoryview, *, associated: bytes) -> bytes | None:
        """What `seal` sealed with the same `associated`, or None (tampered, another key)."""
        raw = bytes(sealed)
        nonce, ciphertext = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        for secret_key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
            try:
                return _cipher(self._label, secret_key).decrypt(nonce, ciphertext, associated)
            except (InvalidTag, ValueError):
                continue
        return None
