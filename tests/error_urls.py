"""The site's URLs plus views that fail on purpose, to see the branded error pages."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def raise_bug(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug, on purpose")


def raise_forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def raise_bad_request(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("a malformed request, on purpose")


urlpatterns = [
    path("__fail/500/", raise_bug),
    path("__fail/403/", raise_forbidden),
    path("__fail/400/", raise_bad_request),
    *site_urlpatterns,
]
