"""Delete tokens unused for two years (SPEC 9), never-expiring ones included.

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
from tokens.services import token_revoke


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
        verb = "would be deleted" if dry_run else "deleted"
        self.stdout.write(
            self.style.SUCCESS(f"{count} stale token{'s' if count != 1 else ''} {verb}.")
        )
