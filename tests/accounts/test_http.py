"""Request helpers: where `next` may lead, and who the client is."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.http import client_ip, safe_next_url
from tests.factories import issue_user_token
from tokens.models import Event, Token


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
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": " 2001:DB8::7 "}, "2001:db8::7"),
        # Not an address where the trusted proxy's entry should be: the socket's address.
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "not-an-ip"}, "10.0.0.1"),
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "999.1.1.1"}, "10.0.0.1"),
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4%eth0"}, "10.0.0.1"),
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "fe80::1%eth0"}, "10.0.0.1"),
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4:8080"}, "10.0.0.1"),
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.7, "}, "10.0.0.1"),
        (2, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": ",,192.0.2.7"}, "10.0.0.1"),
        (1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": ""}, "10.0.0.1"),
    ],
)
def test_client_ip_is_the_address_or_none(settings, trusted, meta, ip):
    settings.KEYWARD_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/")
    request.META.pop("REMOTE_ADDR", None)
    request.META.update(meta)
    assert client_ip(request) == ip


BAD_FORWARDED = ["not-an-ip", "999.1.1.1", "1.2.3.4%eth0", "192.0.2.7,,", " , "]


@pytest.mark.django_db
@pytest.mark.parametrize("forwarded", BAD_FORWARDED)
def test_sign_in_with_a_bad_forwarded_address_signs_in_from_the_socket(
    client, settings, member_factory, account, password, forwarded
):
    settings.KEYWARD_TRUSTED_PROXIES = 1
    user = member_factory(account, "engineer")
    answer = client.post(
        "/sign-in/",
        {"email": user.email, "password": password},
        REMOTE_ADDR="10.0.0.9",
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert answer.status_code == 302
    assert Event.objects.get(kind="auth.sign_in").ip == "10.0.0.9"


@pytest.mark.django_db
@pytest.mark.parametrize("forwarded", BAD_FORWARDED)
def test_a_bearer_call_with_a_bad_forwarded_address_records_the_socket(
    client, settings, member_factory, account, forwarded
):
    settings.KEYWARD_TRUSTED_PROXIES = 1
    created = issue_user_token(member_factory(account, "engineer"))
    answer = client.get(
        "/api/v1/whoami",
        HTTP_AUTHORIZATION=f"Bearer {created.secret}",
        REMOTE_ADDR="10.0.0.9",
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert answer.status_code == 200
    assert Token.objects.get(pk=created.token.pk).last_used_ip == "10.0.0.9"
