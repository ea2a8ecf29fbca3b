"""Leak response (SPEC 12): the public report endpoint and GitHub secret scanning alerts."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail

from tests.factories import UserFactory, issue_automation_token, issue_user_token
from tokens import crypto
from tokens.events import Actor
from tokens.models import Event, Token
from tokens.services.issue import token_create
from tokens.services.roll import token_roll

# Revocation emails are queued once each revocation commits (the queue runs them inline
# in tests): these tests commit, as a request does.
pytestmark = pytest.mark.django_db(transaction=True)

REPORT = "/api/v1/credentials/revoke"
GITHUB = "/api/v1/secret-scanning/github"


def report(client, credentials, ip="198.51.100.7"):
    return client.post(
        REPORT,
        data=json.dumps({"credentials": credentials}),
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def works(client, secret) -> bool:
    answer = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}")
    return answer.status_code == 200


@pytest.fixture
def owner(account, member_factory):
    return member_factory(account, "superuser", email="owner@example.com")


def assert_no_secret_anywhere(*secrets):
    texts = [
        json.dumps(event.details) + event.summary + event.token_display
        for event in Event.objects.all()
    ]
    texts += [message.subject + message.body for message in mail.outbox]
    for secret in secrets:
        assert all(secret not in text for text in texts)


# --------------------------------------------------------------------------- public report


def test_garbage_and_valid_mixed_revokes_the_valid_and_says_nothing_more(client, owner):
    live = issue_user_token(owner, name="Laptop")
    other = issue_user_token(owner, name="Kept")
    garbage = ["", "x", "kwu_" + "A" * 38, "not a token at all", "é" * 50, live.secret + "x"]
    answer = report(client, [*garbage, live.secret])
    assert answer.status_code == 202
    assert answer.json() == {"data": {"received": 7}}
    assert not works(client, live.secret)
    assert works(client, other.secret)
    event = Event.objects.get(kind="token.revoked")
    assert event.details["revoked_by"] == "leak_report" and event.token_id == live.token.pk
    assert_no_secret_anywhere(live.secret)


def test_only_garbage_still_answers_202(client):
    answer = report(client, ["nothing", "kwa_" + "0" * 38])
    assert answer.status_code == 202 and answer.json() == {"data": {"received": 2}}
    assert not mail.outbox


def test_a_previous_secret_in_its_grace_revokes_the_token(client, owner):
    created = issue_user_token(owner)
    rolled = token_roll(actor=Actor.person(owner), token=created.token, grace_period=timedelta(1))
    report(client, [created.secret])
    assert not works(client, rolled.secret)
    assert not Token.objects.exists()


def test_a_previous_secret_past_its_grace_is_not_live(client, owner):
    created = issue_user_token(owner)
    rolled = token_roll(actor=Actor.person(owner), token=created.token, grace_period=timedelta(1))
    Token.objects.update(previous_secret_expires_at=created.token.created_at)
    report(client, [created.secret])
    assert works(client, rolled.secret)


def test_an_imported_legacy_key_is_revoked(client, account, owner):
    legacy_owner = UserFactory(is_synthetic=True, name="Global API Token")
    account.memberships.create(user=legacy_owner, role="superuser")
    key = "legacy-key-0123456789abcdef"
    token_create(
        actor=Actor.system("import"),
        token_type="user",
        name="Legacy key",
        owner=legacy_owner,
        legacy_key=key,
        expires_at=None,
    )
    assert works(client, key)
    report(client, [key])
    assert not works(client, key)
    # the synthetic owner cannot read mail: the account's superusers are told
    assert [message.to for message in mail.outbox] == [[owner.email]]


def test_reports_are_rate_limited_per_ip(client):
    for _ in range(60):
        assert report(client, ["x"]).status_code == 202
    refused = report(client, ["x"])
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    assert report(client, ["x"], ip="198.51.100.8").status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        "{",
        "[]",
        json.dumps({"credentials": []}),
        json.dumps({"credentials": "kwu_x"}),
        json.dumps({"credentials": [1, 2]}),
        json.dumps({"credentials": ["x"] * 1001}),
        json.dumps({"credentials": ["x"], "extra": True}),
        json.dumps({"credentials": ["a\x00b"]}),
    ],
)
def test_a_malformed_report_is_refused(client, owner, body):
    live = issue_user_token(owner)
    answer = client.post(REPORT, data=body, content_type="application/json")
    assert answer.status_code in (400, 422)
    assert answer.json()["error"] == "invalid_request"
    assert works(client, live.secret)


def test_the_owner_gets_one_email_naming_the_token_never_the_secret(client, owner):
    live = issue_user_token(owner, name="CI deploys")
    report(client, [live.secret, live.secret])
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert "CI deploys" in message.body and live.token.display in message.body
    assert "/tokens/new/" in message.body
    assert_no_secret_anywhere(live.secret)


def test_an_automation_tokens_superusers_are_told(client, account, owner, member_factory):
    second = member_factory(account, "superuser")
    engineer = member_factory(account, "engineer")
    live = issue_automation_token(account, creator=owner, name="Terraform")
    report(client, [live.secret])
    assert sorted(message.to[0] for message in mail.outbox) == sorted([owner.email, second.email])
    assert engineer.email not in [message.to[0] for message in mail.outbox]
    assert "Terraform" in mail.outbox[0].body


# --------------------------------------------------------------------------- GitHub


@pytest.fixture
def github_key(settings):
    private = ec.generate_private_key(ec.SECP256R1())
    pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.KEYWARD_SECRET_SCANNING_KEYS = json.dumps(
        {"public_keys": [{"key_identifier": "key-1", "key": pem, "is_current": True}]}
    )
    return private


def sign(private, body: bytes) -> str:
    return base64.b64encode(private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()


def alert(client, body: bytes, signature: str, key_id="key-1"):
    return client.post(
        GITHUB,
        data=body,
        content_type="application/json",
        HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER=key_id,
        HTTP_GITHUB_PUBLIC_KEY_SIGNATURE=signature,
    )


def alert_body(*tokens) -> bytes:
    return json.dumps(
        [
            {
                "token": token,
                "type": "keyward_user_token",
                "url": "https://github.com/octo/repo/blob/main/.env",
                "source": "content",
            }
            for token in tokens
        ]
    ).encode()


def test_a_signed_alert_revokes_and_labels_each_item(client, owner, github_key):
    live = issue_user_token(owner, name="Leaky")
    fake = "kwu_" + "A" * 32 + crypto.checksum("kwu_" + "A" * 32)
    body = alert_body(live.secret, fake)
    answer = alert(client, body, sign(github_key, body))
    assert answer.status_code == 200
    # Each item by the SHA-256 of its token (GitHub's `token_hash`): the secret is never echoed.
    assert answer.json() == [
        {
            "token_hash": hashlib.sha256(live.secret.encode()).hexdigest(),
            "token_type": "keyward_user_token",
            "label": "true_positive",
        },
        {
            "token_hash": hashlib.sha256(fake.encode()).hexdigest(),
            "token_type": "keyward_user_token",
            "label": "false_positive",
        },
    ]
    assert live.secret.encode() not in answer.content and fake.encode() not in answer.content
    assert not works(client, live.secret)
    event = Event.objects.get(kind="token.revoked")
    assert event.details["revoked_by"] == "leak_report"
    assert event.details["url"] == "https://github.com/octo/repo/blob/main/.env"
    assert event.details["source"] == "content"
    assert (event.channel, event.actor_label) == ("leak_report", "GitHub secret scanning")
    assert len(mail.outbox) == 1
    assert "https://github.com/octo/repo/blob/main/.env" in mail.outbox[0].body
    assert_no_secret_anywhere(live.secret)


def test_the_keys_may_come_from_a_file(client, owner, github_key, settings, tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(settings.KEYWARD_SECRET_SCANNING_KEYS)
    settings.KEYWARD_SECRET_SCANNING_KEYS = str(path)
    live = issue_user_token(owner)
    body = alert_body(live.secret)
    assert alert(client, body, sign(github_key, body)).status_code == 200
    assert not works(client, live.secret)


def test_a_bad_signature_revokes_nothing(client, owner, github_key):
    live = issue_user_token(owner)
    body = alert_body(live.secret)
    other = ec.generate_private_key(ec.SECP256R1())
    for signature in (sign(other, body), "", "not base64!", base64.b64encode(b"junk").decode()):
        answer = alert(client, body, signature)
        assert answer.status_code == 401, signature
    assert works(client, live.secret)


def test_a_tampered_body_revokes_nothing(client, owner, github_key):
    live = issue_user_token(owner)
    signed = alert_body("kwu_nothing")
    tampered = alert_body(live.secret)
    assert alert(client, tampered, sign(github_key, signed)).status_code == 401
    assert works(client, live.secret)


def test_an_unknown_key_revokes_nothing(client, owner, github_key):
    live = issue_user_token(owner)
    body = alert_body(live.secret)
    assert alert(client, body, sign(github_key, body), key_id="key-2").status_code == 401
    answer = client.post(GITHUB, data=body, content_type="application/json")
    assert answer.status_code == 401
    assert works(client, live.secret)


def test_no_configured_keys_refuse_every_alert(client, owner, settings):
    settings.KEYWARD_SECRET_SCANNING_KEYS = ""
    live = issue_user_token(owner)
    private = ec.generate_private_key(ec.SECP256R1())
    body = alert_body(live.secret)
    assert alert(client, body, sign(private, body)).status_code == 401
    assert works(client, live.secret)


def test_a_signed_body_in_the_wrong_shape_is_422(client, github_key):
    body = json.dumps({"token": "x"}).encode()
    answer = alert(client, body, sign(github_key, body))
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"
