"""An SSO client secret, sealed at rest (SPEC 17).

Sealed by accounts.sealing with its own HKDF label, bound to the account's id.
"""

from __future__ import annotations

from accounts.sealing import Sealer

_SEALER = Sealer(b"keyward.sso-client-secret.v1")


class SecretUnreadable(Exception):
    """The sealed secret does not open with SECRET_KEY or its fallbacks: enter it again."""


def _associated_data(account_id: int) -> bytes:
    return f"keyward.sso-client-secret:{account_id}".encode("ascii")


def secret_seal(secret: str, *, account_id: int) -> bytes:
    """`secret` encrypted for storage (nonce + ciphertext), bound to its account."""
    return _SEALER.seal(secret.encode("utf-8"), associated=_associated_data(account_id))


def secret_open(sealed: bytes | memoryview, *, account_id: int) -> str:
    """The secret `secret_seal` sealed, or SecretUnreadable."""
    opened = _SEALER.open(sealed, associated=_associated_data(account_id))
    if opened is None:
        raise SecretUnreadable("The SSO client secret cannot be read; enter it again.")
    return opened.decode("utf-8")
