"""In and Out schemas: the one definition of each JSON shape of the API.

Out schemas document the answers in OpenAPI and name the keys the answers are
built from (`fields_of`); answers are serialised with orjson, never validated
row by row. In schemas refuse unknown fields (a misspelt `scope` must never
fall back to `["global"]`) and text the database cannot store.

Every closed set of values is an enum (scopes, roles, plans, types, kinds): the
document then lists them, and generated clients get enums. Error answers are in
tokens.api.answers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, GetJsonSchemaHandler, StrictInt
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from accounts.constants import Plan, RecordType, Role
from tokens.constants import MAX_NAME_LENGTH, MAX_ROLL_GRACE_PERIOD
from tokens.kinds import Kind
from tokens.models import TokenType
from tokens.permissions import SCOPES, Scope
from tokens.usage.rules import DenialReason


def _storable(value: str) -> str:
    """Refuse text no database column takes: NUL and lone UTF-16 surrogates."""
    if "\x00" in value:
        raise ValueError("Text may not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text must be valid Unicode (no lone surrogates).") from None
    return value


# In the document: the pattern text free of NUL matches (lone surrogates cannot be written in
# JSON Schema); tokens.api.openapi says both in the description of every such string.
STORABLE_PATTERN = "^[^\\u0000]*$"
STORABLE_NOTE = "No NUL character (U+0000) and no lone surrogate: refused with 422."


class _StorableInDocument:
    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "pattern": STORABLE_PATTERN}


Text = Annotated[str, AfterValidator(_storable), _StorableInDocument()]


class StrictIn(Schema):
    """A request body: unknown fields are an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


# --------------------------------------------------------------------------- envelopes


class Pagination(Schema):
    current_page: int
    per_page: int
    total_entries: int
    total_pages: int


class Data(Schema, Generic[T]):
    data: T


class Page(Schema, Generic[T]):
    data: list[T]
    pagination: Pagination


# --------------------------------------------------------------------------- accounts, tokens


class All(StrEnum):
    """Every resource of a kind, those added later included."""

    ALL = "all"


# A token's resources of one kind: all of them, or those it selected (ids).
Selection = All | list[int]


class AccountOut(Schema):
    id: int
    slug: str
    name: str
    plan: Plan


class UserOut(Schema):
    id: int
    email: str
    name: str


class RecordRuleOut(Schema):
    name: str = Field(description='Zone-relative name, "@" for the apex, "*": 1+ characters.')
    types: list[RecordType] = Field(description="Empty: any type.")


class TokenOut(Schema):
    id: int
    name: str
    type: TokenType
    role: Role | None = Field(description="Automation tokens: their role; user tokens: null.")
    account: AccountOut | None
    user: UserOut | None
    scopes: list[Scope]
    resources: dict[Kind, Selection] = Field(description="Every kind: `all`, or the ids chosen.")
    record_rules: list[RecordRuleOut] = Field(
        description="DNS records it may touch (SPEC 14); empty: every record of its zones."
    )
    tls_access: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: str | None
    display: str
    previous_secret_expires_at: datetime | None = Field(
        description="After a roll with a grace period: until when the previous secret works."
    )
    previous_secret_last_used_at: datetime | None = Field(
        description="When the previous secret was last used (at most once a minute)."
    )


class RolledTokenOut(TokenOut):
    token: str = Field(description="The new secret. Shown this once: store it now.")


class CreatedTokenOut(TokenOut):
    token: str = Field(description="The secret. Shown this once: store it now.")
    blocked_in: list[int] = Field(
        description="Ids of the accounts whose token policies block this token (SPEC 15); "
        "it works in the others."
    )


class WhoamiOut(Schema):
    token: TokenOut
    user: UserOut | None
    account: AccountOut | None


class BillingOut(Schema):
    account: AccountOut
    plan: Plan
    monthly_price: int
    currency: str
    billing_email: str


def ordered_scopes(scopes: frozenset[str] | Sequence[str]) -> list[str]:
    return [scope for scope in SCOPES if scope in scopes]


ALL_RESOURCES: Mapping[str, str] = {str(kind): "all" for kind in Kind}


def token_json(
    token: Any,
    *,
    account: Mapping[str, Any] | None,
    user: Mapping[str, Any] | None,
    resources: Mapping[str, str | list[int]],
) -> dict[str, Any]:
    """TokenOut's JSON for a Token row or an authenticated Principal (same attribute names)."""
    return {
        "id": token.id,
        "name": token.name,
        "type": token.type,
        "role": token.role or None,
        "account": account,
        "user": user,
        "scopes": ordered_scopes(token.scopes),
        "resources": resources,
        "record_rules": list(token.record_rules),
        "tls_access": token.tls_access,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "last_used_ip": token.last_used_ip,
        "display": token.display,
        "previous_secret_expires_at": token.previous_secret_expires_at,
        "previous_secret_last_used_at": token.previous_secret_last_used_at,
    }


# --------------------------------------------------------------------------- resources


class ZoneOut(Schema):
    id: int
    name: str
    record_count: int
    created_at: datetime


class RecordOut(Schema):
    id: int
    zone_id: int
    name: str
    type: RecordType
    content: str
    ttl: int
    priority: int | None
    created_at: datetime


class DomainOut(Schema):
    id: int
    name: str
    registered_at: datetime
    expires_at: datetime
    auto_renew: bool


class CertificateOut(Schema):
    id: int
    name: str
    issuer: str
    issued_at: datetime
    expires_at: datetime


class ServiceOut(Schema):
    id: int
    name: str
    hostname: str
    origin: str
    default_ttl: int
    created_at: datetime
    updated_at: datetime


class PurgeOut(Schema):
    id: int
    service_id: int
    kind: str = Field(description="`url`, `surrogate_key` or `all`.")
    value: str
    created_at: datetime


# --------------------------------------------------------------------------- usage (SPEC 13)


class OperationUsageOut(Schema):
    operation: str = Field(description="A SPEC 4 operation; `tokens` for the token routes.")
    allowed: int
    denied: int
    last_at: datetime


class DenialOut(Schema):
    at: datetime
    operation: str
    required_scope: Scope
    reason: DenialReason | None = Field(
        description="What refused it (SPEC 13); null for denials kept before reasons were."
    )
    account_id: int | None
    resource_id: int | None
    ip: str | None


class UsageOut(Schema):
    days: int
    operations: list[OperationUsageOut]
    denials: list[DenialOut] = Field(description="The latest refused requests (at most 50).")
    suggested_scopes: list[Scope] = Field(
        description="The smallest set of scopes covering every allowed operation of the window."
    )


class VerdictOut(Schema):
    allowed: bool
    reason: Literal["role", "plan", "scope"] | None = Field(
        None, description="Refused only: the first check that fails."
    )
    required_scope: Scope | None = Field(None, description="Refused only.")


class AccountPermissionsOut(Schema):
    account: AccountOut
    role: Role = Field(description="The role that caps the token in this account.")
    operations: dict[str, VerdictOut]
    resources: dict[Kind, Selection]


class PermissionsOut(Schema):
    accounts: list[AccountPermissionsOut]


@functools.cache  # read on every request; a schema's fields never change
def fields_of(out: type[Schema]) -> tuple[str, ...]:
    """The keys of an Out schema's JSON, in order."""
    return tuple(out.model_fields)


def resource_json(out: type[Schema], obj: Any) -> dict[str, Any]:
    """An Out schema's JSON from a model instance (writes answer with what they wrote)."""
    return {name: getattr(obj, name) for name in fields_of(out)}


# --------------------------------------------------------------------------- requests

Name = Annotated[Text, Field(min_length=1, max_length=MAX_NAME_LENGTH)]


class RecordRuleIn(StrictIn):
    name: Text = Field(description='Zone-relative, lower case; "@": apex; "*": 1+ characters.')
    types: list[RecordType] = Field(default=[], description='e.g. ["TXT"]; empty: any type.')


class TokenCreateIn(StrictIn):
    name: Name
    scopes: list[Scope] = Field(default=[Scope("global")], description='Defaults to ["global"].')
    resources: dict[Kind, Selection] | None = Field(
        default=None, description='Per kind "all" or a list of ids; defaults to all.'
    )
    expires_at: datetime | None = Field(
        default=None, description="ISO-8601 with a time zone; null: never; omitted: 90 days."
    )
    record_rules: list[RecordRuleIn] = Field(
        default=[],
        description="At most 20. Limit `zones:write` and record lists to these records "
        "(SPEC 14); empty: every record.",
    )


class TokenRollIn(StrictIn):
    grace_period: StrictInt = Field(
        default=0,
        ge=0,
        le=int(MAX_ROLL_GRACE_PERIOD.total_seconds()),
        description="Seconds the previous secret keeps working (0: it stops at once), "
        "as a JSON integer: 553.0 is refused (422).",
    )


class RecordIn(StrictIn):
    type: RecordType
    name: Text = Field(default="", description='Relative to the zone; "" or "@" for the apex.')
    content: Text
    ttl: int = Field(default=3600, description="Seconds, 60 to 604800.")
    priority: int | None = Field(default=None, description="MX and SRV records.")


class DomainIn(StrictIn):
    name: Annotated[Text, Field(min_length=1, max_length=253)]
    auto_renew: bool = False


class ServicePatchIn(StrictIn):
    """Send at least one field; a field that is sent may not be null."""

    # A field not sent stays unset (its default None is never validated), yet one sent
    # may not be null: mypy sees a None default on a non-optional type.
    name: Annotated[Text, Field(min_length=1, max_length=100)] = Field(  # type: ignore[assignment]
        default=None, validate_default=False
    )
    hostname: Text = Field(default=None, validate_default=False)  # type: ignore[assignment]
    origin: Text = Field(default=None, validate_default=False)  # type: ignore[assignment]
    default_ttl: int = Field(default=None, validate_default=False)  # type: ignore[assignment]


class PurgeIn(StrictIn):
    """Exactly one of `url` and `surrogate_key`."""

    url: Text | None = None
    surrogate_key: Text | None = None
