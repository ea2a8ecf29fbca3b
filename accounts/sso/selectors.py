"""Reads of single sign-on (SPEC 17) that views, the adapter and the token pages share."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.constants import Plan
from accounts.models import Account, User
from accounts.sso.models import PROVIDER_ID_PREFIX, AccountSso
from tokens.models import Token, TokenType


def sso_offered(account: Account) -> bool:
    """SSO comes with the Enterprise plan."""
    return account.plan == Plan.ENTERPRISE


def sso_of(account: Account) -> AccountSso | None:
    """The account's SSO settings, or None."""
    return AccountSso.objects.filter(account=account).first()


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def sso_for_email(email: str) -> AccountSso | None:
    """The enabled SSO that vouches for `email`'s domain (enterprise accounts only).

    Domains are unique among enabled SSO in practice; the oldest account wins a tie.
    """
    domain = email_domain(email)
    if not domain:
        return None
    candidates = AccountSso.objects.filter(
        enabled=True, account__plan=Plan.ENTERPRISE
    ).select_related("account")
    for sso in candidates.order_by("account_id"):
        if domain in sso.domains:
            return sso
    return None


def domains_vouched_elsewhere(account_id: int | None) -> set[str]:
    """The email domains other accounts' SSO settings vouch for (a domain has one provider)."""
    others = AccountSso.objects.all()
    if account_id is not None:
        others = others.exclude(account_id=account_id)
    found: set[str] = set()
    for domains in others.values_list("domains", flat=True):
        found.update(domains or ())
    return found


def sso_by_provider_id(provider_id: str) -> AccountSso | None:
    """The SSO whose allauth provider id is `provider_id` (`sso-<slug>`), enterprise only."""
    if not provider_id.startswith(PROVIDER_ID_PREFIX):
        return None
    slug = provider_id.removeprefix(PROVIDER_ID_PREFIX)
    return (
        AccountSso.objects.select_related("account")
        .filter(account__slug=slug, account__plan=Plan.ENTERPRISE)
        .first()
    )


def member_for_sso(sso: AccountSso, email: str) -> User | None:
    """The member of the SSO's account with this email (SSO never makes anyone a member)."""
    return (
        User.objects.filter(
            email__iexact=email.strip(), is_active=True, memberships__account_id=sso.account_id
        )
        .exclude(is_synthetic=True)
        .first()
    )


def tokens_needing_sso(account: Account) -> QuerySet[Token]:
    """Active user tokens of the account's members that force SSO would block there.

    User tokens not authorized for its SSO and not cut off from the account (those
    answer 404 there anyway); automation tokens are unaffected.
    """
    return (
        Token.objects.active()
        .filter(type=TokenType.USER, user__memberships__account=account)
        .exclude(sso_authorizations__account=account)
        .exclude(removals__account=account)
        .select_related("user")
        .order_by("user__email", "name")
    )
