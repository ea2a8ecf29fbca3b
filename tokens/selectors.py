"""Reads about tokens and the event log, shared by the panel, the API and the admin."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value

from accounts.constants import Role
from accounts.models import Account, Membership
from tokens.models import SELECTION_FIELDS, Event, Token, TokenType
from tokens.permissions import Kind

# --------------------------------------------------------------------------- event log


def events_in_account(account: Account) -> QuerySet[Event]:
    """Every event that concerns `account`.

    Events written in the account's name carry it. Events of user tokens, sign-ins
    and sudo carry no account (a user token acts in all its owner's accounts): they
    belong to every account where the token's owner or the acting person is a member.
    The membership checks are correlated subqueries, so the query count stays flat.
    """
    members = Membership.objects.filter(account=account)
    return Event.objects.filter(
        Q(account=account)
        | Q(account__isnull=True)
        & (
            Exists(members.filter(user_id=OuterRef("token_owner_id")))
            | Exists(members.filter(user_id=OuterRef("actor_user_id")))
        )
    )


def events_visible_to(membership: Membership) -> QuerySet[Event]:
    """The account's events as the member's role may see them (SPEC 9).

    `user` and `billing`: their own actions and events about their own tokens;
    `engineer`: also what automation tokens did; `superuser`: the whole account.
    """
    events = events_in_account(membership.account)
    if membership.role == Role.SUPERUSER:
        return events
    mine = Q(actor_user_id=membership.user_id) | Q(token_owner_id=membership.user_id)
    if membership.role == Role.ENGINEER:
        mine |= Q(actor_token_type=TokenType.AUTOMATION)
    return events.filter(mine)


# --------------------------------------------------------------------------- selections
# A token's selected resources live in one many-to-many table per kind. These
# read them without building model instances: one query for one kind, or one
# UNION query for many tokens.


def _through(kind: Kind) -> tuple[type, str, str]:
    """The through model of `kind`'s selection, its token column and its resource column."""
    field = Token._meta.get_field(SELECTION_FIELDS[kind])
    return field.remote_field.through, field.m2m_field_name(), field.m2m_reverse_field_name()


def token_selection_ids(*, token_id: int, kind: Kind) -> frozenset[int]:
    """Ids of the resources of `kind` selected for one token (one query)."""
    through, source, target = _through(kind)
    return frozenset(
        through.objects.filter(**{f"{source}_id": token_id}).values_list(f"{target}_id", flat=True)
    )


def token_selection_subquery(*, token_id: int, kind: Kind) -> QuerySet:
    """A subquery of the selected ids, for `id__in` filters on resource lists."""
    through, source, target = _through(kind)
    return through.objects.filter(**{f"{source}_id": token_id}).values(f"{target}_id")


def token_selections(
    *, token_ids: Iterable[int], kinds: Iterable[Kind] = tuple(Kind)
) -> dict[int, dict[Kind, list[int]]]:
    """Selected ids per token and kind, for many tokens in one UNION query.

    Tokens or kinds without selected rows are absent from the result (a token
    that selects "some" of a kind but whose resources were all deleted selects
    nothing: the caller treats a missing entry as an empty list).
    """
    token_ids = list(token_ids)
    kinds = list(kinds)
    if not token_ids or not kinds:
        return {}
    parts = []
    for kind in kinds:
        through, source, target = _through(kind)
        parts.append(
            through.objects.filter(**{f"{source}_id__in": token_ids})
            .annotate(kind=Value(str(kind), output_field=CharField()))
            .values_list(f"{source}_id", "kind", f"{target}_id")
            .order_by()
        )
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    result: dict[int, dict[Kind, list[int]]] = {}
    for token_id, kind, resource_id in query:
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


def tokens_owned_by(*, user_id: int) -> QuerySet[Token]:
    """A person's user tokens, newest first, with what their JSON needs."""
    return Token.objects.filter(type=TokenType.USER, user_id=user_id).select_related(
        "user", "account"
    )


def tokens_counting_towards_limit(*, user_id: int) -> QuerySet[Token]:
    """Tokens a person owns or created (automation): those the 100-token limit counts."""
    return Token.objects.filter(
        Q(user_id=user_id) | Q(created_by_id=user_id, type=TokenType.AUTOMATION)
    )
