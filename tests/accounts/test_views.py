import pytest
from django.urls import reverse

from tests.factories import (
    AccountFactory,
    DomainFactory,
    MembershipFactory,
    ServiceFactory,
    ZoneFactory,
)
from tokens.events import Actor, event_record
from tokens.models import EventKind

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


def test_profile_lists_the_persons_recent_sign_ins_newest_first(
    client, account, member_factory, password
):
    person = member_factory(account, "billing")
    colleague = member_factory(account, "superuser")
    sign_in = reverse("accounts:sign-in")
    client.post(sign_in, {"email": colleague.email, "password": password}, REMOTE_ADDR="192.0.2.9")
    client.post(sign_in, {"email": person.email, "password": password}, REMOTE_ADDR="192.0.2.1")
    client.post(reverse("accounts:sudo"), {"password": password}, REMOTE_ADDR="192.0.2.2")

    html = client.get(reverse("accounts:profile")).content.decode()

    assert "Recent sign-ins" in html
    assert html.index("192.0.2.2") < html.index("192.0.2.1")  # sudo came last: shown first
    assert "Password confirmed" in html and "Signed in" in html
    assert "192.0.2.9" not in html  # someone else's sign-in


def test_profile_shows_a_short_list_of_sign_ins(client, account, member_factory):
    person = member_factory(account, "user")
    for number in range(15):
        event_record(
            kind=EventKind.SIGN_IN,
            actor=Actor.person(person, ip=f"198.51.100.{number}"),
            summary="signed in",
        )
    client.force_login(person)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert "198.51.100.14<" in html
    assert "198.51.100.4<" not in html  # only the latest ten


def _top_bar(body: str) -> tuple[str, bool]:
    """The account the switcher shows, and whether the wide nav links to Account tokens."""
    current = body.split('id="switcher-name">', 1)[1].split("<", 1)[0]
    wide = body.split('class="mainnav mainnav-wide"', 1)[1].split("</nav>", 1)[0]
    return current, "Account tokens" in wide


def test_the_top_bar_keeps_the_chosen_account_after_a_visit_elsewhere(
    client, account, member_factory
):
    """A superuser of one account and engineer of another looks at the other's plan (a
    link from a token's page): Personal tokens and Profile keep the first account's links."""
    user = member_factory(account, "superuser")
    other = AccountFactory(name="Zeta Side")
    MembershipFactory(user=user, account=other, role="engineer")
    client.force_login(user)
    client.get(reverse("accounts:overview", args=[account.slug]))  # chosen in the switcher

    plan = client.get(reverse("accounts:plan", args=[other.slug])).content.decode()
    assert _top_bar(plan) == ("Zeta Side", False)  # an account's page: that account's bar
    for page in ("tokens:list", "accounts:profile"):
        body = client.get(reverse(page)).content.decode()
        assert _top_bar(body) == (account.name, True), page
    assert client.get("/")["Location"] == reverse("accounts:overview", args=[account.slug])

    # Choosing the other account in the switcher (its overview) moves the bar there.
    client.get(reverse("accounts:overview", args=[other.slug]))
    for page in ("tokens:list", "accounts:profile"):
        assert _top_bar(client.get(reverse(page)).content.decode()) == ("Zeta Side", False)
    # And an account page of the first still shows the first's links.
    events = client.get(reverse("events:event-log", args=[account.slug])).content.decode()
    assert _top_bar(events) == (account.name, True)


def test_support_staff_get_the_admin_not_create_token(client, account, member_factory):
    from tests.factories import UserFactory

    support = UserFactory(email="support@example.org", is_staff=True)
    client.force_login(support)
    new_token = reverse("tokens:new")
    admin = f'href="{reverse("admin:index")}"'
    for url in (reverse("tokens:list"), reverse("accounts:profile"), "/"):
        body = client.get(url).content.decode()
        assert f'href="{new_token}"' not in body, url  # a token of theirs could act nowhere
        assert admin in body, url
    assert "You are support staff" in client.get("/").content.decode()

    member = member_factory(account)
    client.force_login(member)
    body = client.get(reverse("tokens:list")).content.decode()
    assert f'href="{new_token}"' in body and admin not in body


def test_a_person_in_no_account_is_not_offered_a_token(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(email="alone@example.org"))
    body = client.get(reverse("tokens:list")).content.decode()
    assert f'href="{reverse("tokens:new")}"' not in body
    assert "you belong to none" in body and reverse("admin:index") not in body
