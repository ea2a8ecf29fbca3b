"""Token secrets: generation, checksum, digest, display hint (SPEC 5), legacy key shape.

Nothing else. A secret is `kwu_` or `kwa_`, 32 random base62 characters, then a
6-character checksum: zlib.crc32 of everything before it, in base62, zero-padded.
A scanner can validate one offline, and the server refuses a bad checksum without
a database query. Only HMAC-SHA256(pepper, secret) is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from collections.abc import Sequence

from tokens.constants import (
    AUTOMATION_TOKEN_PREFIX,
    BASE62_ALPHABET,
    CHECKSUM_LENGTH,
    RANDOM_LENGTH,
    TOKEN_PATTERN,
    USER_TOKEN_PREFIX,
)

_TOKEN_RE = re.compile(TOKEN_PATTERN)
# Imported legacy keys (SPEC 9) have no fixed format beyond this shape.
_LEGACY_KEY_RE = re.compile(r"[A-Za-z0-9_.\-]{16,128}")
PREFIXES = {"user": USER_TOKEN_PREFIX, "automation": AUTOMATION_TOKEN_PREFIX}


def base62(number: int, width: int) -> str:
    """`number` in base62 (0-9A-Za-z), most significant digit first, left-padded with 0."""
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62_ALPHABET[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(body: str) -> str:
    """The 6-character checksum of `body` (prefix and random part)."""
    return base62(zlib.crc32(body.encode("ascii")) & 0xFFFFFFFF, CHECKSUM_LENGTH)


def generate(token_type: str) -> str:
    """A new secret for a token of `token_type` ("user" or "automation")."""
    body = PREFIXES[token_type] + "".join(
        secrets.choice(BASE62_ALPHABET) for _ in range(RANDOM_LENGTH)
    )
    return body + checksum(body)


def is_well_formed(value: str) -> bool:
    """Matches the token pattern and carries a valid checksum (no database needed)."""
    if not _TOKEN_RE.match(value):
        return False
    return hmac.compare_digest(checksum(value[:-CHECKSUM_LENGTH]), value[-CHECKSUM_LENGTH:])


def is_token_shaped(value: str) -> bool:
    """Looks like a Keyward token (prefix and 38 characters), whatever its checksum.

    For treating a pasted value as a secret: a token mistyped by one character
    is still one, so the checksum is not asked for.
    """
    return _TOKEN_RE.match(value) is not None


def is_legacy_key_shaped(value: str) -> bool:
    """16 to 128 letters, digits, '_', '.' or '-': what an imported legacy key may be.

    Checked before hashing a credential that is not a Keyward token, so anything
    else is refused without a database query.
    """
    return _LEGACY_KEY_RE.fullmatch(value) is not None


def digest(value: str, pepper: str) -> str:
    """HMAC-SHA256 of the secret under one pepper, as 64 hex characters."""
    return hmac.digest(
        pepper.encode("utf-8"), value.encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hex()


def digests(value: str, peppers: Sequence[str]) -> list[str]:
    """The secret's digest under every configured pepper, newest first."""
    return [digest(value, pepper) for pepper in peppers]


def display_hint(value: str) -> str:
    """What lists show instead of the secret: prefix and last 4 characters."""
    if value[:4] in (USER_TOKEN_PREFIX, AUTOMATION_TOKEN_PREFIX):
        return f"{value[:4]}…{value[-4:]}"
    return f"…{value[-4:]}"
