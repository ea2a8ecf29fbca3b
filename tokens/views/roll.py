"""Rolling a token's secret in the panel (SPEC 11): sudo mode, a grace period, the reveal."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.decorators import signed_in_required
from accounts.http import AuthenticatedRequest, form_error_status, safe_next_url
from accounts.sudo import sudo_gate, sudo_resumable
from tokens import selectors
from tokens.services.roll import token_roll
from tokens.views.common import actor_of, back_url
from tokens.views.wizard import to_reveal

# How long the old secret keeps working, in seconds: the panel's choices.
GRACE_CHOICES = [
    ("0", "Immediately"),
    ("3600", "1 hour"),
    ("86400", "24 hours"),
    ("604800", "7 days"),
]


class TokenRollForm(forms.Form):
    grace_period = forms.TypedChoiceField(
        label="When should the old secret stop working?",
        choices=GRACE_CHOICES,
        coerce=int,
        initial="3600",
        widget=forms.RadioSelect,
    )


@sudo_resumable
@require_http_methods(["GET", "POST"])
@signed_in_required
def token_roll_page(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    """Roll secret: who may edit the token may roll it (never someone else's user token)."""
    token = selectors.token_get_manageable(request.user, token_id)
    back = safe_next_url(request) or back_url(token)
    detour = sudo_gate(request, cancel_url=back)
    if detour is not None:
        return detour  # a roll sent after sudo mode lapsed is carried out once confirmed
    form = TokenRollForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        created = token_roll(
            actor=actor_of(request),
            token=token,
            grace_period=timedelta(seconds=form.cleaned_data["grace_period"]),
        )
        return to_reveal(request, created, "tokens:rolled")
    status = form_error_status(request) if form.is_bound else 200
    context = {"token": token, "form": form, "back_url": back}
    return render(request, "tokens/token_roll.html", context, status=status)
