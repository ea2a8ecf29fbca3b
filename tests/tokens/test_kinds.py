"""The five resource kinds (tokens.kinds) against SPEC 4 and 7, written out by hand here.

The registry is the one place the code names every kind; these tables state the
spec independently, so a kind declared wrong (or missing) there fails here.
"""

from __future__ import annotations

import pytest
from django.db.models import BooleanField, ManyToManyField

from accounts.models import Certificate, Domain, Service, Zone
from accounts.roles import RESOURCE_OPERATIONS
from tokens.kinds import BY_KIND, KINDS, OPERATION_KIND, Kind
from tokens.models import Token
from tokens.permissions import SCOPE_DESCRIPTIONS, SCOPE_OPERATIONS, SCOPES

# SPEC 7: the keys of a token's "resources", in this order; what each selects.
SPEC_KINDS = {
    "zones": Zone,
    "domains": Domain,
    "registrar": Domain,
    "certificates": Certificate,
    "services": Service,
}
# SPEC 4, "Scopes": the exact strings, in the order the panel lists them.
SPEC_SCOPES = [
    "global",
    "global:read",
    "purge_select",
    "purge_all",
    "zones:read",
    "zones:write",
    "domains:read",
    "domains:write",
    "registrar:read",
    "registrar:write",
    "certificates:read",
    "certificates:write",
    "services:read",
    "services:write",
]
# SPEC 7: where the API serves one resource of each kind, below /api/v1/accounts/{id}/.
SPEC_PATHS = {
    "zones": "zones/{id:zone_id}",
    "domains": "domains/{id:domain_id}",
    "registrar": "registrar/domains/{id:domain_id}",
    "certificates": "certificates/{id:certificate_id}",
    "services": "services/{id:service_id}",
}


def test_the_kinds_are_the_specs_in_its_order():
    assert [str(entry.kind) for entry in KINDS] == list(SPEC_KINDS)
    assert [str(kind) for kind in Kind] == list(SPEC_KINDS)


def test_the_scopes_follow_from_the_kinds():
    assert list(SCOPES) == SPEC_SCOPES
    assert set(SCOPE_DESCRIPTIONS) == set(SPEC_SCOPES)
    assert set(SCOPE_OPERATIONS) == set(SPEC_SCOPES)
    assert SCOPE_OPERATIONS["registrar:write"] == {"registrar:write", "registrar:read"}


def test_every_resource_operation_of_the_role_table_has_one_kind():
    assert sorted(OPERATION_KIND) == sorted(RESOURCE_OPERATIONS)
    assert OPERATION_KIND["purge_all"] == OPERATION_KIND["purge_select"] == Kind.SERVICES


@pytest.mark.parametrize(("kind", "model"), SPEC_KINDS.items())
def test_each_kind_has_its_flag_and_its_selection_on_token(kind, model):
    entry = BY_KIND[Kind(kind)]
    flag = Token._meta.get_field(f"all_{kind}")
    assert isinstance(flag, BooleanField) and flag.default is True
    selection = Token._meta.get_field(entry.selection_field)
    assert isinstance(selection, ManyToManyField) and selection.related_model is model
    assert entry.model is model


@pytest.mark.parametrize(("kind", "path"), SPEC_PATHS.items())
def test_each_kind_says_where_the_api_serves_it(kind, path):
    assert BY_KIND[Kind(kind)].api_item_path == "/{id:account_id}/" + path
