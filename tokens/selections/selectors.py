"""Which resources a token selects, per kind: the reads of its selection tables.

A token holds each kind of resource all or selected (Token.all_<kind>); the selected
rows live in one many-to-many table per kind. These read them without building model
instances where it matters (one query for one kind, one UNION for many tokens), and
answer the token form's resource picker. The writes are tokens.selections.services.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from django.db import connection
from django.db.models import Count, F, ManyToManyField, Model, QuerySet, Window
from django.db.models.functions import RowNumber

from accounts.models import Certificate, Domain, Service, Zone
from tokens.models import RESOURCE_MODELS, SELECTION_FIELDS, Token
from tokens.permissions import KIND_LABELS, Kind, kinds_for_scopes

# The selected resources a token table names before "and N more".
RESOURCE_PREVIEW = 3


# A token's selected resources live in one many-to-many table per kind. These
# read them without building model instances: one query for one kind, or one
# UNION query for many tokens.


def _through(kind: Kind) -> tuple[type[Model], str, str]:
    """The through model of `kind`'s selection, its token column and its resource column."""
    field = cast(ManyToManyField, Token._meta.get_field(SELECTION_FIELDS[kind]))
    through = field.remote_field.through
    assert through is not None  # resolved to the auto-created model once apps are ready
    return through, field.m2m_field_name(), field.m2m_reverse_field_name()


def token_selection_ids(*, token_id: int, kind: Kind) -> frozenset[int]:
    """Ids of the resources of `kind` selected for one token (one query)."""
    through, source, target = _through(kind)
    return frozenset(
        through._default_manager.filter(**{f"{source}_id": token_id}).values_list(
            f"{target}_id", flat=True
        )
    )


def token_selection_subquery(*, token_id: int, kind: Kind) -> QuerySet:
    """A subquery of the selected ids, for `id__in` filters on resource lists."""
    through, source, target = _through(kind)
    return through._default_manager.filter(**{f"{source}_id": token_id}).values(f"{target}_id")


def token_selections(
    *, token_ids: Iterable[int], kinds: Iterable[Kind] = tuple(Kind)
) -> dict[int, dict[Kind, list[int]]]:
    """Selected ids per token and kind, for many tokens in one UNION query.

    Tokens or kinds without selected rows are absent from the result (a token
    that selects "some" of a kind but whose resources were all deleted selects
    nothing: the caller treats a missing entry as an empty list). Plain SQL: the
    API's token list calls it per request, and composing the ORM's union cost
    more than running it.
    """
    token_ids = list(token_ids)
    kinds = list(kinds)
    if not token_ids or not kinds:
        return {}
    params: dict[str, int | str] = {f"t{n}": pk for n, pk in enumerate(token_ids)}
    listed = ", ".join(f"%(t{n})s" for n in range(len(token_ids)))
    parts = []
    for n, kind in enumerate(kinds):
        field = cast(ManyToManyField, Token._meta.get_field(SELECTION_FIELDS[kind]))
        through = _through(kind)[0]
        source_column, target_column = field.m2m_column_name(), field.m2m_reverse_name()
        params[f"k{n}"] = str(kind)
        parts.append(
            f"SELECT s.{source_column}, %(k{n})s, s.{target_column} "  # noqa: S608 (no input)
            f"FROM {through._meta.db_table} s WHERE s.{source_column} IN ({listed})"
        )
    result: dict[int, dict[Kind, list[int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for token_id, kind, resource_id in cursor.fetchall():
            result.setdefault(token_id, {}).setdefault(Kind(kind), []).append(resource_id)
    for per_kind in result.values():
        for ids in per_kind.values():
            ids.sort()
    return result


def token_resources_json(
    token: Token, selections: dict[Kind, list[int]] | None = None
) -> dict[str, str | list[int]]:
    """SPEC 7's "resources": per kind "all" or the selected ids.

    `selections` comes from `token_selections` (avoids a query per kind);
    without it the token's prefetched or lazily loaded many-to-manys are used.
    """
    if selections is None:
        return token.resources_json()
    return {str(kind): "all" if token.has_all(kind) else selections.get(kind, []) for kind in Kind}


@dataclass(frozen=True)
class ResourceSummary:
    """What a token may touch of one kind, for the token tables."""

    kind: Kind
    all: bool
    count: int
    names: tuple[str, ...]

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.names))

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def token_resource_summaries(tokens: list[Token]) -> dict[int, list[ResourceSummary]]:
    """Per token, a summary per relevant kind: all, or a count and the first few names.

    At most one query per kind (five in all), whatever the number of tokens or
    selected resources: a window function keeps the first RESOURCE_PREVIEW
    names and the total count of each token's selection.
    """
    relevant = {token.pk: kinds_for_scopes(token.scopes) or frozenset(Kind) for token in tokens}
    needed: dict[Kind, list[int]] = {}
    for token in tokens:
        for kind in relevant[token.pk]:
            if not token.has_all(kind):
                needed.setdefault(kind, []).append(token.pk)
    previews: dict[tuple[int, Kind], tuple[int, list[str]]] = {}
    for kind, token_ids in needed.items():
        through, source, target = _through(kind)
        rows = (
            through._default_manager.filter(**{f"{source}_id__in": token_ids})
            .annotate(
                position=Window(
                    RowNumber(),
                    partition_by=[F(f"{source}_id")],
                    order_by=[F(f"{target}__name").asc(), F(f"{target}_id").asc()],
                ),
                total=Window(Count("pk"), partition_by=[F(f"{source}_id")]),
            )
            .filter(position__lte=RESOURCE_PREVIEW)
            .values_list(f"{source}_id", f"{target}__name", "total")
            .order_by(f"{source}_id", "position")
        )
        for token_id, name, total in rows:
            _total, names = previews.setdefault((token_id, kind), (total, []))
            names.append(name)
    summaries: dict[int, list[ResourceSummary]] = {}
    for token in tokens:
        summaries[token.pk] = []
        for kind in Kind:
            if kind not in relevant[token.pk]:
                continue
            if token.has_all(kind):
                summaries[token.pk].append(ResourceSummary(kind, True, 0, ()))
            else:
                total, names = previews.get((token.pk, kind), (0, []))
                summaries[token.pk].append(ResourceSummary(kind, False, total, tuple(names)))
    return summaries


@dataclass(frozen=True)
class PickerItem:
    id: int
    name: str
    account_name: str
    selected: bool


def resources_for_picker(
    *,
    kind: Kind,
    account_ids: list[int],
    query: str = "",
    selected_ids: frozenset[int] = frozenset(),
    limit: int = 50,
) -> tuple[list[PickerItem], int]:
    """Resources of `kind` in the accounts, matching `query`, selected ones first.

    Returns the items (at most `limit` unselected matches, plus every selected
    resource in reach) and how many matches were left out.
    """
    model = RESOURCE_MODELS[kind]
    in_reach: QuerySet[Zone | Domain | Certificate | Service] = model.objects.filter(
        account_id__in=account_ids
    ).select_related("account")
    selected = list(in_reach.filter(pk__in=selected_ids).order_by("account__name", "name"))
    matches = in_reach.exclude(pk__in=[item.pk for item in selected])
    if query:
        matches = matches.filter(name__icontains=query.strip()[:100])
    matches = matches.order_by("account__name", "name")
    shown = list(matches[: limit + 1])
    left_out = 0
    if len(shown) > limit:
        left_out = matches.count() - limit
        shown = shown[:limit]
    items = [PickerItem(r.pk, r.name, r.account.name, True) for r in selected]
    items += [PickerItem(r.pk, r.name, r.account.name, False) for r in shown]
    return items, left_out


def resource_ids_in(*, kind: Kind, ids: Iterable[int], account_ids: list[int]) -> list[int]:
    """Which of `ids` are resources of `kind` in the accounts (no query when either is empty)."""
    ids = [pk for pk in ids if 0 < pk < 2**63]
    if not ids or not account_ids:
        return []
    model = RESOURCE_MODELS[kind]
    found = model.objects.filter(pk__in=ids, account_id__in=account_ids)
    return sorted(found.values_list("pk", flat=True))
