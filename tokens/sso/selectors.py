"""Where a user token needs SSO authorization, for its page (SPEC 17)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from accounts.models import Account
from tokens.models import Token
from tokens.policies.selectors import sso_needed_in


@dataclass(frozen=True)
class SsoNeed:
    """The token is refused in `account` until it is authorized for its SSO."""

    account: Account
    can_authorize: bool  # this session came through the account's SSO in the last 24 hours


def token_sso_needs(
    token: Token, accounts: Iterable[Account], session_accounts: set[int]
) -> list[SsoNeed]:
    """Among the accounts the token acts in, those whose forced SSO refuses it: the rule of
    the API's decision (tokens.policies.rules.sso_violation), not a second condition."""
    return [
        SsoNeed(account, account.pk in session_accounts)
        for account in sorted(sso_needed_in(token, accounts), key=lambda account: account.name)
    ]
