"""Second factors for the accounts tests: a person with an app, and a software passkey.

`SoftPasskey` is a WebAuthn authenticator written with fido2's data structures and a
real P-256 key: it answers the server's challenges as a browser would send them
(webauthn-json's JSON), so allauth and fido2 check real signatures. The browser
tests use Chromium's virtual authenticator instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

import pyotp
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData

from accounts.factors import engine
from accounts.factors.services import totp_add
from tests.factories import PASSWORD
from tokens.events import Actor

ORIGIN = "https://testserver"  # the test client's host; fido2 wants https (or localhost)
UP, UV, AT = 0x01, 0x04, 0x40


class SoftPasskey:
    """A discoverable credential on a pretend device that always verifies its person."""

    def __init__(self, *, verified: bool = True) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.user_handle = b""
        self.counter = 0
        self.verified = verified

    def _flags(self) -> int:
        return UP | (UV if self.verified else 0)

    def register(self, options: dict, *, origin: str = ORIGIN) -> dict:
        """The answer to navigator.credentials.create(options), as the page posts it."""
        public_key = options["publicKey"]
        rp_id = public_key["rp"]["id"]
        self.user_handle = websafe_decode(public_key["user"]["id"])
        client_data = json.dumps(
            {"type": "webauthn.create", "challenge": public_key["challenge"], "origin": origin}
        ).encode()
        credential = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.key.public_key())
        )
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(),
            AuthenticatorData.FLAG(self._flags() | AT),
            self.counter,
            credential,
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return {
            "type": "public-key",
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(bytes(attestation)),
                "transports": ["internal"],
            },
            "clientExtensionResults": {"credProps": {"rk": True}},
        }

    def sign(self, options: dict, *, origin: str = ORIGIN) -> dict:
        """The answer to navigator.credentials.get(options)."""
        public_key = options["publicKey"]
        self.counter += 1
        client_data = json.dumps(
            {"type": "webauthn.get", "challenge": public_key["challenge"], "origin": origin}
        ).encode()
        auth_data = (
            hashlib.sha256(public_key["rpId"].encode()).digest()
            + bytes([self._flags()])
            + struct.pack(">I", self.counter)
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "type": "public-key",
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
                "userHandle": websafe_encode(self.user_handle),
            },
            "clientExtensionResults": {},
        }


def json_options(response) -> dict:
    """The WebAuthn options a page embeds for static/js/passkeys.js (a JSON data block)."""
    html = response.content.decode()
    for block_id in ("passkey-request-options", "passkey-creation-options"):
        start = html.find(f'<script id="{block_id}" type="application/json">')
        if start >= 0:
            start = html.index(">", start) + 1
            return json.loads(html[start : html.index("</script>", start)])
    raise AssertionError("no WebAuthn options on the page")


@pytest.fixture
def totp_person(account, member_factory):
    """An engineer with an authenticator app (and recovery codes); `.totp` makes codes."""
    person = member_factory(account, "engineer", email="two@example.org")
    secret = engine.totp_generate_secret()
    totp_add(actor=Actor.person(person), user=person, secret=secret)
    person.refresh_from_db()
    person.totp = pyotp.TOTP(secret)
    return person


@pytest.fixture
def recovery_codes():
    """recovery_codes(person) -> their unused recovery codes (what the page showed once)."""

    def codes(person) -> list[str]:
        authenticator = engine.Authenticator.objects.get(
            user=person, type=engine.FactorType.RECOVERY_CODES
        )
        return engine.recovery_codes_unused(authenticator)

    return codes


@pytest.fixture
def password_step():
    """password_step(client, person) signs in with the password: the second step waits."""

    def step(client: Client, person, data_next: str = "", **extra):
        data = {"email": person.email, "password": PASSWORD}
        if data_next:
            data["next"] = data_next
        return client.post("/sign-in/", data, **extra)

    return step


@pytest.fixture
def sudo_with_code():
    """sudo_with_code(client, person) confirms sudo mode with a fresh authenticator code."""

    def confirm(client: Client, person, next_url: str = "/security/"):
        return client.post("/sudo/", {"code": person.totp.now(), "next": next_url})

    return confirm
