"""The one-time hand-off of a new secret to its reveal page, in an encrypted cookie.

Whoever issues a secret (the create wizard, rolling a secret) calls
`reveal_attach` on its redirect; the reveal page calls `reveal_take`, which
returns the secret once and deletes the cookie. The secret never touches the
session store or any table.

Once is enforced on the server, not trusted to the browser: the cookie also
carries a single-use id, a PendingReveal row, and the secret is shown only by
the request whose conditional DELETE removes that row. A reload, the back
button, a second tab or a replayed cookie (one after another or at the same
moment) finds the row gone and shows nothing.

The cookie is AES-GCM encrypted (not merely signed) under a key derived from
SECRET_KEY with HKDF, with a random nonce per cookie. The signed-in person's id
and the token's id are its associated data: it opens only on that token's
reveal, for that person. It is HttpOnly, SameSite=Strict, scoped to the reveal
URL, and Secure whenever the session cookie is (behind a TLS proxy too).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone

from accounts.http import AuthenticatedRequest
from accounts.sealing import Sealer
from tokens.reveal.models import PendingReveal

COOKIE_NAME = "kw_reveal"
LIFETIME_SECONDS = 5 * 60  # a secret left unclaimed this long is dropped
_SEALER = Sealer(b"keyward.reveal-cookie.v1")


def _associated_data(user_id: int, token_id: int) -> bytes:
    return f"keyward.reveal:{user_id}:{token_id}".encode("ascii")


def reveal_attach(
    response: HttpResponse, *, request: AuthenticatedRequest, token_id: int, secret: str, path: str
) -> None:
    """Put `secret` on `response` for the reveal page at `path` (the signed-in person's)."""
    now = timezone.now()
    PendingReveal.objects.filter(created_at__lt=now - timedelta(seconds=LIFETIME_SECONDS)).delete()
    reveal = PendingReveal.objects.create(id=secrets.token_hex(16), created_at=now)
    plaintext = f"{int(time.time())}:{reveal.pk}:{secret}".encode()
    sealed = _SEALER.seal(plaintext, associated=_associated_data(request.user.pk, token_id))
    response.set_cookie(
        COOKIE_NAME,
        base64.urlsafe_b64encode(sealed).decode("ascii"),
        max_age=LIFETIME_SECONDS,
        path=path,
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def reveal_take(
    request: AuthenticatedRequest, response: HttpResponse, *, token_id: int
) -> str | None:
    """The secret waiting for this token's reveal, once (the cookie is deleted), or None.

    None when there is no cookie, it was made for another token or person, it is
    older than LIFETIME_SECONDS, it was tampered with, or it was shown already.
    """
    value = request.COOKIES.get(COOKIE_NAME)
    if value is None:
        return None
    response.delete_cookie(COOKIE_NAME, path=request.path, samesite="Strict")
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    plaintext = _SEALER.open(raw, associated=_associated_data(request.user.pk, token_id))
    if plaintext is None:
        return None
    issued, reveal_id, secret = [*plaintext.decode("utf-8").split(":", 2), "", ""][:3]
    fresh = issued.isdigit() and 0 <= time.time() - int(issued) <= LIFETIME_SECONDS
    if fresh and reveal_id and secret and _claim(reveal_id):
        return secret
    return None


def _claim(reveal_id: str) -> bool:
    """True for the one request whose DELETE removes the reveal's row (atomic in the database)."""
    deleted, _ = PendingReveal.objects.filter(pk=reveal_id).delete()
    return deleted == 1
