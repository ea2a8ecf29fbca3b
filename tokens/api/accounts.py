"""Account routes: the accounts a token acts in, and an account's billing details."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponse
from ninja import Router

from accounts.constants import PLAN_MONTHLY_PRICE_USD
from accounts.models import Account, Membership
from tokens.api.access import authorize, count_request, principal_of
from tokens.api.answers import ACCOUNT_ERRORS, ERRORS
from tokens.api.lean import lean_get
from tokens.api.responses import ok
from tokens.api.schemas import AccountOut, BillingOut, Data, fields_of
from tokens.api.security import ApiRequest
from tokens.removals.models import TokenRemoval
from tokens.usage.rules import ACCOUNTS_OPERATION

ACCOUNTS_PREFIX = "/accounts"  # where tokens.api mounts this router
router = Router(tags=["accounts"])

# A user token's accounts: where its owner is a member, less those it was removed from.
_MEMBER_ACCOUNTS_SQL = (
    f"SELECT a.id, a.slug, a.name, a.plan FROM {Account._meta.db_table} a "  # noqa: S608
    f"JOIN {Membership._meta.db_table} m ON m.account_id = a.id AND m.user_id = %(user)s "
    f"WHERE NOT EXISTS (SELECT 1 FROM {TokenRemoval._meta.db_table} r "
    "WHERE r.token_id = %(token)s AND r.account_id = a.id) ORDER BY a.name, a.id"
)
_BILLING_EMAIL_SQL = f"SELECT billing_email FROM {Account._meta.db_table} WHERE id = %(account)s"  # noqa: S608


@lean_get(ACCOUNTS_PREFIX)
@router.get("", response={200: Data[list[AccountOut]], **ERRORS})
def accounts_list(request: ApiRequest) -> HttpResponse:
    """The accounts the token acts in."""
    principal = principal_of(request)
    count_request(principal, ACCOUNTS_OPERATION)
    if principal.is_automation:  # its one account came with the token
        return ok([principal.access.as_json()] if principal.access else [])
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_ACCOUNTS_SQL, {"user": principal.user_id, "token": principal.id})
        rows = cursor.fetchall()
    keys = fields_of(AccountOut)
    return ok([dict(zip(keys, row, strict=True)) for row in rows])


@lean_get(f"{ACCOUNTS_PREFIX}/{{id:account_id}}/billing")
@router.get("/{id:account_id}/billing", response={200: Data[BillingOut], **ACCOUNT_ERRORS})
def billing(request: ApiRequest, account_id: int) -> HttpResponse:
    """The account's plan, price and billing contact (`billing:read`)."""
    access = authorize(request, "billing:read")
    with connection.cursor() as cursor:
        cursor.execute(_BILLING_EMAIL_SQL, {"account": access.id})
        row = cursor.fetchone()
    return ok(
        {
            "account": access.as_json(),
            "plan": access.plan,
            "monthly_price": PLAN_MONTHLY_PRICE_USD[access.plan],
            "currency": "USD",
            "billing_email": (row[0] if row else "") or "",
        }
    )
