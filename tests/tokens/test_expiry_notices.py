"""`manage.py send_expiry_notices`: 7 days and 1 day before expiry, once each, one email each."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.dates import when_text
from accounts.models import User
from tests.factories import issue_automation_token, issue_user_token
from tokens.models import Token

pytestmark = pytest.mark.django_db


def _expiring_in(created, delta: timedelta) -> Token:
    Token.objects.filter(pk=created.token.pk).update(expires_at=timezone.now() + delta)
    return Token.objects.get(pk=created.token.pk)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("send_expiry_notices", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _to(email: str) -> list:
    return [message for message in mail.outbox if message.to == [email]]


@pytest.fixture
def people(account, member_factory):
    return {
        "owner": member_factory(account, "engineer", email="owner@example.org"),
        "boss": member_factory(account, "superuser", email="boss@example.org"),
        "boss2": member_factory(account, "superuser", email="boss2@example.org"),
        "viewer": member_factory(account, "user", email="viewer@example.org"),
    }


def test_one_email_per_person_listing_their_tokens(account, people):
    _expiring_in(issue_user_token(people["owner"], name="deploy script"), timedelta(days=6))
    _expiring_in(issue_user_token(people["owner"], name="backup job"), timedelta(hours=20))
    _expiring_in(issue_user_token(people["owner"], name="far away"), timedelta(days=30))
    issue_user_token(people["owner"], name="never", expires_at=None)
    _expiring_in(
        issue_automation_token(account, name="ci bot", creator=people["boss"]), timedelta(days=5)
    )

    _run()

    owner_mail = _to("owner@example.org")
    assert len(owner_mail) == 1
    body = owner_mail[0].body
    assert "deploy script" in body and "backup job" in body
    assert "far away" not in body and "never" not in body
    assert owner_mail[0].subject == "2 of your Keyward tokens expire soon"
    for boss in ("boss@example.org", "boss2@example.org"):  # automation: every superuser
        [message] = _to(boss)
        assert "ci bot" in message.body
        assert f"automation token of {account.name}" in message.body
    assert _to("viewer@example.org") == []
    assert len(mail.outbox) == 3


def test_each_notice_is_sent_once(people):
    token = _expiring_in(issue_user_token(people["owner"], name="soon"), timedelta(days=6))
    _run()
    _run()
    assert len(mail.outbox) == 1

    # Five days later the 1-day notice is due, once.
    expires_at = timezone.now() + timedelta(hours=23)
    Token.objects.filter(pk=token.pk).update(expires_at=expires_at)
    _run()
    _run()
    assert len(mail.outbox) == 2
    assert "within a day" in mail.outbox[1].body
    # The panel's one date format ("Dec 5, 2026 07:06"), in UTC.
    assert f"expires {when_text(expires_at)} UTC" in mail.outbox[1].body


def test_a_token_found_late_gets_only_the_one_day_notice(people):
    _expiring_in(issue_user_token(people["owner"], name="late"), timedelta(hours=12))
    _run()
    _run()
    assert len(mail.outbox) == 1
    assert Token.objects.get(name="late").expiry_notice_days == 1


def test_boundaries(people):
    _expiring_in(issue_user_token(people["owner"], name="eight days"), timedelta(days=8))
    _expiring_in(issue_user_token(people["owner"], name="expired"), -timedelta(minutes=1))
    _run()
    assert mail.outbox == []


def test_no_secret_in_the_email(people):
    created = issue_user_token(people["owner"], name="secretive")
    _expiring_in(created, timedelta(days=3))
    _run()
    [message] = mail.outbox
    assert created.secret not in message.body + message.subject
    assert created.token.display in message.body


def test_inactive_owners_get_nothing(people):
    _expiring_in(issue_user_token(people["owner"], name="x"), timedelta(days=3))
    User.objects.filter(pk=people["owner"].pk).update(is_active=False)
    _run()
    assert mail.outbox == []


def test_dry_run_sends_and_records_nothing(people):
    _expiring_in(issue_user_token(people["owner"], name="dry"), timedelta(days=3))
    output = _run("--dry-run")
    assert "would email owner@example.org" in output
    assert mail.outbox == []
    assert Token.objects.get(name="dry").expiry_notice_days is None


def test_the_email_links_to_where_the_token_can_be_rolled(people, settings):
    settings.KEYWARD_SITE_URL = "https://keyward.example"
    created = issue_user_token(people["owner"], name="linked")
    _expiring_in(created, timedelta(days=3))
    _run()
    [message] = mail.outbox
    assert f"https://keyward.example/tokens/#token-{created.token.pk}" in message.body
    assert "roll its secret" in message.body
