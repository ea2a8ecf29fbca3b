"""`manage.py delete_stale_tokens`: tokens unused for two years go, each logged."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import issue_automation_token, issue_user_token
from tokens.constants import STALE_AFTER
from tokens.models import ActorKind, Event, EventKind, Token

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _aged(created, *, created_ago: timedelta, used_ago: timedelta | None = None) -> Token:
    now = timezone.now()
    Token.objects.filter(pk=created.token.pk).update(
        created_at=now - created_ago,
        last_used_at=None if used_ago is None else now - used_ago,
    )
    return Token.objects.get(pk=created.token.pk)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("delete_stale_tokens", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def tokens(account, member_factory):
    owner = member_factory(account, "engineer")
    superuser = member_factory(account, "superuser")
    return {
        # never used, created two years and a day ago, never expires: goes
        "never used, old": _aged(
            issue_user_token(owner, name="forgotten", expires_at=None),
            created_ago=STALE_AFTER + DAY,
        ),
        # never used, created one day short of two years: stays
        "never used, almost old": _aged(
            issue_user_token(owner, name="almost", expires_at=None),
            created_ago=STALE_AFTER - DAY,
        ),
        # created long ago but used a day short of two years ago: stays
        "used recently enough": _aged(
            issue_automation_token(account, name="busy bot", creator=superuser, expires_at=None),
            created_ago=STALE_AFTER * 2,
            used_ago=STALE_AFTER - DAY,
        ),
        # last used two years and a day ago: goes
        "used long ago": _aged(
            issue_automation_token(account, name="old bot", creator=superuser, expires_at=None),
            created_ago=STALE_AFTER * 2,
            used_ago=STALE_AFTER + DAY,
        ),
        "new": issue_user_token(owner, name="fresh").token,
    }


def test_deletes_tokens_unused_for_two_years_and_logs_each(tokens, account):
    output = _run()

    remaining = set(Token.objects.values_list("name", flat=True))
    assert remaining == {"almost", "busy bot", "fresh"}
    assert "2 stale tokens deleted." in output
    events = Event.objects.filter(kind=EventKind.TOKEN_REVOKED).order_by("token_name")
    assert [event.token_name for event in events] == ["forgotten", "old bot"]
    for event in events:
        assert event.actor_kind == ActorKind.SYSTEM
        assert event.actor_user is None
        assert event.details["revoked_by"] == "cleanup"
        assert "stale-token cleanup" in event.summary
    assert events.get(token_name="old bot").account == account


def test_dry_run_lists_and_deletes_nothing(tokens):
    before = Token.objects.count()
    output = _run("--dry-run")
    assert Token.objects.count() == before
    assert not Event.objects.filter(kind=EventKind.TOKEN_REVOKED).exists()
    assert "forgotten" in output and "old bot" in output
    assert "almost" not in output and "busy bot" not in output
    assert "2 stale tokens would be deleted." in output


def test_exactly_two_years_counts_as_stale(account, member_factory):
    owner = member_factory(account, "user")
    _aged(issue_user_token(owner, name="edge", expires_at=None), created_ago=STALE_AFTER)
    _run()
    assert not Token.objects.filter(name="edge").exists()


def test_running_again_finds_nothing(tokens):
    _run()
    assert "0 stale tokens deleted." in _run()
    assert Event.objects.filter(kind=EventKind.TOKEN_REVOKED).count() == 2


def test_an_old_legacy_key_counts_from_its_import(account, tmp_path):
    path = tmp_path / "keys.csv"
    path.write_text(f"account,key,created_at\n{account.slug},very-old-legacy-key-2015,2015-06-01\n")
    call_command("import_legacy_keys", str(path), stdout=StringIO())
    token = Token.objects.get(is_legacy=True)
    assert token.created_at.year == 2015

    _run()
    assert Token.objects.filter(pk=token.pk).exists()

    Token.objects.filter(pk=token.pk).update(imported_at=timezone.now() - STALE_AFTER - DAY)
    _run()
    assert not Token.objects.filter(pk=token.pk).exists()
