"""Writing which resources a token holds: its `all_<kind>` flags and its selected rows."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import connection

from tokens.kinds import BY_KIND, Kind
from tokens.models import Token


def token_flags_set(token: Token, resources: Mapping[Kind, list[int] | None]) -> None:
    """Set the `all_<kind>` flags from cleaned resources (None: all of that kind)."""
    for kind, ids in resources.items():
        setattr(token, BY_KIND[kind].all_field, ids is None)


def token_selections_save(token: Token, resources: Mapping[Kind, list[int] | None]) -> None:
    """Write the selected resources of a saved token (an empty list for "all")."""
    for kind, ids in resources.items():
        getattr(token, BY_KIND[kind].selection_field).set(ids or [])


def token_selections_add(token: Token, resources: Mapping[Kind, list[int] | None]) -> None:
    """Write the selected resources of a token just inserted, which has none yet.

    One plain INSERT per kind with a selection, of the many-to-many's two columns:
    `.set()` would first read the rows a new token cannot have (a query per kind),
    and the ORM's bulk_create cost ten times the statement.
    """
    with connection.cursor() as cursor:
        for kind, ids in resources.items():
            if not ids:
                continue
            field = Token._meta.get_field(BY_KIND[kind].selection_field)
            through = field.remote_field.through._meta  # type: ignore[union-attr]
            source = through.get_field(field.m2m_field_name()).column  # type: ignore[union-attr]
            target = through.get_field(field.m2m_reverse_field_name()).column  # type: ignore[union-attr]
            selected = list(dict.fromkeys(ids))
            rows = ", ".join(["(%s, %s)"] * len(selected))
            cursor.execute(
                f"INSERT INTO {through.db_table} ({source}, {target}) VALUES {rows}",  # noqa: S608
                [value for pk in selected for value in (token.pk, pk)],
            )
