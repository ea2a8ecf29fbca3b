"""Reads about tokens and the event log, shared by the panel, the API and the admin."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.constants import Role
from accounts.models import Account, Membership
from tokens.models import Event, TokenType

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
