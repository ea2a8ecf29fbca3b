"""Token secrets (SPEC 5): format, checksum, digest and display hint."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokens import crypto

TOKEN_RE = re.compile(r"^kw[ua]_[0-9A-Za-z]{38}$")
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crc32_by_hand(data: bytes) -> int:
    """CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), bit by bit, as zlib defines it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def checksum_by_hand(body: str) -> str:
    number, digits = crc32_by_hand(body.encode("ascii")), ""
    while number:
        number, remainder = divmod(number, 62)
        digits = ALPHABET[remainder] + digits
    return digits.rjust(6, "0")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # crc32 = 1886479623 = 2*62^5 + 3*62^4 + 41*62^3 + 29*62^2 + 32*62 + 43
        ("kwu_" + "0" * 32, "23fTWh"),
        # crc32 = 107509894 < 62^5: five digits, left-padded with one "0"
        ("kwa_abcdefghijklmnopqrstuvwxyzABCDEF", "07H6EY"),
    ],
)
def test_checksum_matches_known_vectors(body, expected):
    assert checksum_by_hand(body) == expected
    assert crypto.checksum(body) == expected
    assert crypto.is_well_formed(body + expected)


# No timing limits: a CI machine busy with browser tests must not fail these.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["user", "automation"]))
def test_every_generated_token_matches_the_pattern_and_validates(token_type):
    secret = crypto.generate(token_type)
    assert TOKEN_RE.match(secret)
    assert secret.startswith("kwu_" if token_type == "user" else "kwa_")
    assert crypto.is_well_formed(secret)
    assert secret[-6:] == checksum_by_hand(secret[:-6])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(["kwu_", "kwa_"]),
    random_part=st.text(alphabet=ALPHABET, min_size=32, max_size=32),
    position=st.integers(min_value=0, max_value=41),
    replacement=st.sampled_from(ALPHABET + "_-"),
)
def test_any_one_character_change_fails_the_checksum(prefix, random_part, position, replacement):
    body = prefix + random_part
    secret = body + crypto.checksum(body)
    assert crypto.is_well_formed(secret)
    if replacement == secret[position]:
        return
    changed = secret[:position] + replacement + secret[position + 1 :]
    assert not crypto.is_well_formed(changed)


def test_every_one_character_change_of_real_secrets_fails():
    for token_type in ("user", "automation", "user"):
        secret = crypto.generate(token_type)
        for position, original in enumerate(secret):
            for replacement in ALPHABET + "_-":
                if replacement != original:
                    changed = secret[:position] + replacement + secret[position + 1 :]
                    assert not crypto.is_well_formed(changed), (secret, position, replacement)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes_the_check(text):
    assert crypto.is_well_formed(text) in (True, False)


def test_secrets_are_random():
    assert len({crypto.generate("user") for _ in range(200)}) == 200


def test_malformed_values_are_refused_offline():
    secret = crypto.generate("user")
    for bad in ("", secret[:-1], secret + "a", "kwx_" + secret[4:], secret.replace("_", "-")):
        assert not crypto.is_well_formed(bad)


def test_digest_is_hmac_sha256_of_the_secret_under_the_pepper():
    secret = crypto.generate("automation")
    expected = hmac.new(b"pepper-1", secret.encode(), hashlib.sha256).hexdigest()
    assert crypto.digest(secret, "pepper-1") == expected
    assert crypto.digest(secret, "pepper-2") != expected
    assert crypto.digests(secret, ["pepper-2", "pepper-1"])[1] == expected


def test_display_hint_shows_prefix_and_last_four_only():
    secret = crypto.generate("user")
    assert crypto.display_hint(secret) == f"kwu_…{secret[-4:]}"
    assert secret[4:-4] not in crypto.display_hint(secret)


@pytest.mark.parametrize(
    ("value", "shaped"),
    [
        ("a" * 16, True),
        ("Legacy_key-1.2345", True),
        ("x" * 128, True),
        ("a" * 15, False),
        ("x" * 129, False),
        ("has space in it ok", False),
        ("a" * 16 + "\n", False),
        ("ключ-ключ-ключ-ключ", False),
    ],
)
def test_legacy_key_shape(value, shaped):
    assert crypto.is_legacy_key_shaped(value) is shaped


SCANNING_DOC = Path(__file__).resolve().parents[2] / "docs" / "secret-scanning.md"


def _fenced_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```$", text, flags=re.M | re.S)


def test_the_docs_worked_checksum_example_is_what_the_code_computes():
    body = "kwu_0123456789ABCDEFGHIJabcdefghij01"
    assert crypto.checksum(body) == "0EKguj"
    assert f"token     {body}0EKguj" in SCANNING_DOC.read_text()


def test_the_docs_scanner_regex_finds_tokens_inside_lines_and_the_anchored_one_does_not():
    blocks = _fenced_blocks(SCANNING_DOC.read_text())
    scanner = re.compile(next(b.strip() for b in blocks if b.strip().startswith(r"\bkw")))
    tokens = [crypto.generate("user"), crypto.generate("automation")]
    text = (
        f"export KEYWARD_TOKEN={tokens[0]}\n"
        f'{{"token": "{tokens[1]}"}}\n'
        f"Authorization: Bearer {tokens[0]} # and x{tokens[1]} is not one\n"
    )
    assert scanner.findall(text) == [tokens[0], tokens[1], tokens[0]]
    assert TOKEN_RE.findall(text) == []  # the anchored form (^...$) matches nothing in a line


def test_the_docs_python_checksum_check_accepts_real_tokens_and_refuses_a_typo():
    snippet = next(b for b in _fenced_blocks(SCANNING_DOC.read_text()) if "def is_" in b)
    namespace: dict = {}
    exec(snippet, namespace)  # the doc's own code, as a scanner author would copy it
    is_keyward_token = namespace["is_keyward_token"]
    for _ in range(50):
        token = crypto.generate("user")
        assert is_keyward_token(token)
        typo = token[:10] + ("b" if token[10] == "a" else "a") + token[11:]
        assert not is_keyward_token(typo)
