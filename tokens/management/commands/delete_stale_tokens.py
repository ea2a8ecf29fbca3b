"""Delete tokens unused for two years (SPEC 9), never-expiring ones included, revoke
automation tokens past their account's maximum idle time (SPEC 15), and delete usage
records older than 90 days (SPEC 13).

The worker runs this daily (tokens/tasks.py); this command is the manual run, and
`--dry-run` lists what would go. The rules live in tokens/services/cleanup.py.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from tokens.models import Token
from tokens.policies.selectors import idle_automation_tokens
from tokens.services.cleanup import stale_tokens, stale_tokens_clean


def _line(token: Token) -> str:
    if token.user:
        owner = token.user.email
    else:
        assert token.account is not None  # an automation token
        owner = f"account {token.account.slug}"
    used = (
        f"last used {token.last_used_at:%Y-%m-%d}"
        if token.last_used_at
        else f"never used, created {token.created_at:%Y-%m-%d}"
    )
    return f"{token.pk}\t{token.display}\t{token.name}\t{owner}\t{used}"


def _idle_line(token: Token) -> str:
    assert token.account is not None  # idle_automation_tokens: automation tokens only
    return f"{token.pk}\t{token.display}\t{token.name}\taccount {token.account.slug}"


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


class Command(BaseCommand):
    help = "Delete tokens unused for two years (never used: counted from creation), and log each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List the tokens that would go; delete nothing."
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        now = timezone.now()
        if dry_run:
            stale = list(stale_tokens(now))
            for token in stale:
                self.stdout.write(f"would delete {_line(token)}")
            self.stdout.write(
                self.style.SUCCESS(f"{_count(len(stale), 'stale token')} would be deleted.")
            )
            idle = idle_automation_tokens(now)
            for token in idle:
                self.stdout.write(f"would revoke (policy: Maximum idle time) {_idle_line(token)}")
            self.stdout.write(
                self.style.SUCCESS(
                    f"{_count(len(idle), 'idle automation token')} would be revoked "
                    "(policy: Maximum idle time)."
                )
            )
            return

        done = stale_tokens_clean(now=now)
        for token in done.deleted:
            self.stdout.write(f"deleted {_line(token)}")
        self.stdout.write(f"{_count(done.old_usage, 'usage record')} older than 90 days deleted.")
        self.stdout.write(
            self.style.SUCCESS(f"{_count(len(done.deleted), 'stale token')} deleted.")
        )
        for token in done.revoked_idle:
            self.stdout.write(f"revoked (policy: Maximum idle time) {_idle_line(token)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{_count(len(done.revoked_idle), 'idle automation token')} revoked "
                "(policy: Maximum idle time)."
            )
        )
