"""GitHub secret scanning (SPEC 12): its signed alerts, checked against GitHub's public keys.

tokens.api.leaks checks the signature and reads the alerts here, then revokes through
tokens.leaks.services.credentials_revoke_later.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings

from tokens.constants import MAX_REPORTED_CREDENTIALS

logger = logging.getLogger(__name__)


def _scanning_keys() -> Mapping[str, str]:
    """key_identifier -> PEM, from KEYWARD_SECRET_SCANNING_KEYS (inline JSON or a file path)."""
    configured = (settings.KEYWARD_SECRET_SCANNING_KEYS or "").strip()
    if not configured:
        return {}
    try:
        text = configured if configured.startswith("{") else Path(configured).read_text()
        keys = json.loads(text)["public_keys"]
        return {str(key["key_identifier"]): str(key["key"]) for key in keys}
    except (OSError, ValueError, KeyError, TypeError):
        logger.error("KEYWARD_SECRET_SCANNING_KEYS is not GitHub's public keys JSON")
        return {}


def github_signature_valid(body: bytes, key_identifier: str, signature: str) -> bool:
    """The body carries a good ECDSA P-256/SHA-256 signature by the key GitHub names."""
    pem = _scanning_keys().get(key_identifier)
    if not pem or not signature:
        return False
    try:
        public_key = load_pem_public_key(pem.encode("ascii"))
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError, binascii.Error):
        return False
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    try:
        public_key.verify(raw, body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def github_alerts(payload: Any) -> list[dict[str, str]] | None:
    """GitHub's alert items as {token, type, url, source}, or None when the shape is wrong."""
    if not isinstance(payload, list) or not 1 <= len(payload) <= MAX_REPORTED_CREDENTIALS:
        return None
    items = []
    for item in payload:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None
        fields = {name: item.get(name) or "" for name in ("type", "url", "source")}
        if not all(isinstance(value, str) for value in fields.values()):
            return None
        items.append({"token": item["token"], **fields})
    return items
