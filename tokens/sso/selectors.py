"""Where a user token needs SSO authorization, for its page (SPEC 17)."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Account
from tokens.models import Token, TokenType


@dataclass(frozen=True)
class SsoNeed:
    """The token is refused in `account` until it is authorized for its SSO."""

    account: Account
    can_authorize: bool  # this session came through the account's SSO in the last 24 hours


def token_sso_needs(token: Token, session_accounts: set[int]) -> list[SsoNeed]:
    """The owner's accounts that force SSO and for which the user token is not authorized."""
    if token.type != TokenType.USER or token.user_id is None:
        return []
    accounts = (
        Account.objects.filter(memberships__user_id=token.user_id, force_sso=True)
        .exclude(pk__in=token.sso_authorizations.values("account_id"))
        .exclude(pk__in=token.removals.values("account_id"))
        .order_by("name")
    )
    return [SsoNeed(account, account.pk in session_accounts) for account in accounts]
