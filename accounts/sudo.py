"""Sudo mode's detour that finishes the job (SPEC 16): nobody presses the same button twice.

A view that needs sudo mode for a POST sends the person to /sudo/ with
`sudo_detour()`: the POST (its fields, never its CSRF token) is kept in the session.
Once the person confirms it is them, /sudo/ calls `sudo_kept_form_arm()` and
redirects back to the address of the POST; `@sudo_resumable` on that view turns
that one GET back into the kept POST, which the view then handles as if it had
just been submitted (and answers as it always does: a redirect, or the form with
its errors).

    @sudo_resumable                        # outermost: before require_POST and friends
    @require_http_methods(["GET", "POST"])
    @signed_in_required
    def thing_edit(request, thing_id):
        ...
        if request.method == "POST" and not sudo_is_active(request):
            return sudo_detour(request, cancel_url=here)

`sudo_gate(request, cancel_url=...)` is that check for a view whose every request
needs sudo mode (a GET is simply sent to /sudo/ and back to the same address), and
`@sudo_required(cancel="app:name")` the same as a decorator, for a fixed Cancel.

This is the one way the panel asks for sudo mode: token creation, roll and widening,
policies, trusted publishers, webhooks and the second factors all use it.

Safety: the kept POST passed the CSRF check when it was submitted. It is carried
out only for the same person, at the same address, within a minute of a
confirmation made for that address, and only once; a GET cannot forge one. Coming
back to the address without confirming (Cancel on /sudo/) drops it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from accounts.constants import SUDO_KEPT_FORM_MAX_AGE, SUDO_KEPT_FORM_READY_SECONDS
from accounts.services.identity import sudo_is_active

KEPT_SESSION_KEY = "sudo_kept_form"
View = Callable[..., HttpResponse]


def sudo_url(next_url: str, cancel_url: str) -> str:
    """The sudo page, coming back to `next_url` (or `cancel_url` if the person cancels)."""
    return f"{reverse('accounts:sudo')}?{urlencode({'next': next_url, 'cancel': cancel_url})}"


def sudo_detour(request: HttpRequest, *, cancel_url: str) -> HttpResponse:
    """Send the person to confirm it is them, then back here; a POST is carried out then.

    An htmx request is answered with HX-Redirect (a full page load of /sudo/).
    """
    here = request.get_full_path()
    if request.method == "POST":
        request.session[KEPT_SESSION_KEY] = {
            "user": request.user.pk,
            "path": here,
            "data": {
                name: request.POST.getlist(name)
                for name in request.POST
                if name != "csrfmiddlewaretoken"
            },
            "kept_at": time.time(),
            "ready_at": None,
        }
    url = sudo_url(here, cancel_url)
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def sudo_kept_form_arm(request: HttpRequest, next_url: str) -> None:
    """The person just confirmed: the form kept for `next_url` may now be carried out."""
    kept = _kept_form(request)
    if kept is None or kept["path"] != next_url:
        return
    if time.time() - kept["kept_at"] > SUDO_KEPT_FORM_MAX_AGE.total_seconds():
        del request.session[KEPT_SESSION_KEY]
        return
    kept["ready_at"] = time.time()
    request.session.modified = True


def sudo_kept_form_waiting(request: HttpRequest, next_url: str) -> bool:
    """A form sent to `next_url` waits for the person to confirm (the sudo page says so)."""
    kept = _kept_form(request)
    return kept is not None and kept["path"] == next_url


def _kept_form(request: HttpRequest) -> dict[str, Any] | None:
    """The form kept in the session for the signed-in person, if it is well formed."""
    kept = request.session.get(KEPT_SESSION_KEY)
    if (
        isinstance(kept, dict)
        and kept.get("user") == request.user.pk
        and isinstance(kept.get("path"), str)
        and isinstance(kept.get("data"), dict)
        and isinstance(kept.get("kept_at"), int | float)
    ):
        return kept
    return None


def _kept_form_ready(request: HttpRequest) -> QueryDict | None:
    """The kept POST of this address, once, if the person confirmed for it a moment ago."""
    kept = _kept_form(request)
    if kept is None or kept["path"] != request.get_full_path():
        return None
    ready_at = kept.get("ready_at")
    del request.session[KEPT_SESSION_KEY]
    if not isinstance(ready_at, int | float):
        return None  # back here without confirming (Cancel on /sudo/): the change is dropped
    if time.time() - ready_at > SUDO_KEPT_FORM_READY_SECONDS or not sudo_is_active(request):
        return None
    data = QueryDict(mutable=True)
    for name, values in kept["data"].items():
        if isinstance(values, list):
            data.setlist(str(name), [str(value) for value in values])
    data._mutable = False
    return data


def sudo_resumable(view: View) -> View:
    """On the way back from /sudo/, run the view with the POST it kept (see the module)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "GET" and request.user.is_authenticated:
            kept = _kept_form_ready(request)
            if kept is not None:
                request.method = "POST"
                request.POST = kept  # type: ignore[assignment]
        return view(request, *args, **kwargs)

    return wrapper


def sudo_gate(request: HttpRequest, *, cancel_url: str) -> HttpResponse | None:
    """None in sudo mode; else the detour to /sudo/ (a POST is kept and carried out after).

    The view must be wrapped in `@sudo_resumable` for the kept POST to come back.
    """
    if sudo_is_active(request):
        return None
    return sudo_detour(request, cancel_url=cancel_url)


def sudo_required(cancel: str) -> Callable[[View], View]:
    """Every request of the view needs sudo mode; a POST is carried out after it.

    `cancel` names the URL the sudo page's Cancel goes to. Put it under
    `signed_in_required` (a signed-out person goes to sign in first).
    """

    def decorator(view: View) -> View:
        @sudo_resumable
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            detour = sudo_gate(request, cancel_url=reverse(cancel))
            return detour or view(request, *args, **kwargs)

        return wrapper

    return decorator
