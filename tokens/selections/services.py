"""Writing which resources a token holds: its `all_<kind>` flags and its selected rows."""

from __future__ import annotations

from collections.abc import Mapping

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

    One INSERT per kind with a selection: `.set()` would first read the rows the
    new token cannot have (a query per kind).
    """
    for kind, ids in resources.items():
        if not ids:
            continue
        field = Token._meta.get_field(BY_KIND[kind].selection_field)
        through = field.remote_field.through  # type: ignore[union-attr]
        source, target = field.m2m_field_name(), field.m2m_reverse_field_name()  # type: ignore[union-attr]
        through.objects.bulk_create(
            through(**{f"{source}_id": token.pk, f"{target}_id": pk}) for pk in dict.fromkeys(ids)
        )
