"""Reads about users, accounts and their resources, shared by views and the API.

Dependencies point one way: tokens uses accounts. These reads may look at
tokens.models (a member's token count) but never at tokens' rules or services.
"""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import Account, Certificate, Domain, Membership, Service, User, Zone
from accounts.roles import MANAGING_ROLES
from tokens.models import PERSONAL_EVENT_KINDS, ActorKind, Event, Token, TokenType


def memberships_of(user: User) -> QuerySet[Membership]:
    """The user's memberships with their accounts, for the switcher and role checks."""
    return Membership.objects.filter(user=user).select_related("account").order_by("account__name")


def membership_get(*, user: User, slug: str) -> Membership:
    """The user's membership in the account `slug`; 404 when there is none."""
    try:
        return Membership.objects.select_related("account").get(user=user, account__slug=slug)
    except Membership.DoesNotExist:
        raise Http404("No such account.") from None


def personal_tokens_of(user: User) -> QuerySet[Token]:
    """The person's user tokens, by name: each must be revoked before the person is deleted."""
    return Token.objects.filter(user=user, type=TokenType.USER).order_by("name", "pk")


def memberships_managing(user: User) -> QuerySet[Membership]:
    """The user's memberships in the accounts they manage (accounts.roles.manages_account)."""
    return Membership.objects.filter(user=user, role__in=MANAGING_ROLES)


def accounts_managed_by(user: User) -> QuerySet[Account]:
    """Accounts whose tokens and members `user` manages, by name."""
    return Account.objects.filter(
        memberships__user=user, memberships__role__in=MANAGING_ROLES
    ).order_by("name")


def zones_of(account: Account) -> QuerySet[Zone]:
    return Zone.objects.filter(account=account).annotate(record_count=Count("records"))


def domains_of(account: Account) -> QuerySet[Domain]:
    return Domain.objects.filter(account=account)


def certificates_of(account: Account) -> QuerySet[Certificate]:
    return Certificate.objects.filter(account=account)


def services_of(account: Account) -> QuerySet[Service]:
    return Service.objects.filter(account=account)


def members_of(account: Account) -> QuerySet[Membership]:
    """The account's memberships with their users and each one's active user-token count."""
    active_tokens = (
        Token.objects.filter(user_id=OuterRef("user_id"))
        .active()
        .order_by()
        .values("user_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Membership.objects.filter(account=account)
        .select_related("user")
        .annotate(active_tokens=Coalesce(Subquery(active_tokens), 0))
        .order_by("user__email")
    )


def accounts_requiring_sso_or_2fa(user: User) -> list[str]:
    """Names of the user's accounts that enforce single sign-on or two-factor authentication.

    Such a person may not create tokens with only a password (SPEC 7, POST /tokens).
    """
    return list(
        Account.objects.filter(memberships__user=user)
        .filter(Q(force_sso=True) | Q(require_2fa=True))
        .order_by("name")
        .values_list("name", flat=True)
    )


def sign_ins_of(user: User, limit: int = 10) -> list[Event]:
    """The person's latest sign-ins and sudo confirmations, newest first (their profile).

    These events belong to the person alone (SPEC 9): no account's event log shows them.
    """
    return list(
        Event.objects.filter(
            actor_user=user, actor_kind=ActorKind.USER, kind__in=PERSONAL_EVENT_KINDS
        ).order_by("-created_at", "-id")[:limit]
    )
