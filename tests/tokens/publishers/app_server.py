"""A second Keyward app server for the replay test: its own process, Django and database
connection, sharing the database file named by DATABASE_URL.

    python -m tests.tokens.publishers.app_server setup ISSUER
    python -m tests.tokens.publishers.app_server exchange ID_TOKEN   # prints: STATUS MESSAGE
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402


def setup(issuer: str) -> None:
    """The database, an account, its superuser and a publisher trusting `issuer`."""
    from accounts.models import Account, Membership, User
    from tokens.events import Actor
    from tokens.publishers.services import publisher_create
    from tokens.publishers.validation import publisher_input_clean

    call_command("migrate", verbosity=0)
    account = Account.objects.create(name="Acme", slug="acme", plan="teams")
    owner = User.objects.create_user("owner@example.org", "a-long-password")
    Membership.objects.create(user=owner, account=account, role="superuser")
    cleaned = publisher_input_clean(
        account,
        name="Deploys",
        provider="github",
        issuer=issuer,
        conditions={
            "repository": "octo-org/octo-repo",
            "repository_id": "74",
            "repository_owner_id": "65",
            "environment": "prod",
        },
        grant={"scopes": ["zones:read"]},
    )
    publisher_create(actor=Actor.person(owner), account=account, cleaned=cleaned)


def exchange(id_token: str) -> None:
    answer = Client().post(
        "/api/v1/oidc/exchange", json.dumps({"token": id_token}), content_type="application/json"
    )
    body = answer.json()
    print(answer.status_code, body.get("message", ""), flush=True)


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    {"setup": setup, "exchange": exchange}[command](argument)
