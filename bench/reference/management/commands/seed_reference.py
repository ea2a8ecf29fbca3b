"""`manage.py seed_reference`: a user and the reference's data; the routes as JSON on stdout.

The JSON carries the credentials: `make bench-http` reads it through a pipe and
never prints it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from bench.reference.seed import seed_reference


class Command(BaseCommand):
    help = "Seed the reference project; print its routes and credentials as JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--zones", type=int, default=40)

    def handle(self, *args: Any, zones: int, **options: Any) -> None:
        user = get_user_model().objects.create_user(
            username=f"bench-{secrets.token_hex(4)}",
            email="bench@example.com",
            password=secrets.token_urlsafe(),
        )
        self.stdout.write(json.dumps(seed_reference(user, zones=zones)))
