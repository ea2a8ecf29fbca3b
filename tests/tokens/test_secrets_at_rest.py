"""No secret at rest: after tokens are created and used, no table holds a secret's random part."""

from __future__ import annotations

import base64
import io
import json
import logging
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.factories import ZoneFactory, issue_automation_token, issue_user_token
from tokens.models import Token

pytestmark = pytest.mark.django_db


def every_table_as_text() -> str:
    """Every row of every table, as text (the way a database dump would show it)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_no_table_contains_any_secret(client, account, member_factory, password, caplog):
    caplog.set_level(logging.DEBUG)
    owner = member_factory(account, "superuser")
    zone = ZoneFactory(account=account)
    secrets = [
        issue_user_token(owner, name="service").secret,
        issue_user_token(owner, name="scoped", resources={"zones": [zone.pk]}).secret,
        issue_automation_token(account, creator=owner, tls_access=True).secret,
    ]
    basic = base64.b64encode(f"{owner.email}:{password}".encode()).decode()
    response = client.post(
        "/api/v1/tokens",
        data=json.dumps({"name": "via API"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    secrets.append(response.json()["data"]["token"])
    for secret in secrets:  # use each, so last-used and events get written too
        client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}")
        client.post(
            f"/api/v1/accounts/{account.pk}/zones/{zone.pk}/records",
            data=json.dumps({"type": "TXT", "content": f"hello {secret[-4:]}"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
    client.delete("/api/v1/tokens/self", HTTP_AUTHORIZATION=f"Bearer {secrets[0]}")

    dump = every_table_as_text()
    assert "tokens_token" in connection.introspection.table_names()
    assert dump.count("kwu_…") >= 3  # display hints are there, the secrets are not
    for secret in secrets:
        random_part = secret[4:-6]
        assert random_part not in dump
        assert secret[4:20] not in dump and secret[-20:-6] not in dump
        assert random_part not in caplog.text


def test_seed_demo_creates_tokens_of_each_type_and_prints_no_secret():
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    first = sorted(Token.objects.values_list("name", "type"))
    call_command("seed_demo", stdout=output)
    assert sorted(Token.objects.values_list("name", "type")) == first  # idempotent
    types = [token_type for _, token_type in first]
    assert types.count("user") >= 2 and types.count("automation") >= 2
    assert Token.objects.filter(expires_at__lte=timezone.now()).count() == 1
    assert not re.search(r"kw[ua]_[0-9A-Za-z]{38}", output.getvalue())
    dump = every_table_as_text()
    assert not re.search(r"kw[ua]_[0-9A-Za-z]{38}", dump)
