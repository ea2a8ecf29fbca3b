"""What several token pages share: the acting person, redirects, templates."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from django.urls import reverse
from django.utils.http import urlencode

from accounts.http import AuthenticatedRequest, client_ip
from accounts.models import User
from accounts.selectors import accounts_managed_by
from tokens.events import Actor
from tokens.models import Token

FORM_TEMPLATE = "tokens/token_form.html"
LIST_TEMPLATE = "tokens/token_list.html"


def actor_of(request: AuthenticatedRequest) -> Actor:
    """The signed-in person, as the event log records them."""
    return Actor.person(request.user, ip=client_ip(request))


def managed_account_ids(user: User, tokens: Iterable[Token]) -> frozenset[int]:
    """The accounts `user` manages, as far as `tokens` need it: a query only when one of
    them is an automation token (a person's own tokens need none)."""
    if not any(token.is_automation for token in tokens):
        return frozenset()
    return frozenset(accounts_managed_by(user).values_list("pk", flat=True))


def token_changes_allowed(token: Token, user: User, managed: Collection[int]) -> bool:
    """`user` may edit the token and roll its secret.

    The owner of a user token; a superuser of an automation token's account (its id
    among `managed`, from managed_account_ids): decided here, whatever showed the token.
    """
    if token.is_automation:
        return token.account_id is not None and token.account_id in managed
    return token.user_id == user.pk


def token_changeable(token: Token, user: User, managed: Collection[int], now: datetime) -> bool:
    """`user` may edit the token and roll its secret, and doing so can help.

    An expired token's expiry is fixed: editing or rolling would not bring it
    back, so its pages offer a replacement instead.
    """
    return token_changes_allowed(token, user, managed) and not token.is_expired(now)


def replacement_url(token: Token) -> str:
    """The wizard, filled with an expired token's name, scopes, type and account."""
    query = {"name": token.name, "scopes": ",".join(token.scopes), "type": token.type}
    if token.is_automation and token.account_id is not None:
        query["account"] = str(token.account_id)
    return f"{reverse('tokens:new')}?{urlencode(query)}"


def back_url(token: Token) -> str:
    """The list a token is shown in: the account's for automation tokens, else Personal."""
    if token.is_automation and token.account is not None:
        return reverse("tokens:account-list", args=[token.account.slug])
    return reverse("tokens:list")
