"""Account routes: the accounts a token acts in, and an account's billing details."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from accounts.constants import PLAN_MONTHLY_PRICE_USD
from accounts.models import Account
from tokens.api.access import authorize, principal_of
from tokens.api.responses import ok
from tokens.api.schemas import ACCOUNT_ERRORS, ERRORS, AccountOut, BillingOut, Data
from tokens.models import TokenRemoval

router = Router(tags=["accounts"])


@router.get("", response={200: Data[list[AccountOut]], **ERRORS})
def accounts_list(request: HttpRequest) -> HttpResponse:
    """The accounts the token acts in."""
    principal = principal_of(request)
    if principal.is_automation and principal.account_id is not None:
        accounts = Account.objects.filter(pk=principal.account_id)
    elif principal.user_id is not None:
        removed = TokenRemoval.objects.filter(token_id=principal.id).values("account_id")
        accounts = Account.objects.filter(memberships__user_id=principal.user_id).exclude(
            pk__in=removed
        )
    else:  # neither: a token acts nowhere
        accounts = Account.objects.none()
    return ok(list(accounts.order_by("name", "id").values("id", "slug", "name", "plan")))


@router.get("/{id:account_id}/billing", response={200: Data[BillingOut], **ACCOUNT_ERRORS})
def billing(request: HttpRequest, account_id: int) -> HttpResponse:
    """The account's plan, price and billing contact (`billing:read`)."""
    access = authorize(request, "billing:read")
    billing_email = Account.objects.filter(pk=access.id).values_list("billing_email", flat=True)
    return ok(
        {
            "account": access.as_json(),
            "plan": access.plan,
            "monthly_price": PLAN_MONTHLY_PRICE_USD[access.plan],
            "currency": "USD",
            "billing_email": billing_email.first() or "",
        }
    )
