"""The account's token policies page (SPEC 15): superusers, preview first, sudo before saving."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.decorators import account_view
from accounts.http import AccountRequest, form_error_status
from accounts.roles import manages_account
from accounts.sudo import sudo_gate, sudo_resumable
from tokens.forms import AccountPoliciesForm
from tokens.policies.rules import POLICY_LABELS, Policy, policy_json
from tokens.policies.selectors import members_without_second_factor, policy_preview
from tokens.policies.services import account_policies_update
from tokens.views.common import actor_of

TEMPLATE = "tokens/policies.html"


def _fingerprint(policy: Policy) -> str:
    """What a preview showed, so saving applies exactly what was previewed."""
    values = policy_json(policy)
    return "|".join(
        str(values[key]) if key != "allowed_networks" else ",".join(values[key])
        for key in sorted(values)
    )


@sudo_resumable
@require_http_methods(["GET", "POST"])
@account_view
def account_policies(request: AccountRequest) -> HttpResponse:
    """Show and change the account's token policies.

    Every change is previewed first ("N tokens would be blocked: …"); saving the
    previewed values needs sudo mode: sent without it, they are saved once the person
    confirmed it is them (accounts.sudo), after the same checks as any submit.
    """
    account = request.account
    if not manages_account(request.membership.role):
        return render(
            request,
            "tokens/forbidden.html",
            {"account": account, "forbidden_title": "Only superusers set token policies"},
            status=403,
        )
    here = reverse("tokens:account-policies", args=[account.slug])
    current = Policy.of(account)
    if request.method == "GET":
        form = AccountPoliciesForm(initial=AccountPoliciesForm.initial_for(current))
        return render(request, TEMPLATE, {"form": form, "current": current})

    data = request.POST
    form = AccountPoliciesForm(data, person=request.user)
    if not form.is_valid():
        context = {"form": form, "current": current}
        return render(request, TEMPLATE, context, status=form_error_status(request))
    # Force SSO is set on the SSO page: the policies form keeps it as it is.
    policy = replace(form.policy(), require_sso=current.require_sso)
    previewed = data.get("previewed") == _fingerprint(policy)
    if data.get("step") == "save" and previewed:
        detour = sudo_gate(request, cancel_url=here)
        if detour is not None:
            return detour
        account_policies_update(actor=actor_of(request), account=account, policy=policy)
        messages.success(request, f"Token policies of {account.name} saved.")
        return redirect(here)

    blocked = [(token, POLICY_LABELS[name]) for token, name in policy_preview(account, policy)]
    context = {
        "form": form,
        "current": current,
        "preview": {
            "blocked": blocked,
            "fingerprint": _fingerprint(policy),
            "unchanged": policy == current,
            "members_without_2fa": members_without_second_factor(account)
            if policy.require_2fa and not current.require_2fa
            else [],
        },
    }
    return render(request, TEMPLATE, context)
