"""The HTTP API of SPEC 7: django-ninja, mounted at /api/v1/ (config/urls.py).

One Router per area: tokens (whoami, tokens, tokens/self), accounts, the
resource reads generated from one registry, and the resource writes. Every
route but POST /tokens authenticates with `Authorization: Bearer`; errors are
`{"error": CODE, "message": TEXT}` with SPEC 7's statuses and headers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, URLResolver, register_converter
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from tokens.api import accounts, errors, leaks, resources, tokens, writes  # noqa: F401 (routes)
from tokens.api.lean import READS, lean_view
from tokens.api.security import BearerToken


class IdConverter:
    """Path ids: 1 to 18 digits (fits a 64-bit column); anything else is not a route (404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


class DocstringSummaries(NinjaAPI):
    """Docs summaries from each operation's first docstring line, not its function name."""

    def get_openapi_operation_id(self, operation: Any) -> str:
        if not operation.summary:
            doc = (operation.view_func.__doc__ or "").strip()
            if doc:
                operation.summary = doc.splitlines()[0].rstrip(".")
        return super().get_openapi_operation_id(operation)


api = DocstringSummaries(
    title="Keyward API",
    version="1",
    description=(
        "Issue and use API access tokens. Authenticate with `Authorization: Bearer <token>`; "
        "create a token with `POST /api/v1/tokens` and HTTP Basic email and password."
    ),
    urls_namespace="api",
    auth=BearerToken(),
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)
errors.install(api)
api.add_router("", tokens.router)
api.add_router("", leaks.router)  # no bearer token: leak reports (SPEC 12)
resources.add_routes(accounts.router)
# The accounts router also holds the writes' routes (tokens.api.writes).
api.add_router(accounts.ACCOUNTS_PREFIX, accounts.router)


def _json_view(pattern: URLPattern) -> Any:
    if pattern.name == "api-root":  # ninja's HTML landing page: /api/v1/ is a JSON 404 here
        return errors.api_not_found
    view = errors.json_405(pattern.callback)
    route = str(pattern.pattern)
    return lean_view(route, view) if route in READS else view


def _resolution_order(patterns: list[URLPattern | URLResolver]) -> Callable[[Any], int]:
    """Django tries patterns in order: the reads (most of an integration's calls) first,
    then the other routes, then ninja's repeats of a route (one per operation, kept only
    for reverse()). No two routes match the same path, so this changes nothing else."""
    first_of_route: dict[str, URLPattern | URLResolver] = {}
    for p in patterns:
        first_of_route.setdefault(str(p.pattern), p)

    def rank(p: URLPattern | URLResolver) -> int:
        if first_of_route[str(p.pattern)] is not p:
            return 2
        return 0 if str(p.pattern) in READS else 1

    return rank


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """ninja's URLs, each answering a wrong method with JSON (and `Allow`) like every error,
    and the reads' GETs on the lean path (tokens.api.lean)."""
    patterns, app_name, namespace = api.urls
    routes = {str(p.pattern) for p in patterns if isinstance(p, URLPattern)}
    assert set(READS) <= routes, f"lean reads without a ninja route: {set(READS) - routes}"
    wrapped = [
        URLPattern(p.pattern, _json_view(p), p.default_args, p.name)
        if isinstance(p, URLPattern)
        else p
        for p in patterns
    ]
    wrapped.sort(key=_resolution_order(wrapped))
    return wrapped, app_name, namespace
