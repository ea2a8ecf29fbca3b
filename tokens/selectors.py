"""Reads about tokens and the event log, shared by the panel, the API and the admin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import (
    CharField,
    Count,
    F,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import Http404

from accounts.constants import Role
from accounts.models import Account, Certificate, Domain, Membership, Service, User, Zone
from tokens.models import SELECTION_FIELDS, Event, Token, TokenType
from tokens.permissions import KIND_LABELS, Kind, kinds_for_scopes

# --------------------------------------------------------------------------- event log


def _account_events(account: Account) -> QuerySet[Event]:
    """Events written in the account's name."""
    return Event.objects.filter(account=account)


def _personal_events() -> QuerySet[Event]:
    """Events that carry no account: user tokens' lifecycle, sign-ins and sudo.

    A user token acts in all its owner's accounts, so its events belong to each
    of them; a person's sign-ins belong to every account they are a member of.
    """
    return Event.objects.filter(account__isnull=True)


def events_in_account(account: Account) -> list[QuerySet[Event]]:
    """Every event that concerns `account`, as streams to merge newest first.

    The account's own events, and the personal events of its members (the token's
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
    `engineer`: also what automation tokens did; `superuser`: the whole account.
    One stream per condition, each served by its own index (an OR of them would
    read every row of the member's account to find a page).
    """
    account = membership.account
    if membership.role == Role.SUPERUSER:
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


# --------------------------------------------------------------------------- the panel's reach
# Who may see, edit and revoke which token in the control panel:
# - their own user tokens: see, edit, revoke (as owner);
# - automation tokens of accounts where they are superuser: see, edit, revoke;
# - user tokens of members of such accounts: see and revoke (as superuser).
# Anything else is a 404, so a foreign id reveals nothing.

PICKER_MODELS: dict[Kind, type[Zone | Domain | Certificate | Service]] = {
    Kind.ZONES: Zone,
    Kind.DOMAINS: Domain,
    Kind.REGISTRAR: Domain,
    Kind.CERTIFICATES: Certificate,
    Kind.SERVICES: Service,
}
RESOURCE_PREVIEW = 3


def superuser_accounts_of(user: User) -> QuerySet[Account]:
    """Accounts where `user` is a superuser (they manage its tokens)."""
    return Account.objects.filter(
        memberships__user=user, memberships__role=Role.SUPERUSER
    ).order_by("name")


def _panel_tokens() -> QuerySet[Token]:
    return Token.objects.select_related("user", "account", "created_by")


def tokens_of_user(user: User) -> QuerySet[Token]:
    """The person's user tokens (the Personal tokens page), newest first."""
    return _panel_tokens().filter(type=TokenType.USER, user=user)


def tokens_acting_in(account: Account) -> QuerySet[Token]:
    """Every token that can act in `account`: its automation tokens and members' user tokens."""
    members = Membership.objects.filter(account=account).values("user_id")
    return Token.objects.filter(
        Q(type=TokenType.AUTOMATION, account=account) | Q(type=TokenType.USER, user_id__in=members)
    )


def tokens_visible_to(user: User, account: Account) -> QuerySet[Token]:
    """Every token that can act in `account`, for a superuser of it (else none)."""
    if not Membership.objects.filter(user=user, account=account, role=Role.SUPERUSER).exists():
        return Token.objects.none()
    return tokens_acting_in(account).select_related("user", "account", "created_by")


def _managed_accounts(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, role=Role.SUPERUSER).values("account_id")


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
    """A token `user` may revoke, in which capacity, and in whose account's name."""

    token: Token
    revoked_by: str  # "owner" or "superuser" (token_revoke's revoked_by)
    account: Account | None


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
        return Revocation(token, "owner", None)
    if token.type == TokenType.AUTOMATION:
        return Revocation(token, "superuser", token.account)
    shared = Account.objects.filter(
        memberships__user=user, memberships__role=Role.SUPERUSER
    ).filter(memberships__user_id=token.user_id)
    account = shared.filter(slug=account_slug).first() if account_slug else None
    return Revocation(token, "superuser", account or shared.order_by("name").first())


def token_reach_account_ids(token: Token) -> list[int]:
    """Accounts a token acts in: its account, or its owner's accounts."""
    if token.type == TokenType.AUTOMATION:
        return [token.account_id]
    return list(
        Membership.objects.filter(user_id=token.user_id).values_list("account_id", flat=True)
    )


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
            through.objects.filter(**{f"{source}_id__in": token_ids})
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
    model = PICKER_MODELS[kind]
    in_reach = model.objects.filter(account_id__in=account_ids).select_related("account")
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
