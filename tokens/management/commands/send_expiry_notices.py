"""Email people about tokens that expire soon: 7 days and 1 day before (SPEC 9).

The worker runs this every hour (tokens/tasks.py); this command is the manual run.
What is sent, to whom and when lives in tokens/services/expiry.py.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from tokens.services.expiry import expiry_notices_due, expiry_notices_send


class Command(BaseCommand):
    help = "Email owners (and superusers, for automation tokens) 7 days and 1 day before expiry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Say who would be emailed; send nothing."
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        now = timezone.now()
        if dry_run:
            notices, _ = expiry_notices_due(now)
            for notice in notices:
                self.stdout.write(f"would email {notice.person.email}: {notice.subject}")
            return

        result = expiry_notices_send(now=now)
        for notice, problem in result.failed:
            self.stderr.write(f"could not email {notice.person.email}: {problem}")
        for notice in result.sent:
            count = len(notice.tokens)
            self.stdout.write(
                f"emailed {notice.person.email}: {count} token{'s' if count != 1 else ''}"
            )
        people = len(result.sent) + len(result.failed)
        self.stdout.write(
            self.style.SUCCESS(f"{result.recorded} token notice(s) sent to {people} person(s).")
        )
