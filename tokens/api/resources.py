"""List and get for every kind of account resource, generated from one registry.

A kind is declared once, in tokens.kinds (model, selection, path, Out schema);
`ApiResource.of()` adds what only the API needs (SQL annotations, the records
listed under a zone), and its routes and its SQL come from that declaration.
Each read is ONE query after authentication: the token's selection, the
account and, for lists, the page and its total (a scalar subquery) are all in
it. The SQL is built once per kind from the Out schema's fields and returns
tuples that go straight to orjson: no model instances, no per-row validation.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import DateTimeField, Field, ManyToManyField, Model
from django.http import HttpResponse
from ninja import Router, Schema

from accounts.models import Record
from tokens.api import schemas
from tokens.api.access import authorize, not_found_in_reach, principal_of
from tokens.api.accounts import ACCOUNTS_PREFIX
from tokens.api.answers import ACCOUNT_ERRORS
from tokens.api.lean import lean_get
from tokens.api.responses import DEFAULT_PER_PAGE, PAGE, PER_PAGE, ok, pagination
from tokens.api.schemas import Data, Page, fields_of
from tokens.api.security import ApiRequest
from tokens.auth.columns import kept_cursor, time_column
from tokens.auth.principal import Principal
from tokens.kinds import BY_KIND, KINDS, Kind, ResourceKind
from tokens.models import Token
from tokens.permissions import selection_is_total
from tokens.records.rules import RecordRule
from tokens.records.sql import rules_condition, rules_params


@dataclass(frozen=True, eq=False)  # hashed by identity: SQL is cached per resource
class ApiResource:
    """One kind of resource the API reads: a kind of tokens.kinds, or records under a zone."""

    path: str  # below /accounts/{account_id}/
    id_name: str  # the path parameter naming one resource
    model: type[Model]
    kind: Kind  # the token's selection that limits what it sees
    operation: str  # the read operation (SPEC 4)
    out: type[Schema]
    tag: str
    plural: str  # for the docs: "DNS zones"
    singular: str  # "DNS zone"
    # Out fields computed in SQL over the row aliased `x`.
    annotations: Mapping[str, str] = field(default_factory=dict)
    ordering: tuple[str, ...] = ("name", "id")
    routes: tuple[str, ...] = ("list", "get")
    # A resource listed under one resource of its parent (records under a zone).
    parent: ApiResource | None = None
    parent_column: str = ""
    # DNS records: only those the token's record rules (SPEC 14) let it touch.
    record_rules_apply: bool = False

    @classmethod
    def of(cls, entry: ResourceKind, **extra: Any) -> ApiResource:
        """The API's reads of a kind, as tokens.kinds declares it."""
        return cls(
            path=entry.api_path,
            id_name=entry.api_id,
            model=entry.model,
            kind=entry.kind,
            operation=entry.read,
            out=getattr(schemas, entry.api_out),
            tag=str(entry.kind),
            plural=entry.api_plural,
            singular=entry.api_singular,
            routes=entry.api_routes,
            **extra,
        )


def _table(model: type[Model]) -> str:
    return model._meta.db_table


# Out fields that are not columns of the kind's table, computed in SQL.
_ANNOTATIONS: dict[Kind, Mapping[str, str]] = {
    Kind.ZONES: {
        "record_count": f"(SELECT COUNT(*) FROM {_table(Record)} r WHERE r.zone_id = x.id)"  # noqa: S608
    },
}
_BY_KIND = {
    entry.kind: ApiResource.of(entry, annotations=_ANNOTATIONS.get(entry.kind, {}))
    for entry in KINDS
}
ZONES = _BY_KIND[Kind.ZONES]
RECORDS = ApiResource(
    path=f"{ZONES.path}/{{id:{ZONES.id_name}}}/records",
    id_name="record_id",
    model=Record,
    kind=Kind.ZONES,
    operation=ZONES.operation,
    out=schemas.RecordOut,
    tag=ZONES.tag,
    plural="DNS records of a zone",
    singular="DNS record",
    ordering=("name", "type", "id"),
    routes=("list",),
    parent=ZONES,
    parent_column="zone_id",
    record_rules_apply=True,
)
# Every kind, and each zone's records after the zones.
REGISTRY: tuple[ApiResource, ...] = tuple(
    resource
    for kind, resource in _BY_KIND.items()
    for resource in ((resource, RECORDS) if kind is Kind.ZONES else (resource,))
)


# --------------------------------------------------------------------------- SQL


def _selected_ids_sql(kind: Kind) -> str:
    """The ids the token `%(token)s` selected of `kind`, as a subquery."""
    field = cast(ManyToManyField, Token._meta.get_field(BY_KIND[kind].selection_field))
    through = field.remote_field.through
    assert through is not None  # resolved to the auto-created model once apps are ready
    source, target = field.m2m_column_name(), field.m2m_reverse_name()
    return f"SELECT s.{target} FROM {through._meta.db_table} s WHERE s.{source} = %(token)s"  # noqa: S608


def _parent_sql(rk: ApiResource, selected: bool) -> str:
    """The parent `p` of `rk`'s rows that the token sees: one row, or none."""
    assert rk.parent is not None
    where = "p.id = %(parent)s AND p.account_id = %(account)s"
    if selected:
        where += f" AND p.id IN ({_selected_ids_sql(rk.kind)})"
    return f"SELECT 1 FROM {_table(rk.parent.model)} p WHERE {where}"  # noqa: S608


def _column(model: type[Model], name: str) -> str:
    """The field as a SELECT column over `x` (datetimes: the text orjson would write)."""
    field = cast(Field, model._meta.get_field(name))  # a concrete field of the Out schema
    column = f"x.{field.column}"
    return time_column(column) if isinstance(field, DateTimeField) else column


def _columns(rk: ApiResource) -> str:
    return ", ".join(
        rk.annotations[name] if name in rk.annotations else _column(rk.model, name)
        for name in fields_of(rk.out)
    )


def _order(rk: ApiResource) -> str:
    fields = [cast(Field, rk.model._meta.get_field(name)) for name in rk.ordering]
    return ", ".join(f"x.{field.column}" for field in fields)


@functools.cache
def _get_sql(rk: ApiResource, selected: bool) -> str:
    where = "x.id = %(id)s AND x.account_id = %(account)s"
    if selected:
        where += f" AND x.id IN ({_selected_ids_sql(rk.kind)})"
    return f"SELECT {_columns(rk)} FROM {_table(rk.model)} x WHERE {where}"  # noqa: S608


def _scope(rk: ApiResource, selected: bool, rules: tuple[RecordRule, ...]) -> tuple[str, str]:
    """FROM and WHERE of the resources `x` the token sees: of the account, or of one parent
    (those the record rules allow, if any). Children are read from their own table, so
    the index on (parent, ordering) gives a page in order without sorting them all."""
    source = f"{_table(rk.model)} x"
    if rk.parent is not None:
        where = f"x.{rk.parent_column} = %(parent)s AND EXISTS ({_parent_sql(rk, selected)})"
        return source, where + (f" AND {rules_condition(rules)}" if rules else "")
    where = "x.account_id = %(account)s"
    if selected:
        where += f" AND x.id IN ({_selected_ids_sql(rk.kind)})"
    return source, where


@functools.lru_cache(maxsize=512)
def _list_sql(rk: ApiResource, selected: bool, rules: tuple[RecordRule, ...] = ()) -> str:
    """A page and, on every row, the total: one query.

    The total is a scalar subquery, which both databases run once per query; SQLite
    pays twice as much for `COUNT(*) OVER ()`, which materialises every row first.
    """
    source, where = _scope(rk, selected, rules)
    total = f"(SELECT COUNT(*) FROM {source} WHERE {where})"  # noqa: S608
    return (
        f"SELECT {_columns(rk)}, {total} FROM {source} WHERE {where} "  # noqa: S608
        f"ORDER BY {_order(rk)} LIMIT %(limit)s OFFSET %(offset)s"
    )


@functools.lru_cache(maxsize=512)
def _count_sql(rk: ApiResource, selected: bool, rules: tuple[RecordRule, ...] = ()) -> str:
    """Total and whether the parent exists, for an empty page (rare: a third query)."""
    source, where = _scope(rk, selected, rules)
    found = f"EXISTS ({_parent_sql(rk, selected)})" if rk.parent else "1"
    return f"SELECT COUNT(*), {found} FROM {source} WHERE {where}"  # noqa: S608


def _fetch(sql: str, params: dict[str, Any], *, many: bool) -> Any:
    cursor = kept_cursor()
    cursor.execute(sql, params)
    return cursor.fetchall() if many else cursor.fetchone()


def _partial(rk: ApiResource, principal: Principal) -> bool:
    return not selection_is_total(principal.grant, rk.kind)


def resource_get(
    rk: ApiResource, request: ApiRequest, *, account_id: int, resource_id: int
) -> dict[str, Any]:
    """One resource's JSON, or 404 when it is not in the account or the token's selection."""
    principal = principal_of(request)
    row = _fetch(
        _get_sql(rk, _partial(rk, principal)),
        {"id": resource_id, "account": account_id, "token": principal.id},
        many=False,
    )
    if row is None:
        raise not_found_in_reach(
            request, rk.model, resource_id, account_id=account_id, kind=rk.kind
        )
    return dict(zip(fields_of(rk.out), row, strict=True))


def resource_page(
    rk: ApiResource,
    request: ApiRequest,
    *,
    account_id: int,
    page: int,
    per_page: int,
    parent_id: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One page of resources the token sees, and its pagination (404 for a parent out of reach)."""
    principal = principal_of(request)
    partial = _partial(rk, principal)
    rules = principal.grant.record_rules if rk.record_rules_apply else ()
    params = {
        "account": account_id,
        "token": principal.id,
        "parent": parent_id,
        "limit": per_page,
        "offset": (page - 1) * per_page,
        **rules_params(rules),
    }
    rows = _fetch(_list_sql(rk, partial, rules), params, many=True)
    keys = fields_of(rk.out)
    if rows:
        total, parent_found = rows[0][-1], True
        data = [dict(zip(keys, row[:-1], strict=True)) for row in rows]
    elif page == 1 and rk.parent is None:  # nothing at all
        total, data, parent_found = 0, [], True
    else:  # past the last page, or no children: how many there are, and whether the parent is
        total, parent_found = _fetch(_count_sql(rk, partial, rules), params, many=False)
        data = []
    if not parent_found:
        assert rk.parent is not None and parent_id is not None  # only children have a parent
        raise not_found_in_reach(
            request, rk.parent.model, parent_id, account_id=account_id, kind=rk.kind
        )
    return data, pagination(page, per_page, total)


# --------------------------------------------------------------------------- routes


def _with_signature(view: Callable[..., HttpResponse], params: list[inspect.Parameter]) -> None:
    """Give a generated view the signature ninja reads its parameters from."""
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    # ninja reads the parameters from `__signature__`, which functions do not declare.
    view.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [request, *params], return_annotation=HttpResponse
    )


def _id_param(name: str) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=int)


def _add_list(router: Router, rk: ApiResource) -> None:
    parent_id_name = rk.parent.id_name if rk.parent else None

    def view(
        request: ApiRequest, account_id: int, page: int, per_page: int, **ids: int
    ) -> HttpResponse:
        access = authorize(request, rk.operation)
        data, paging = resource_page(
            rk,
            request,
            account_id=access.id,
            page=page,
            per_page=per_page,
            parent_id=ids.get(parent_id_name) if parent_id_name else None,
        )
        return ok(data, pagination=paging)

    params = [_id_param("account_id")]
    if parent_id_name:
        params.append(_id_param(parent_id_name))
    params += [
        inspect.Parameter("page", inspect.Parameter.KEYWORD_ONLY, annotation=int, default=PAGE),
        inspect.Parameter(
            "per_page", inspect.Parameter.KEYWORD_ONLY, annotation=int, default=PER_PAGE
        ),
    ]
    _with_signature(view, params)
    view.__name__ = f"{rk.path.split('/')[-1]}_list"
    path = f"/{{id:account_id}}/{rk.path}"
    lean_get(f"{ACCOUNTS_PREFIX}{path}", paged=True)(view)
    router.get(
        path,
        # The Out schema is chosen at run time, where a type is expected.
        response={200: Page[rk.out], **ACCOUNT_ERRORS},  # type: ignore[name-defined]
        tags=[rk.tag],
        summary=f"List the {rk.plural}",
        description=f"The {rk.plural} the token may see (`{rk.operation}`), {DEFAULT_PER_PAGE} "
        "a page by default.",
    )(view)


def _add_get(router: Router, rk: ApiResource) -> None:
    def view(request: ApiRequest, account_id: int, **ids: int) -> HttpResponse:
        access = authorize(request, rk.operation)
        return ok(resource_get(rk, request, account_id=access.id, resource_id=ids[rk.id_name]))

    _with_signature(view, [_id_param("account_id"), _id_param(rk.id_name)])
    view.__name__ = f"{rk.path.replace('/', '_')}_get"
    path = f"/{{id:account_id}}/{rk.path}/{{id:{rk.id_name}}}"
    lean_get(f"{ACCOUNTS_PREFIX}{path}")(view)
    router.get(
        path,
        # The Out schema is chosen at run time, where a type is expected.
        response={200: Data[rk.out], **ACCOUNT_ERRORS},  # type: ignore[name-defined]
        tags=[rk.tag],
        summary=f"Get one {rk.singular.split(':')[0]}",
        description=f"One {rk.singular} (`{rk.operation}`).",
    )(view)


def add_routes(router: Router, registry: tuple[ApiResource, ...] = REGISTRY) -> None:
    """Add the list and get routes of every declared kind to the accounts router.

    Their GETs are also served on the lean path (tokens.api.lean): SPEC 10's budget.
    """
    for rk in registry:
        if "list" in rk.routes:
            _add_list(router, rk)
        if "get" in rk.routes:
            _add_get(router, rk)
