"""GET /favicon.ico: browsers ask for it on their own (the admin, the API docs, raw files)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET


@require_GET
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """A redirect to the SVG favicon under /static/ (temporary: its hashed name changes)."""
    response = HttpResponseRedirect(static("img/favicon.svg"))
    patch_cache_control(response, public=True, max_age=60 * 60 * 24)
    return response
