import pytest
from django.urls import reverse

from tests.factories import (
    AccountFactory,
    DomainFactory,
    MembershipFactory,
    ServiceFactory,
    ZoneFactory,
)

pytestmark = pytest.mark.django_db


def test_pages_need_a_signed_in_user(client, account):
    response = client.get(reverse("accounts:overview", args=[account.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=")


def test_htmx_request_without_session_gets_a_client_redirect(client, account):
    response = client.get(
        reverse("accounts:overview", args=[account.slug]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/sign-in/?next=")


def test_overview_shows_the_accounts_resources(client, account, member_factory):
    user = member_factory(account, "engineer")
    ZoneFactory(account=account, name="mine.example")
    ServiceFactory(account=account, name="My CDN")
    ZoneFactory(name="theirs.example")
    client.force_login(user)
    response = client.get(reverse("accounts:overview", args=[account.slug]))
    assert response.status_code == 200
    assert b"mine.example" in response.content
    assert b"My CDN" in response.content
    assert b"theirs.example" not in response.content


def test_another_accounts_slug_is_not_found(client, account, member_factory):
    user = member_factory(account)
    other = AccountFactory()
    ZoneFactory(account=other, name="secret.example")
    client.force_login(user)
    response = client.get(reverse("accounts:overview", args=[other.slug]))
    assert response.status_code == 404
    assert b"secret.example" not in response.content


def test_switcher_lists_only_the_users_accounts(client, account, member_factory):
    user = member_factory(account)
    second = AccountFactory(name="Second Account")
    MembershipFactory(user=user, account=second, role="user")
    AccountFactory(name="Stranger Account")
    client.force_login(user)
    body = client.get(reverse("accounts:overview", args=[account.slug])).content.decode()
    assert "Second Account" in body
    assert "Stranger Account" not in body


def test_billing_role_sees_domains_but_not_zones(client, account, member_factory):
    user = member_factory(account, "billing")
    ZoneFactory(account=account, name="zone-hidden.example")
    DomainFactory(account=account, name="registered.example")
    client.force_login(user)
    body = client.get(reverse("accounts:overview", args=[account.slug])).content.decode()
    assert "registered.example" in body
    assert "zone-hidden.example" not in body


def test_home_remembers_the_last_account(client, account, member_factory):
    user = member_factory(account)
    second = AccountFactory(name="Zeta")
    MembershipFactory(user=user, account=second)
    client.force_login(user)
    client.get(reverse("accounts:overview", args=[second.slug]))
    assert client.get("/")["Location"] == reverse("accounts:overview", args=[second.slug])


def test_user_without_account_gets_an_explanation(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 200
    assert b"not a member of any account" in response.content


def test_security_headers_on_pages(client):
    response = client.get("/sign-in/")
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
