"""A client generated from the live OpenAPI document drives a real integration (SPEC 7).

openapi-python-client generates a Python client from /api/v1/openapi.json as served by a
running Keyward; the test then does what an integration does, through that client only:
create a token with HTTP Basic, page zones, write and delete a record, purge, roll, read
usage and permissions, report the secret as leaked. Every answer, errors included, must
parse into the generated models: declared statuses only (the client raises on any other),
enums that know every value sent, and no key the document does not name.
"""

from __future__ import annotations

import base64
import importlib
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import pytest

from accounts.factors import engine
from accounts.factors.services import totp_add
from tests.factories import PASSWORD, ServiceFactory, ZoneFactory
from tokens.events import Actor

PACKAGE = "keyward_client"
# No formatting of the generated code (ruff): a few seconds saved, nothing checked.
CONFIG = "post_hooks: []\n"


def _generate(url: str, where: Path) -> subprocess.CompletedProcess[str]:
    """openapi-python-client's CLI: the package PACKAGE in `where`, from the document at `url`."""
    (where / "config.yml").write_text(CONFIG)
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--url", url]
    command += ["--output-path", str(where / PACKAGE), "--meta", "none"]
    command += ["--config", str(where / "config.yml")]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def keyward(live_server, tmp_path_factory, django_db_blocker) -> SimpleNamespace:
    """The generated client: generated once per session, from the served document."""
    where = tmp_path_factory.mktemp("generated")
    with django_db_blocker.unblock():  # the server's request signals touch its connection
        generated = _generate(f"{live_server.url}/api/v1/openapi.json", where)
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "Warning" not in output, output  # every route and schema understood
    sys.path.insert(0, str(where))
    try:
        package = importlib.import_module(PACKAGE)
        yield SimpleNamespace(
            client=package,
            models=importlib.import_module(f"{PACKAGE}.models"),
            operation=lambda tag, name: importlib.import_module(f"{PACKAGE}.api.{tag}.{name}"),
        )
    finally:
        sys.path.remove(str(where))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def assert_documented(value: Any) -> None:
    """A parsed model holds no key outside the document: generated models put unknown keys in
    `additional_properties`, which only the document's maps (a token's resources) may use."""
    if attrs.has(type(value)):
        fields = [f.name for f in attrs.fields(type(value)) if f.name != "additional_properties"]
        if fields:
            assert not value.additional_properties, (type(value).__name__, value)
        for name in fields:
            assert_documented(getattr(value, name))
        for item in value.additional_properties.values():
            assert_documented(item)
    elif isinstance(value, list):
        for item in value:
            assert_documented(item)


def answer(response: Any, status: int, model: type) -> Any:
    """The parsed answer, checked: its status, its generated model, nothing undocumented."""
    assert response.status_code == status, response.content
    assert isinstance(response.parsed, model), (type(response.parsed), response.content)
    assert_documented(response.parsed)
    return response.parsed


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_drives_an_integration(keyward, live_server, account, member_factory):
    m, op = keyward.models, keyward.operation
    owner = member_factory(account, "superuser")
    zones = sorted(ZoneFactory.create_batch(3, account=account), key=lambda zone: zone.name)
    hidden = ZoneFactory(account=account)  # outside the token's selection
    service = ServiceFactory(account=account)

    def basic(email: str) -> Any:
        return keyward.client.AuthenticatedClient(
            base_url=live_server.url,
            token=base64.b64encode(f"{email}:{PASSWORD}".encode()).decode(),
            prefix="Basic",
            raise_on_unexpected_status=True,
        )

    # A person with a second factor cannot use their password alone.
    careful = member_factory(account, "engineer")
    totp_add(actor=Actor.person(careful), user=careful, secret=engine.totp_generate_secret())
    refused = answer(
        op("tokens", "tokens_create").sync_detailed(
            client=basic(careful.email), body=m.TokenCreateIn(name="CI")
        ),
        403,
        m.PasswordForbiddenOut,
    )
    assert refused.error is m.PasswordForbiddenOutError.TWO_FACTOR_REQUIRED

    # Create a user token with HTTP Basic, limited to three zones: the answer carries
    # `"zones": [ids]` beside `"all"` (an `anyOf` a `const` used to break).
    resources = m.TokenCreateInResourcesType0()
    resources["zones"] = [zone.pk for zone in zones]
    body = m.TokenCreateIn(
        name="CI",
        scopes=[m.Scope.ZONES_READ, m.Scope.ZONES_WRITE, m.Scope.PURGE_SELECT],
        resources=resources,
    )
    created = answer(
        op("tokens", "tokens_create").sync_detailed(client=basic(owner.email), body=body),
        201,
        m.DataCreatedTokenOut,
    ).data
    assert created.type_ is m.TokenType.USER and created.role is None
    assert created.scopes == [m.Scope.PURGE_SELECT, m.Scope.ZONES_READ, m.Scope.ZONES_WRITE]
    assert created.resources["zones"] == sorted(zone.pk for zone in zones)
    assert created.resources["services"] is m.All.ALL
    assert isinstance(created.created_at, datetime) and created.token.startswith("kwu_")

    def bearer(secret: str) -> Any:
        return keyward.client.AuthenticatedClient(
            base_url=live_server.url, token=secret, raise_on_unexpected_status=True
        )

    client = bearer(created.token)
    me = answer(op("tokens", "whoami").sync_detailed(client=client), 200, m.DataWhoamiOut).data
    assert me.token.id == created.id and me.user.email == owner.email

    # Page the zones it sees, two at a time.
    pages = [
        answer(
            op("zones", "zones_list").sync_detailed(account.pk, client=client, page=n, per_page=2),
            200,
            m.PageZoneOut,
        )
        for n in (1, 2)
    ]
    assert [page.pagination.total_pages for page in pages] == [2, 2]
    assert [zone.id for page in pages for zone in page.data] == [zone.pk for zone in zones]
    missing = op("zones", "zones_get").sync_detailed(account.pk, hidden.pk, client=client)
    assert answer(missing, 404, m.NotFoundOut).error is m.NotFoundOutError.NOT_FOUND

    # Write a record, be refused a bad one, delete the first.
    zone = zones[0]
    record = answer(
        op("zones", "record_create").sync_detailed(
            account.pk,
            zone.pk,
            client=client,
            body=m.RecordIn(type_=m.RecordType.A, name="www", content="203.0.113.7"),
        ),
        201,
        m.DataRecordOut,
    ).data
    assert (record.type_, record.name, record.zone_id) == (m.RecordType.A, "www", zone.pk)
    invalid = answer(
        op("zones", "record_create").sync_detailed(
            account.pk,
            zone.pk,
            client=client,
            body=m.RecordIn(type_=m.RecordType.AAAA, name="www", content="203.0.113.7"),
        ),
        422,
        m.InvalidOut,
    )
    assert invalid.error is m.InvalidOutError.INVALID_REQUEST and "content" in invalid.fields
    deleted = op("zones", "record_delete").sync_detailed(
        account.pk, zone.pk, record.id, client=client
    )
    assert deleted.status_code == 204

    # Purge a URL; billing is out of its scopes.
    purge = answer(
        op("services", "service_purge").sync_detailed(
            account.pk,
            service.pk,
            client=client,
            body=m.PurgeIn(url=f"https://{service.hostname}/app.css"),
        ),
        202,
        m.DataPurgeOut,
    ).data
    assert (purge.service_id, purge.kind) == (service.pk, "url")
    refused = answer(
        op("accounts", "billing").sync_detailed(account.pk, client=client),
        403,
        m.AccountForbiddenOut,
    )
    assert refused.error is m.AccountForbiddenOutError.INSUFFICIENT_SCOPE
    assert refused.required_scope is m.Scope.GLOBAL_READ

    # Roll the secret with an hour's grace; carry on with the new one.
    rolled = answer(
        op("tokens", "token_self_roll").sync_detailed(
            client=client, body=m.TokenRollIn(grace_period=3600)
        ),
        201,
        m.DataRolledTokenOut,
    ).data
    assert rolled.id == created.id and rolled.token != created.token
    assert isinstance(rolled.previous_secret_expires_at, datetime)
    client = bearer(rolled.token)

    # What it did, and what it can do.
    usage = answer(
        op("tokens", "token_self_usage").sync_detailed(client=client),
        200,
        m.DataUsageOut,
    ).data
    assert {"zones:read", "zones:write", "purge_select"} <= {u.operation for u in usage.operations}
    assert all(isinstance(scope, m.Scope) for scope in usage.suggested_scopes)
    # The hidden zone (outside its selection) and billing (outside its scopes).
    reasons = {denial.reason for denial in usage.denials}
    assert reasons == {m.DenialReason.NOT_SELECTED, m.DenialReason.SCOPE}
    permissions = answer(
        op("tokens", "token_self_permissions").sync_detailed(client=client),
        200,
        m.DataPermissionsOut,
    ).data
    [here] = permissions.accounts
    assert (here.account.id, here.account.plan, here.role) == (
        account.pk,
        m.Plan(account.plan),
        m.Role.SUPERUSER,
    )
    assert here.resources["zones"] == sorted(zone.pk for zone in zones)
    assert here.resources["domains"] is m.All.ALL
    assert here.operations["zones:write"].allowed is True
    billing = here.operations["billing:read"]
    assert (billing.allowed, billing.reason) == (False, m.VerdictOutReasonType0.SCOPE)

    # Report the secret as leaked, anonymously: it stops working at once.
    anonymous = keyward.client.Client(base_url=live_server.url, raise_on_unexpected_status=True)
    received = answer(
        op("leak_response", "credentials_report").sync_detailed(
            client=anonymous, body=m.CredentialsIn(credentials=[rolled.token])
        ),
        202,
        m.DataReceivedOut,
    ).data
    assert received.received == 1
    gone = answer(op("tokens", "whoami").sync_detailed(client=client), 401, m.InvalidTokenOut)
    assert gone.error is m.InvalidTokenOutError.INVALID_TOKEN
