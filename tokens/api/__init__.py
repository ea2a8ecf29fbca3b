"""The HTTP API of SPEC 7: django-ninja, mounted at /api/v1/ (config/urls.py).

One Router per area: tokens (whoami, tokens, tokens/self), accounts, the
resource reads generated from one registry, and the resource writes. Every
route but POST /tokens authenticates with `Authorization: Bearer`; errors are
`{"error": CODE, "message": TEXT}` with SPEC 7's statuses and headers, all of
them in the OpenAPI document (tokens.api.openapi).
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path, register_converter
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger
from ninja.openapi.schema import OpenAPISchema

from tokens.api import accounts, errors, leaks, resources, tokens, writes  # noqa: F401 (routes)
from tokens.api.lean import READS, head_as_get, lean_view
from tokens.api.openapi import KeywardOpenAPI
from tokens.api.parser import StrictJsonParser
from tokens.api.security import BearerToken
from tokens.publishers import api as publishers
from tokens.webhooks import api as webhooks_api


class IdConverter:
    """Path ids: 1 to 18 digits (fits a 64-bit column); anything else is not a route (404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


class KeywardApi(NinjaAPI):
    """ninja's API with Keyward's OpenAPI document (tokens.api.openapi): operations named
    by their view, summed up by its docstring's first line."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return KeywardOpenAPI(self, path_prefix)

    def get_openapi_operation_id(self, operation: Any) -> str:
        """The view's name (`zones_list`, `record_create`): what a generated client calls
        the operation; ninja warns if two share one."""
        name = str(operation.view_func.__name__)
        doc = (operation.view_func.__doc__ or "").strip()
        if doc and operation.summary == name.title().replace("_", " "):  # ninja's default
            operation.summary = doc.splitlines()[0].rstrip(".")
        return name


api = KeywardApi(
    title="Keyward API",
    version="1",
    description=(
        "Issue and use API access tokens. Authenticate with `Authorization: Bearer <token>`; "
        "create a token with `POST /api/v1/tokens` and HTTP Basic email and password."
    ),
    urls_namespace="api",
    auth=BearerToken(),
    parser=StrictJsonParser(),  # a key repeated in a body is a 422, never its last value
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)
errors.install(api)
api.add_router("", tokens.router)
api.add_router("", leaks.router)  # no bearer token: leak reports (SPEC 12)
api.add_router("", publishers.router)  # trusted publishers and the OIDC exchange (SPEC 18)
resources.add_routes(accounts.router)
# The accounts router also holds the writes' routes (tokens.api.writes).
api.add_router(accounts.ACCOUNTS_PREFIX, accounts.router)
api.add_router(accounts.ACCOUNTS_PREFIX, webhooks_api.router)  # SPEC 19


def _json_view(pattern: URLPattern) -> Any:
    if pattern.name == "api-root":  # ninja's HTML landing page: /api/v1/ is a JSON 404 here
        return errors.api_not_found
    return head_as_get(errors.json_405(pattern.callback))


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """ninja's URLs, each answering a wrong method with JSON (and `Allow`) like every error,
    and HEAD as GET without the body wherever there is a GET."""
    patterns, app_name, namespace = api.urls
    wrapped = [
        URLPattern(p.pattern, _json_view(p), p.default_args, p.name)
        if isinstance(p, URLPattern)
        else p
        for p in patterns
    ]
    return wrapped, app_name, namespace


def lean_urls(prefix: str = "api/v1/") -> list[URLPattern]:
    """The reads' routes at the top of the URLconf (tokens.api.lean): GET and HEAD by the
    read itself, every other method of the same path by ninja (as `urls()` would route it).

    Listed before `urls()`, they are resolved without descending into ninja's patterns.
    """
    ninja_views: dict[str, Any] = {}
    for pattern in urls()[0]:
        if isinstance(pattern, URLPattern):
            ninja_views.setdefault(str(pattern.pattern), pattern.callback)
    missing = set(READS) - set(ninja_views)
    assert not missing, f"lean reads without a ninja route: {missing}"
    return [path(prefix + route, lean_view(route, ninja_views[route])) for route in READS]
