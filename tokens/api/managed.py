"""Managing another token by id (revoke, roll, read its usage): who may, and as what.

Managing a token is the operation MANAGE_TOKENS in that token's account(s), decided by
permissions.decide() with the calling token's standing there, as an account route
would find it (tokens.auth.bearer.access_in_accounts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from accounts.models import Account
from accounts.roles import MANAGE_TOKENS
from tokens import selectors
from tokens.api.access import count_request, policy_refusal
from tokens.api.errors import ApiError, insufficient_scope, not_found
from tokens.auth.bearer import AuthenticationFailed, access_in_accounts
from tokens.auth.principal import AccountAccess, Principal
from tokens.models import Token, TokenType
from tokens.permissions import Outcome, decide, grant_is_unrestricted, required_scope
from tokens.usage.rules import TOKENS_OPERATION


@dataclass(frozen=True)
class ManagedToken:
    """Another token the calling token may manage by id, and in which capacity."""

    token: Token
    own: bool  # one of the caller's owner's user tokens: managed as its owner
    # Others' tokens: the token's accounts where the caller manages it, by name.
    accounts: list[Account] = field(default_factory=list)
    # A member's user token that also acts where the caller does not manage it:
    # removed from the caller's account, never revoked (SPEC 6).
    elsewhere: bool = False


def managed_token(
    principal: Principal, token_id: int, *, members_tokens: bool = True
) -> ManagedToken:
    """Another token the calling token may manage (revoke, roll, read usage), or an ApiError.

    Managing a token is MANAGE_TOKENS in the token's account(s), decided by decide()
    with the caller's standing there as an account route would find it
    (tokens.auth.bearer.access_in_accounts: not removed, its policies, the owner's role):
    - one of the caller's owner's user tokens: the caller must act, unblocked and
      with the unrestricted grant, in every account where that token acts (a token
      kept out of an account never reaches it through a sibling);
    - an automation token, or (`members_tokens`) a member's user token: the
      caller's owner manages (superuser) an account where it acts, and the caller
      acts there unblocked with the unrestricted grant.
    Anything else answers 404 (existence not revealed); where the caller would
    manage it but is blocked or narrowed, 403 policy_violation or insufficient_scope.
    The request is counted as `tokens`, denied when refused.
    """
    try:
        managed = _managed_token(principal, token_id, members_tokens=members_tokens)
    except ApiError:
        count_request(principal, TOKENS_OPERATION, refused_for=required_scope(MANAGE_TOKENS))
        raise
    count_request(principal, TOKENS_OPERATION)
    return managed


def _managed_token(principal: Principal, token_id: int, *, members_tokens: bool) -> ManagedToken:
    token = Token.objects.select_related("user", "account").filter(pk=token_id).first()
    if token is None:
        raise not_found()
    own = not principal.is_automation and token.user_id == principal.user_id
    if token.type == TokenType.AUTOMATION:
        accounts = [token.account] if token.account else []
        own = False
    elif own or members_tokens:
        reach = selectors.token_reach(
            token_type=token.type, owner_id=token.user_id, token_id=token.pk
        )
        accounts = [membership.account for membership in reach.memberships]
    else:
        raise not_found()  # someone else's user token: only its owner holds its secrets
    standings = access_in_accounts(principal, [account.pk for account in accounts])
    now = timezone.now()
    refusals = [
        _management_refusal(principal, standings.get(account.pk), own=own, now=now)
        for account in accounts
    ]
    if own:
        if any(refusal is not None for refusal in refusals):
            raise _first_refusal(refusals)
        if not accounts and not grant_is_unrestricted(principal.grant):
            raise _narrowed()  # acting nowhere, its grant is all there is to decide
        return ManagedToken(token, own=True)
    managed = [
        account for account, refusal in zip(accounts, refusals, strict=True) if refusal is None
    ]
    if not managed:
        raise _first_refusal(refusals)
    return ManagedToken(token, own=False, accounts=managed, elsewhere=len(managed) < len(accounts))


def _management_refusal(
    principal: Principal, access: AccountAccess | None, *, own: bool, now: datetime
) -> ApiError | None:
    """Why the caller may not manage the token in one of its accounts (None: it may)."""
    decision = decide(
        principal.grant,
        role=access.role if access else None,
        operation=MANAGE_TOKENS,
        now=now,
        client_ip=principal.client_ip,
        plan=access.plan if access else None,
        own_token=own,
    )
    if decision.outcome is Outcome.INACTIVE:
        raise AuthenticationFailed("The token may not be used now.", credentials_sent=True)
    if access is None or decision.outcome in (Outcome.NOT_IN_ACCOUNT, Outcome.ROLE):
        return not_found()  # not the caller's to manage, whatever else
    if access.blocked_by is not None:
        return policy_refusal(access)
    if not decision.allowed:
        return _narrowed()
    return None


def _narrowed() -> ApiError:
    return insufficient_scope(
        MANAGE_TOKENS,
        "Managing other tokens needs a token with the scope “global” on all resources and "
        "no DNS record rules; a narrower token manages only itself.",
    )


def _first_refusal(refusals: list[ApiError | None]) -> ApiError:
    """The answer when every account refuses: a 403 where the caller would manage, else 404."""
    shown = [refusal for refusal in refusals if refusal is not None and refusal.status != 404]
    return shown[0] if shown else not_found()
