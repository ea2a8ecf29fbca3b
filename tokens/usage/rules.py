"""What usage counts (SPEC 13): the operations counted, and why a request was denied."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from accounts.roles import MANAGE_TOKENS, OPERATIONS

# Token routes (whoami, tokens, tokens/self, ...) count as one operation; so does
# listing the accounts a token acts in.
TOKENS_OPERATION = "tokens"
ACCOUNTS_OPERATION = "accounts"
COUNTED_OPERATIONS: tuple[str, ...] = (
    *(op for op in OPERATIONS if op != MANAGE_TOKENS),
    TOKENS_OPERATION,
    ACCOUNTS_OPERATION,
)


class DenialReason(StrEnum):
    """What refused a request (SPEC 13, "What counts as denied")."""

    SCOPE = "scope"
    ROLE = "role"
    PLAN = "plan"
    POLICY = "policy"  # a policy of the account blocks the token (SPEC 15)
    NOT_IN_ACCOUNT = "not_in_account"  # an account that exists, where the token does not act
    NOT_SELECTED = "not_selected"  # a resource that exists, outside the token's selection
    RECORD_NOT_ALLOWED = "record_not_allowed"  # outside the token's record rules (SPEC 14)


@dataclass(frozen=True, slots=True)
class Denial:
    """A refused request, as kept in the last-denials list."""

    operation: str
    required_scope: str
    account_id: int | None
    resource_id: int | None
    ip: str | None
    reason: str = DenialReason.SCOPE
