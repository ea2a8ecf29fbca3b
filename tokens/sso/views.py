"""Authorize for SSO: the button on a user token's page (SPEC 17)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from accounts.decorators import signed_in_required
from accounts.http import AuthenticatedRequest, client_ip
from accounts.selectors import membership_get
from accounts.sso.session import sso_session_valid
from tokens.events import Actor
from tokens.models import Token, TokenType
from tokens.sso.services import SsoAuthorizationRefused, token_sso_authorize


@require_POST
@signed_in_required
def token_sso_authorize_view(
    request: AuthenticatedRequest, token_id: int, slug: str
) -> HttpResponse:
    """The owner authorizes their token for the account's SSO, in a session that came through it."""
    token = get_object_or_404(
        Token.objects.active(), pk=token_id, type=TokenType.USER, user=request.user
    )
    account = membership_get(user=request.user, slug=slug).account
    if not sso_session_valid(request, account.pk):
        messages.error(
            request,
            f"Sign in with {account.name}'s SSO first (in the last 24 hours), then authorize "
            "the token.",
        )
        return redirect("tokens:detail", token_id=token.pk)
    try:
        created = token_sso_authorize(
            actor=Actor.person(request.user, ip=client_ip(request)), token=token, account=account
        )
    except SsoAuthorizationRefused as refused:
        messages.error(request, str(refused))
    else:
        if created:
            messages.success(request, f"“{token.name}” now works in {account.name} under its SSO.")
    return redirect("tokens:detail", token_id=token.pk)
