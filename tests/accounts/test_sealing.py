"""accounts.sealing: one use's sealed values open only for that use and what they are bound to."""

from __future__ import annotations

from accounts.sealing import Sealer

WEBHOOKS = Sealer(b"keyward.test-webhooks.v1")
SSO = Sealer(b"keyward.test-sso.v1")


def test_a_sealed_value_opens_with_its_label_and_associated_data():
    sealed = WEBHOOKS.seal(b"whsec_abc", associated=b"account:1")

    assert b"whsec_abc" not in sealed
    assert WEBHOOKS.open(sealed, associated=b"account:1") == b"whsec_abc"
    assert WEBHOOKS.open(memoryview(sealed), associated=b"account:1") == b"whsec_abc"


def test_another_label_another_binding_or_a_changed_byte_opens_nothing():
    sealed = WEBHOOKS.seal(b"whsec_abc", associated=b"account:1")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])

    assert SSO.open(sealed, associated=b"account:1") is None
    assert WEBHOOKS.open(sealed, associated=b"account:2") is None
    assert WEBHOOKS.open(tampered, associated=b"account:1") is None
    assert WEBHOOKS.open(b"short", associated=b"account:1") is None


def test_each_seal_takes_its_own_nonce():
    assert WEBHOOKS.seal(b"x", associated=b"a") != WEBHOOKS.seal(b"x", associated=b"a")


def test_a_rotated_key_still_opens_through_the_fallbacks(settings):
    sealed = WEBHOOKS.seal(b"kept", associated=b"a")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-0123456789"

    assert WEBHOOKS.open(sealed, associated=b"a") == b"kept"
    settings.SECRET_KEY_FALLBACKS = []
    assert WEBHOOKS.open(sealed, associated=b"a") is None
