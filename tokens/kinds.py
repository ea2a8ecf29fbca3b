"""The resource kinds a token holds all or some of (SPEC 4), each declared once.

A kind is a type of account resource that a token's grant names: on Token, its
"all of them" flag (`all_<kind>`) and its selection (a many-to-many of `model`);
its words in the panel; its operations (`<kind>:read`, `<kind>:write`, and the
purges for services), from which the scopes follow; and where the API serves it.
Everything that treats the kinds alike loops over KINDS: the Token model's columns,
the scope table, the form, the token tables, the scope words, the API's routes and
their SQL. Adding a kind is adding an entry here (and a migration for its columns).

The accounts app sits below tokens and does not import this module: its role table
(accounts.roles, SPEC 4's "Roles cap everything") names the same operations, and
tests/accounts/test_roles.py checks that every one of them belongs to a kind here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from accounts.models import Certificate, Domain, Service, Zone


class Kind(StrEnum):
    """Resource types a token selects all or some of (the keys of its `resources`)."""

    ZONES = "zones"
    DOMAINS = "domains"
    REGISTRAR = "registrar"
    CERTIFICATES = "certificates"
    SERVICES = "services"


@dataclass(frozen=True)
class ResourceKind:
    """One kind, declared once."""

    kind: Kind
    model: type[Zone | Domain | Certificate | Service]  # what its selection selects
    selection_field: str  # Token's many-to-many of the selected rows
    label: str  # in the token form and tables: "Registrar (domains)"
    noun: str  # in a sentence: "read and change DNS zones"
    read_words: str  # what `<kind>:read` gives, in words
    write_words: str  # what `<kind>:write` gives
    api_path: str  # below /api/v1/accounts/{account_id}/
    api_id: str  # the path parameter naming one resource
    api_out: str  # its Out schema, by name in tokens.api.schemas (the API imports this module)
    api_plural: str  # for the API docs: "List the DNS zones"
    api_singular: str  # "Get one DNS zone"
    api_routes: tuple[str, ...] = ("list", "get")
    more_operations: tuple[str, ...] = ()  # operations beyond read and write (purges)

    @property
    def all_field(self) -> str:
        """Token's flag for "every resource of this kind"."""
        return f"all_{self.kind}"

    @property
    def read(self) -> str:
        return f"{self.kind}:read"

    @property
    def write(self) -> str:
        return f"{self.kind}:write"

    @property
    def operations(self) -> tuple[str, ...]:
        """The operations (SPEC 4) that act on resources of this kind."""
        return (self.read, self.write, *self.more_operations)

    @property
    def api_item_path(self) -> str:
        """One resource's path below the accounts router (`/{id:account_id}/zones/{id:zone_id}`)."""
        return f"/{{id:account_id}}/{self.api_path}/{{id:{self.api_id}}}"


KINDS: tuple[ResourceKind, ...] = (
    ResourceKind(
        kind=Kind.ZONES,
        model=Zone,
        selection_field="zones",
        label="Zones",
        noun="DNS zones",
        read_words="Read DNS zones and records",
        write_words="Change DNS zones and records",
        api_path="zones",
        api_id="zone_id",
        api_out="ZoneOut",
        api_plural="DNS zones",
        api_singular="DNS zone",
    ),
    ResourceKind(
        kind=Kind.DOMAINS,
        model=Domain,
        selection_field="domains",
        label="Domains",
        noun="domains",
        read_words="Read domains",
        write_words="Add and remove domains",
        api_path="domains",
        api_id="domain_id",
        api_out="DomainOut",
        api_plural="domains",
        api_singular="domain",
    ),
    ResourceKind(
        kind=Kind.REGISTRAR,
        model=Domain,  # registrar access selects domains too, for their registration
        selection_field="registrar_domains",
        label="Registrar (domains)",
        noun="registrations",
        read_words="Read registrations",
        write_words="Renew domains, change auto-renewal",
        api_path="registrar/domains",
        api_id="domain_id",
        api_out="DomainOut",
        api_plural="domain registrations",
        api_singular="domain's registration: expiry and auto-renewal",
        api_routes=("get",),
    ),
    ResourceKind(
        kind=Kind.CERTIFICATES,
        model=Certificate,
        selection_field="certificates",
        label="Certificates",
        noun="certificates",
        read_words="Read TLS certificates",
        write_words="Renew TLS certificates",
        api_path="certificates",
        api_id="certificate_id",
        api_out="CertificateOut",
        api_plural="TLS certificates",
        api_singular="TLS certificate",
    ),
    ResourceKind(
        kind=Kind.SERVICES,
        model=Service,
        selection_field="services",
        label="Services",
        noun="CDN services",
        read_words="Read CDN services",
        write_words="Change CDN services",
        api_path="services",
        api_id="service_id",
        api_out="ServiceOut",
        api_plural="CDN services",
        api_singular="CDN service",
        more_operations=("purge_select", "purge_all"),
    ),
)
assert [entry.kind for entry in KINDS] == list(Kind), "declare every kind once, in Kind's order"

BY_KIND: Mapping[Kind, ResourceKind] = {entry.kind: entry for entry in KINDS}

# The kind each resource-bound operation (accounts.roles.RESOURCE_OPERATIONS) touches.
OPERATION_KIND: Mapping[str, Kind] = {
    operation: entry.kind for entry in KINDS for operation in entry.operations
}
