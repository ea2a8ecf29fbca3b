"""Input no page can use, refused before any view runs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    if request.method == "POST":
        # Form bodies only: request.POST is empty for JSON, whose API handles its own input.
        parameters = [*request.GET.lists(), *request.POST.lists()]
    else:
        parameters = list(request.GET.lists())
    return any(
        "\x00" in name or any("\x00" in value for value in values) for name, values in parameters
    )


class RefuseNulCharacters:
    """A NUL character in the path, the query string or a form body is a 400.

    PostgreSQL cannot store or compare a text containing NUL: such a value would
    crash whichever query it reached (a search box, a filter, an account slug, the
    admin's lookups) into a 500. Refusing it here, once, covers every page of the
    panel and the admin, present and future. The API (under /api/) answers its
    own errors, as JSON.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/") and _has_nul(request):
            return HttpResponseBadRequest(
                "Bad request: a NUL character (%00) is not allowed in an address or a form.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
