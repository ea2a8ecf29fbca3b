"""Reads about tokens and the event log, shared by the panel, the API and the admin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict, cast

from django.db import connection
from django.db.models import (
    Count,
    F,
    ManyToManyField,
    Model,
    Prefetch,
    Q,
    QuerySet,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import Http404

from accounts.constants import Role
from accounts.models import Account, Certificate, Domain, Membership, Service, User, Zone
from accounts.roles import manages_account, role_can_read
from accounts.selectors import accounts_managed_by, memberships_managing
from tokens.models import (
    PERSONAL_EVENT_KINDS,
    RESOURCE_MODELS,
    SELECTION_FIELDS,
    Event,
    Token,
    TokenQuerySet,
    TokenRemoval,
    TokenType,
)
from tokens.permissions import KIND_LABELS, Kind, kinds_for_scopes

# --------------------------------------------------------------------------- event log


def _account_events(account: Account) -> QuerySet[Event]:
    """Events written in the account's name."""
    return Event.objects.filter(account=account)


def _personal_events() -> QuerySet[Event]:
    """Events that carry no account and concern user tokens (their lifecycle, their API use).

    A user token acts in all its owner's accounts, so its events belong to each of
    them. Sign-ins and sudo carry no account either but belong to the person alone
    (PERSONAL_EVENT_KINDS): no account's log shows them (SPEC 9).
    """
    return Event.objects.filter(account__isnull=True).exclude(kind__in=PERSONAL_EVENT_KINDS)


def events_in_account(account: Account) -> list[QuerySet[Event]]:
    """Every event that concerns `account`, as streams to merge newest first.

    The account's own events, and the user-token events of its members (the token's
    owner or the acting person is a member). Each stream, narrowed by any one log
    filter, is read in the order of one index (Event.Meta.indexes) and stops after
    a page, so a page costs the same at a thousand events as at a million;
    tokens.paging merges them. The membership check is a subquery (the query
    count stays flat) applied while walking the personal events newest first: it
    costs little while the members own a fair share of the personal events, and
    more for a small account among many (then writing those events with each
    account they concern is the fix: see the README's Scale section).
    """
    members = Membership.objects.filter(account=account).values("user_id")
    return [
        _account_events(account),
        _personal_events().filter(Q(token_owner_id__in=members) | Q(actor_user_id__in=members)),
    ]


def events_visible_to(membership: Membership) -> list[QuerySet[Event]]:
    """The account's events as the member's role may see them (SPEC 9), as streams.

    `user` and `billing`: their own actions and events about their own tokens;
    `engineer`: also what automation tokens did; managers: the whole account.
    One stream per condition, each served by its own index (an OR of them would
    read every row of the member's account to find a page).
    """
    account = membership.account
    if manages_account(membership.role):
        return events_in_account(account)
    me = membership.user_id
    streams = [
        _account_events(account).filter(actor_user_id=me),
        _account_events(account).filter(token_owner_id=me),
        _personal_events().filter(actor_user_id=me),
        _personal_events().filter(token_owner_id=me),
    ]
    if membership.role == Role.ENGINEER:
        # An automation token acts in its one account: its events always carry it.
        streams.append(_account_events(account).filter(actor_token_type=TokenType.AUTOMATION))
    return streams


# --------------------------------------------------------------------------- selections
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


def token_name_in_use(*, name: str, owner_id: int | None, account_id: int | None) -> bool:
    """An active token already has `name` (any case): one of the owner's user tokens, or
    (with `account_id`) one of the account's automation tokens. The wizard warns, never refuses.
    """
    name = name.strip()
    if not name:
        return False
    if account_id is not None:
        same = Q(type=TokenType.AUTOMATION, account_id=account_id)
    else:
        same = Q(type=TokenType.USER, user_id=owner_id)
    return Token.objects.filter(same, name__iexact=name).active().exists()


# --------------------------------------------------------------------------- the panel's reach
# Who may see, edit and revoke which token in the control panel:
# - their own user tokens: see, edit, revoke (as owner);
# - automation tokens of accounts they manage (superusers): see, edit, revoke;
# - user tokens of members of such accounts: see and revoke (as superuser).
# Anything else is a 404, so a foreign id reveals nothing.

RESOURCE_PREVIEW = 3


def _panel_tokens() -> TokenQuerySet:
    return Token.objects.select_related("user", "account", "created_by")


def tokens_of_user(user: User) -> QuerySet[Token]:
    """The person's user tokens (the Personal tokens page), newest first.

    With the accounts superusers removed each from (one query for the whole page).
    """
    removals = TokenRemoval.objects.select_related("account").order_by("account__name")
    return (
        _panel_tokens()
        .filter(type=TokenType.USER, user=user)
        .prefetch_related(Prefetch("removals", queryset=removals))
    )


def tokens_visible_to(user: User, account: Account) -> TokenQuerySet:
    """Every token that can act in `account`, for a member who manages it (else none).

    The account's automation tokens and the user tokens of its members.
    """
    if not memberships_managing(user).filter(account=account).exists():
        return Token.objects.none()
    return tokens_acting_in(account)


def tokens_acting_in(account: Account) -> TokenQuerySet:
    """Every token that acts in `account`: its automation tokens and its members' user tokens."""
    members = Membership.objects.filter(account=account).values("user_id")
    removed = TokenRemoval.objects.filter(account=account).values("token_id")
    return _panel_tokens().filter(
        Q(type=TokenType.AUTOMATION, account=account)
        | Q(type=TokenType.USER, user_id__in=members) & ~Q(pk__in=removed)
    )


class _AccountIdRow(TypedDict):
    account_id: int


def _managed_accounts(user: User) -> QuerySet[Membership, _AccountIdRow]:
    return memberships_managing(user).values("account_id")


def token_get_manageable(user: User, token_id: int) -> Token:
    """A token `user` may edit: their own user token or an automation token they manage.

    Raises Http404 for anything else.
    """
    token = (
        _panel_tokens()
        .filter(
            Q(type=TokenType.USER, user=user)
            | Q(type=TokenType.AUTOMATION, account_id__in=_managed_accounts(user)),
            pk=token_id,
        )
        .first()
    )
    if token is None:
        raise Http404("No such token.")
    return token


@dataclass(frozen=True)
class Revocation:
    """A token `user` may revoke, in which capacity, and in whose account's name.

    `remove_only`: a member's user token that also acts in an account the
    superuser does not manage is removed from `account` only (SPEC 6), not revoked.
    """

    token: Token
    revoked_by: str  # "owner" or "superuser" (token_revoke's revoked_by)
    account: Account | None
    remove_only: bool = False


def token_get_revocable(user: User, token_id: int, account_slug: str = "") -> Revocation:
    """A token `user` may revoke, or Http404.

    Members' user tokens are revocable by a superuser of any account they share;
    `account_slug` says which one the superuser acts for (the page they came from).
    """
    managed = _managed_accounts(user)
    members_of_managed = Membership.objects.filter(account_id__in=managed).values("user_id")
    token = (
        _panel_tokens()
        .filter(
            Q(type=TokenType.USER, user=user)
            | Q(type=TokenType.AUTOMATION, account_id__in=managed)
            | Q(type=TokenType.USER, user_id__in=members_of_managed),
            pk=token_id,
        )
        .first()
    )
    if token is None:
        raise Http404("No such token.")
    if token.type == TokenType.USER and token.user_id == user.pk:
        return token_revocation(token, by_owner=True)
    if token.type == TokenType.AUTOMATION:
        return token_revocation(token, by_owner=False)
    reach = token_reach(token_type=token.type, owner_id=token.user_id, token_id=token.pk)
    managed_ids = set(accounts_managed_by(user).values_list("pk", flat=True))
    shared = [m.account for m in reach.memberships if m.account_id in managed_ids]
    return token_revocation(
        token,
        by_owner=False,
        managed=shared,
        elsewhere=len(shared) < len(reach.memberships),
        account_slug=account_slug,
    )


def token_revocation(
    token: Token,
    *,
    by_owner: bool,
    managed: list[Account] | None = None,
    elsewhere: bool = False,
    account_slug: str = "",
) -> Revocation:
    """How a token is revoked (SPEC 6), once the panel or the API found that it may be.

    By its owner: revoked. An automation token: revoked by a superuser of its
    account. A member's user token: in the name of one of the `managed` accounts
    where it acts (`account_slug`'s, else the first); removed from that account
    only when it also acts `elsewhere`, where its revoker does not manage it.
    Http404 when it acts in none of them (removed already).
    """
    if by_owner:
        return Revocation(token, "owner", None)
    if token.type == TokenType.AUTOMATION:
        return Revocation(token, "superuser", token.account)
    if not managed:
        raise Http404("No such token.")
    account = next((a for a in managed if a.slug == account_slug), managed[0])
    return Revocation(token, "superuser", account, remove_only=elsewhere)


@dataclass(frozen=True)
class TokenReach:
    """The accounts a token acts in and, for a user token, its owner's memberships there."""

    account_ids: list[int]
    memberships: list[Membership]  # user tokens: with their accounts, by account name

    @property
    def owner_roles(self) -> list[str]:
        """The roles that cap a user token, one per account it acts in."""
        return [membership.role for membership in self.memberships]

    def account_ids_reading(self, kind: Kind) -> list[int]:
        """The accounts whose resources of `kind` the token's form may offer (SPEC 4 caps).

        A user token's: where its owner's role reads `kind` (billing reads no zones).
        An automation token's account: only its managers, who read everything, see its form.
        """
        if not self.memberships:
            return self.account_ids
        return [m.account_id for m in self.memberships if role_can_read(m.role, str(kind))]


def token_reach(
    *,
    token_type: str,
    owner_id: int | None = None,
    account_id: int | None = None,
    token_id: int | None = None,
) -> TokenReach:
    """Which accounts a token acts in (SPEC 3), for a token that exists or is being made.

    An automation token acts in its one account (`account_id`); a user token in
    every account its owner (`owner_id`) is a member of now, capped there by the
    owner's current role, except the accounts a superuser removed the token
    (`token_id`, when it exists) from. One query for a user token, none for an
    automation one.
    """
    if token_type == TokenType.AUTOMATION:
        return TokenReach([account_id] if account_id is not None else [], [])
    if owner_id is None:  # a user token without an owner acts nowhere
        return TokenReach([], [])
    memberships = Membership.objects.filter(user_id=owner_id)
    if token_id is not None:
        removed = TokenRemoval.objects.filter(token_id=token_id).values("account_id")
        memberships = memberships.exclude(account_id__in=removed)
    in_reach = list(memberships.select_related("account").order_by("account__name", "pk"))
    return TokenReach([membership.account_id for membership in in_reach], in_reach)


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
