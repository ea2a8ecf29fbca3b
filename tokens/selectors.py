"""Reads about tokens and the event log, shared by the panel, the API and the admin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from django.db import connection
from django.db.models import (
    Prefetch,
    Q,
    QuerySet,
)
from django.http import Http404

from accounts.constants import Role
from accounts.models import Account, Membership, User
from accounts.roles import manages_account, role_can_read
from accounts.selectors import accounts_managed_by, memberships_managing
from tokens.kinds import BY_KIND, Kind
from tokens.models import PERSONAL_EVENT_KINDS, Event, Token, TokenQuerySet, TokenType
from tokens.removals.models import TokenRemoval

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


def sees_automation_token_events(role: str) -> bool:
    """An engineer also sees what the account's automation tokens did (SPEC 9)."""
    return role == Role.ENGINEER


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
    if sees_automation_token_events(membership.role):
        # An automation token acts in its one account: its events always carry it.
        streams.append(_account_events(account).filter(actor_token_type=TokenType.AUTOMATION))
    return streams


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


def _panel_tokens() -> TokenQuerySet:
    return Token.objects.select_related("user", "account", "created_by", "minted_by")


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


def resources_in_accounts(kind: Kind, ids: Sequence[int], account_ids: Sequence[int]) -> set[int]:
    """Which of `ids` name a resource of `kind` in one of `account_ids` (the others: no such
    row, or another account's). One plain query: every token creation and permission change
    asks it per selected kind, and the ORM took ten times the query's cost to build it."""
    ids = [pk for pk in ids if 0 < pk < 2**63]  # beyond: no such row
    if not ids or not account_ids:
        return set()
    meta = BY_KIND[kind].model._meta
    pk, account = meta.pk.column, meta.get_field("account").column
    sql = (
        f"SELECT {pk} FROM {meta.db_table} "  # noqa: S608 (names and placeholders only)
        f"WHERE {pk} IN ({', '.join(['%s'] * len(ids))}) "
        f"AND {account} IN ({', '.join(['%s'] * len(account_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, *account_ids])
        return {pk for (pk,) in cursor.fetchall()}
