"""Write the usage buffered in the cache to the database now (SPEC 13).

Requests write their token's buffer at most once a minute; this writes every
token's, including tokens that stopped calling. Safe to run at any time and
concurrently with requests: it never counts a request twice. The worker runs it
every minute (tokens/tasks.py); this command is the manual run (the buffer lives 8 days).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from tokens.usage.services import usage_flush_all


class Command(BaseCommand):
    help = "Write buffered token usage (counts and denials) from the cache to the database."

    def handle(self, *args: Any, **options: Any) -> None:
        count = usage_flush_all(now=timezone.now())
        self.stdout.write(f"Usage of {count} token{'s' if count != 1 else ''} written.")
