"""Request helpers: where `next` may lead, and who the client is."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.http import client_ip, safe_next_url


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("/tokens/", "/tokens/"),
        ("/a/acme/tokens/?type=user", "/a/acme/tokens/?type=user"),
        ("http://testserver/tokens/", "http://testserver/tokens/"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("javascript:alert(1)", None),
        ("", None),
    ],
)
def test_next_must_stay_on_this_site(url, safe):
    assert safe_next_url(RequestFactory().get("/sudo/", {"next": url})) == safe


def test_next_from_an_https_page_must_be_https():
    request = RequestFactory().get("/sudo/", {"next": "http://testserver/tokens/"}, secure=True)
    assert safe_next_url(request) is None


def test_posted_next_wins_and_other_parameters_can_be_read():
    request = RequestFactory().post(
        "/sudo/?next=/from-query/&cancel=/back/", {"next": "/from-form/"}
    )
    assert safe_next_url(request) == "/from-form/"
    assert safe_next_url(request, "cancel") == "/back/"
    assert safe_next_url(request, "missing") is None


@pytest.mark.parametrize(
    ("trusted", "meta", "ip"),
    [
        (0, {"REMOTE_ADDR": "192.0.2.7"}, "192.0.2.7"),
        (0, {"REMOTE_ADDR": ""}, None),
        (0, {}, None),
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 192.0.2.7"}, "192.0.2.7"),
        (2, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 192.0.2.7"}, "1.1.1.1"),
        (2, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.7"}, "10.0.0.1"),
    ],
)
def test_client_ip_is_the_address_or_none(settings, trusted, meta, ip):
    settings.KEYWARD_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/")
    request.META.pop("REMOTE_ADDR", None)
    request.META.update(meta)
    assert client_ip(request) == ip
