"""The API's own, short middleware stack (SPEC 10: the panel's middleware must not tax the API).

`ApiStack` comes first in MIDDLEWARE. A request for the API (`/api`, `/api/...`)
or `/healthz` goes from there through API_MIDDLEWARE only, then to Django's
usual resolving and view calling; every other request goes on through the
panel's stack. The API authenticates with a bearer token and answers JSON, so
it needs no session, user, messages, CSRF token, htmx details, static files or
per-response CSP building; it keeps the security headers: SecurityMiddleware's
(HTTPS redirect, HSTS, nosniff, Referrer-Policy, COOP), X-Frame-Options,
Content-Security-Policy (built once, at start-up: JSON uses no nonce) and
`Cache-Control: no-store` unless the answer set its own (ApiHeaders).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

Handler = Callable[[HttpRequest], Any]


def load_middleware(handler: BaseHandler, paths: Sequence[str]) -> Handler:
    """Give `handler` the middleware `paths` (synchronous), as Django loads settings.MIDDLEWARE.

    The chain ends in the handler's own `_get_response` (resolve the URL, run the
    view middleware, call the view, handle its exception), as Django's does.
    Returns the chain's entry, also set as the handler's `_middleware_chain`.
    """
    django: Any = handler  # Django's private attributes: django-stubs does not declare them
    django._view_middleware = []
    django._template_response_middleware = []
    django._exception_middleware = []
    chain: Handler = convert_exception_to_response(django._get_response)
    for path in reversed(paths):
        try:
            instance = import_string(path)(chain)
        except MiddlewareNotUsed:
            continue
        if hasattr(instance, "process_view"):
            django._view_middleware.insert(0, instance.process_view)
        if hasattr(instance, "process_template_response"):
            django._template_response_middleware.append(instance.process_template_response)
        if hasattr(instance, "process_exception"):
            django._exception_middleware.append(instance.process_exception)
        chain = convert_exception_to_response(instance)
    django._middleware_chain = chain
    return chain


def is_api_path(path: str) -> bool:
    """The paths served by the API's stack: the API and the health check."""
    return path.startswith("/api/") or path in ("/api", "/healthz")


class ApiStack:
    """Middleware, first in MIDDLEWARE: the API and /healthz skip the panel's stack."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        # Django's request handling behind API_MIDDLEWARE; the outer handler (WSGI,
        # ASGI, the test client) still does the rest: signals, URLconf, closing.
        self.api = load_middleware(BaseHandler(), settings.API_MIDDLEWARE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path_info):
            return self.api(request)
        return self.get_response(request)


class ApiHeaders:
    """The API's security headers, computed once; the Host header checked as the panel's stack does.

    CommonMiddleware validates Host against ALLOWED_HOSTS on the panel (400 otherwise);
    here `get_host()` does. Headers the view set itself are kept.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        headers = {"X-Frame-Options": settings.X_FRAME_OPTIONS, "Cache-Control": "no-store"}
        for name, policy in (
            (HEADER, build_policy()),
            (HEADER_REPORT_ONLY, build_policy(report_only=True)),
        ):
            if policy:
                headers[name] = policy
        self.headers = tuple(headers.items())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.get_host()
        response = self.get_response(request)
        for name, value in self.headers:
            response.setdefault(name, value)
        if not response.streaming and "Content-Length" not in response:
            response["Content-Length"] = str(len(response.content))
        return response
