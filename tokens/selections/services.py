"""Writing which resources a token holds: its `all_<kind>` flags and its selected rows."""

from __future__ import annotations

from collections.abc import Mapping

from tokens.models import ALL_FIELDS, SELECTION_FIELDS, Token
from tokens.permissions import Kind


def token_flags_set(token: Token, resources: Mapping[Kind, list[int] | None]) -> None:
    """Set the `all_<kind>` flags from cleaned resources (None: all of that kind)."""
    for kind, ids in resources.items():
        setattr(token, ALL_FIELDS[kind], ids is None)


def token_selections_save(token: Token, resources: Mapping[Kind, list[int] | None]) -> None:
    """Write the selected resources of a saved token (an empty list for "all")."""
    for kind, ids in resources.items():
        getattr(token, SELECTION_FIELDS[kind]).set(ids or [])


def token_selections_add(
    token: Token, resources: Mapping[Kind, list[int] | None]
) -> dict[Kind, list[int]]:
    """Write a new token's selected resources: one INSERT per kind with ids, nothing read
    back (it has none yet). Returns them per kind, for its JSON and its event."""
    for kind, ids in resources.items():
        if ids:
            getattr(token, SELECTION_FIELDS[kind]).add(*ids)
    return {kind: list(ids) for kind, ids in resources.items() if ids is not None}
