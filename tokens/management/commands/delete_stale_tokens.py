"""Delete tokens unused for two years (SPEC 9), never-expiring ones included, revoke
automation tokens past their account's maximum idle time (SPEC 15), and delete usage
records older than 90 days (SPEC 13).

A token never used counts from its creation (an imported legacy key from its
import). Each deletion is a revoke by the
cleanup, logged with the system as the actor. Run it daily from cron.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from tokens.constants import STALE_AFTER
from tokens.events import Actor
from tokens.models import Token
from tokens.policies import idle_automation_tokens
from tokens.services import token_revoke
from tokens.usage import usage_delete_old


def stale_tokens(now: datetime) -> QuerySet[Token]:
    """Tokens whose last use (or creation, if never used) is two years ago or more.

    An imported legacy key keeps its original creation date, but its use before
    the import is unknown: for it the clock starts at the import.
    """
    return (
        Token.objects.annotate(last_activity=Coalesce("last_used_at", "imported_at", "created_at"))
        .filter(last_activity__lte=now - STALE_AFTER)
        .select_related("user", "account")
        .order_by("last_activity", "pk")
    )


class Command(BaseCommand):
    help = "Delete tokens unused for two years (never used: counted from creation), and log each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List the tokens that would go; delete nothing."
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        now = timezone.now()
        actor = Actor.system("stale-token cleanup")
        count = 0
        for token in stale_tokens(now):
            count += 1
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
            line = f"{token.pk}\t{token.display}\t{token.name}\t{owner}\t{used}"
            if dry_run:
                self.stdout.write(f"would delete {line}")
                continue
            token_revoke(actor=actor, token=token, revoked_by="cleanup")
            self.stdout.write(f"deleted {line}")
        if not dry_run:
            old = usage_delete_old(now=now)
            self.stdout.write(
                f"{old} usage record{'s' if old != 1 else ''} older than 90 days deleted."
            )
        verb = "would be deleted" if dry_run else "deleted"
        self.stdout.write(
            self.style.SUCCESS(f"{count} stale token{'s' if count != 1 else ''} {verb}.")
        )
        self._revoke_idle(now, actor, dry_run=dry_run)

    def _revoke_idle(self, now: datetime, actor: Actor, *, dry_run: bool) -> None:
        """Automation tokens past their account's maximum idle time (SPEC 15) are revoked.

        User tokens past it are only blocked in that account (at request time).
        """
        idle = idle_automation_tokens(now)
        for token in idle:
            assert token.account is not None  # idle_automation_tokens: automation tokens only
            line = f"{token.pk}\t{token.display}\t{token.name}\taccount {token.account.slug}"
            if dry_run:
                self.stdout.write(f"would revoke (policy: Maximum idle time) {line}")
                continue
            token_revoke(actor=actor, token=token, revoked_by="max_idle")
            self.stdout.write(f"revoked (policy: Maximum idle time) {line}")
        verb = "would be revoked" if dry_run else "revoked"
        count = len(idle)
        self.stdout.write(
            self.style.SUCCESS(
                f"{count} idle automation token{'s' if count != 1 else ''} {verb} "
                "(policy: Maximum idle time)."
            )
        )
