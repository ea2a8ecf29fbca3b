"""The lean read path: the GET (and HEAD) of every read route answered without ninja's dispatch.

SPEC 10 allows a single resource 1.5x and a page of 30 2x the cost of /healthz.
ninja's per-request machinery (building and validating a parameter model,
running its auth classes, its exception routing) cost about 0.3x of /healthz
on its own (measured with bench/run.py), which left too little for the two
queries. So each read declares its GET here once (`lean_get`), and
`lean_urls()` (tokens/api/__init__.py) puts those routes at the top of the
URLconf; every other method of the same path still goes to ninja, which also
keeps documenting the read in OpenAPI.

Nothing differs for a client: the same authentication (tokens.auth.bearer, one query),
the same query-parameter rules and messages (the same pydantic constraints),
the same error answers (tokens.api.errors.HANDLERS) and the same JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import BaseModel, create_model
from pydantic import ValidationError as PydanticValidationError

from tokens.api.errors import handle_exception
from tokens.api.responses import DEFAULT_PER_PAGE, PAGE, PER_PAGE
from tokens.auth.bearer import authenticate

View = Callable[..., HttpResponse]

_Paging: type[BaseModel] = create_model("Paging", page=(int, PAGE), per_page=(int, PER_PAGE))

# Django route (below /api/v1/) -> (the ninja operation answering its GET, paged?).
READS: dict[str, tuple[View, bool]] = {}


def paging(request: HttpRequest) -> tuple[int, int]:
    """`page` and `per_page` from the query string, checked as ninja checks them (422)."""
    if "page" not in request.GET and "per_page" not in request.GET:
        return 1, DEFAULT_PER_PAGE
    values = {name: request.GET[name] for name in ("page", "per_page") if name in request.GET}
    try:
        checked = _Paging.model_validate(values)
    except PydanticValidationError as invalid:
        raise NinjaValidationError(
            [{**error, "loc": ("query", *error["loc"])} for error in invalid.errors()]
        ) from None
    return checked.page, checked.per_page  # type: ignore[attr-defined]


def django_route(path: str) -> str:
    """ninja's `/accounts/{id:account_id}/zones` as Django's `accounts/<id:account_id>/zones`."""
    return path.lstrip("/").replace("{", "<").replace("}", ">")


def lean_get(path: str, *, paged: bool = False) -> Callable[[View], View]:
    """Answer GET `path` (below /api/v1/) with this ninja operation, called directly.

    The operation takes the request and its path ids (and `page`, `per_page`
    when `paged`) and reads the token from `request.auth`, as under ninja.
    """

    def register(operation: View) -> View:
        READS[django_route(path)] = (operation, paged)
        return operation

    return register


def lean_view(route: str, other_methods: View) -> View:
    """The URL view of `route`: GET and HEAD by its lean operation, any other method by ninja."""
    operation, paged = READS[route]

    def view(request: HttpRequest, **ids: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return other_methods(request, **ids)
        try:
            request.auth = authenticate(request, ids.get("account_id"))  # type: ignore[attr-defined]
            if paged:
                ids["page"], ids["per_page"] = paging(request)
            response = operation(request, **ids)
        except Exception as exc:  # every error answers as under ninja (errors.HANDLERS)
            response = handle_exception(request, exc)
        return without_body(response) if request.method == "HEAD" else response

    view.csrf_exempt = True  # type: ignore[attr-defined]  # bearer only: no cookies
    return view


def without_body(response: HttpResponse) -> HttpResponse:
    """HEAD's answer: the GET's status and headers, its Content-Length included, no body.

    As Django answers HEAD (its View serves `head` with `get`; its servers drop
    the body and keep the length), but without relying on the server for the body.
    """
    response["Content-Length"] = str(len(response.content))
    response.content = b""
    return response


def head_as_get(view: View) -> View:
    """A ninja URL view that answers HEAD as its GET, without the body (ninja routes HEAD
    nowhere: it would be 405). A path without GET still answers HEAD 405."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "HEAD":
            return view(request, *args, **kwargs)
        request.method = "GET"
        try:
            response = view(request, *args, **kwargs)
        finally:
            request.method = "HEAD"
        if response.status_code == 405:  # no GET here: HEAD is not allowed either
            return response
        return without_body(response)

    wrapped.csrf_exempt = True  # type: ignore[attr-defined]  # bearer only: no cookies
    return wrapped
