"""The token policies page: superusers only, preview first, sudo before saving."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.constants import Role
from tests.factories import issue_automation_token, issue_user_token
from tests.tokens.conftest import enter_sudo, through_sudo, wizard_post
from tokens.models import Event, EventKind

pytestmark = pytest.mark.django_db


def url(account) -> str:
    return reverse("tokens:account-policies", args=[account.slug])


def form(**values):
    data = {
        "max_lifetime_days": "",
        "max_idle_days": "",
        "allowed_networks": "",
    }
    data.update(values)
    return data


@pytest.fixture
def boss(account, member_factory):
    return member_factory(account, Role.SUPERUSER, email="boss@example.org")


def test_only_superusers_see_the_page_and_the_nav_link(client, account, member_factory, boss):
    engineer = member_factory(account, Role.ENGINEER)
    client.force_login(engineer)
    response = client.get(url(account))
    assert response.status_code == 403
    assert "Only superusers set token policies" in response.content.decode()
    assert client.post(url(account), form(max_idle_days="30", step="save")).status_code == 403
    assert url(account) not in client.get(reverse("tokens:list")).content.decode()

    client.force_login(boss)
    page = client.get(url(account)).content.decode()
    for label in (
        "Maximum lifetime",
        "Maximum idle time",
        "Automation tokens need an IP allow-list",
        "Allowed networks",
    ):
        assert label in page
    assert f'href="{url(account)}"' in page


def test_the_preview_counts_the_tokens_that_would_be_blocked_and_saves_nothing(
    client, account, boss, password
):
    issue_user_token(boss, "Forever", expires_at=None)
    issue_automation_token(account, "CI")  # 90 days
    issue_automation_token(account, "Short", allowed_ips=["10.0.0.0/8"])
    client.force_login(boss)
    enter_sudo(client, password)
    response = client.post(url(account), form(max_lifetime_days="30", step="preview"))
    page = response.content.decode()
    assert "3 tokens would be blocked" in page
    assert "Forever" in page and "CI" in page
    account.refresh_from_db()
    assert account.max_lifetime_days is None

    response = client.post(
        url(account), form(automation_requires_ip_allow_list="on", step="preview")
    )
    assert "1 token would be blocked" in response.content.decode()


def test_saving_needs_a_preview_of_exactly_those_values(client, account, boss, password):
    client.force_login(boss)
    enter_sudo(client, password)
    preview = client.post(url(account), form(max_idle_days="30", step="preview"))
    fingerprint = preview.context["preview"]["fingerprint"]
    # Other values than the previewed ones: previewed again, not saved.
    response = client.post(
        url(account), form(max_idle_days="60", step="save", previewed=fingerprint)
    )
    assert response.status_code == 200 and response.context["preview"]
    account.refresh_from_db()
    assert account.max_idle_days is None

    response = client.post(
        url(account), form(max_idle_days="30", step="save", previewed=fingerprint)
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.max_idle_days == 30
    event = Event.objects.get(kind=EventKind.POLICIES_CHANGED)
    assert event.details == {
        "before": {
            "max_lifetime_days": None,
            "max_idle_days": None,
            "automation_requires_ip_allow_list": False,
            "allowed_networks": [],
            "require_2fa": False,
        },
        "after": {
            "max_lifetime_days": None,
            "max_idle_days": 30,
            "automation_requires_ip_allow_list": False,
            "allowed_networks": [],
            "require_2fa": False,
        },
    }


def test_saving_is_carried_out_once_the_password_is_confirmed(client, account, boss, password):
    client.force_login(boss)
    preview = client.post(url(account), form(allowed_networks="10.0.0.0/8", step="preview"))
    fingerprint = preview.context["preview"]["fingerprint"]
    response = client.post(
        url(account), form(allowed_networks="10.0.0.0/8", step="save", previewed=fingerprint)
    )
    assert response.status_code == 302 and reverse("accounts:sudo") in response["Location"]
    account.refresh_from_db()
    assert account.allowed_networks == []
    back = through_sudo(client, response, password)
    assert back.status_code == 302 and back["Location"] == url(account)
    account.refresh_from_db()
    assert account.allowed_networks == ["10.0.0.0/8"]
    assert "Token policies of" in client.get(url(account)).content.decode()


@pytest.mark.parametrize(
    "values",
    [
        {"max_lifetime_days": "0"},
        {"max_lifetime_days": "3651"},
        {"max_idle_days": "6"},
        {"max_idle_days": "731"},
        {"max_idle_days": "x"},
        {"allowed_networks": "not-a-network"},
    ],
)
def test_bad_values_are_a_400_with_the_field_named(client, account, boss, values):
    client.force_login(boss)
    response = client.post(url(account), form(step="preview", **values))
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()


# --------------------------------------------------------------------------- the wizard


def radio(page: str, value: str) -> str:
    start = page.index(f'name="expiration" value="{value}"')
    return page[start : page.index(">", start)]


def test_the_wizard_disables_expiries_beyond_the_maximum_lifetime(client, account, boss, password):
    from accounts.models import Account

    Account.objects.filter(pk=account.pk).update(max_lifetime_days=60)
    client.force_login(boss)
    enter_sudo(client, password)
    page = client.get(
        reverse("tokens:new"), {"token_type": "automation", "account": account.pk}
    ).content.decode()
    # A plain GET shows a user token: the wizard lists the account's policy instead.
    assert "Policies of your accounts" in page and "Maximum lifetime" in page
    assert "disabled" not in radio(page, "never")

    fragment = client.get(
        reverse("tokens:new-permissions"),
        {"token_type": "automation", "account": account.pk},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'hx-swap-oob="true"' in fragment
    assert "disabled" in radio(fragment, "never") and "disabled" in radio(fragment, "90")
    assert "disabled" not in radio(fragment, "60") and "checked" in radio(fragment, "60")
    assert "maximum lifetime of 60 days" in fragment


def test_the_wizard_refuses_an_automation_token_breaking_a_policy(client, account, boss, password):
    from accounts.models import Account

    Account.objects.filter(pk=account.pk).update(automation_requires_ip_allow_list=True)
    client.force_login(boss)
    enter_sudo(client, password)
    data = wizard_post(
        token_type="automation", account=account.pk, role="engineer", scopes=["global"]
    )
    response = client.post(reverse("tokens:new"), data)
    assert response.status_code == 200
    assert "Automation tokens need an IP allow-list" in response.content.decode()
    response = client.post(reverse("tokens:new"), {**data, "allowed_ips": "192.0.2.0/24"})
    assert response.status_code == 302


def test_a_user_token_is_created_and_the_reveal_names_where_it_is_blocked(
    client, account, boss, password
):
    from accounts.models import Account

    Account.objects.filter(pk=account.pk).update(max_lifetime_days=30)
    client.force_login(boss)
    enter_sudo(client, password)
    response = client.post(
        reverse("tokens:new"), wizard_post(expiration="never", scopes=["global"])
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Blocked by policy" in page and "Maximum lifetime" in page


# --------------------------------------------------------------------------- lists


def _count_queries(client, path) -> tuple[int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries.captured_queries), response.content.decode()


def test_lists_show_blocked_by_policy_per_account_without_a_query_per_row(client, account, boss):
    from accounts.models import Account
    from tests.factories import AccountFactory, MembershipFactory

    strict = AccountFactory(name="Strict Co")
    MembershipFactory(user=boss, account=strict, role="engineer")
    Account.objects.filter(pk=strict.pk).update(max_lifetime_days=30)
    Account.objects.filter(pk=account.pk).update(automation_requires_ip_allow_list=True)
    issue_user_token(boss, "Forever", expires_at=None)
    issue_automation_token(account, "CI")
    client.force_login(boss)

    personal = reverse("tokens:list")
    accounts_page = reverse("tokens:account-list", args=[account.slug])
    client.get(accounts_page)  # the first visit also stores the current account in the session
    few, page = _count_queries(client, personal)
    assert "Blocked by policy" in page and "Maximum lifetime in Strict Co" in page
    few_account, page = _count_queries(client, accounts_page)
    assert "Automation tokens need an IP allow-list in Acme Test" in page
    assert "Maximum lifetime" not in page  # judged in this account only

    for n in range(5):
        issue_user_token(boss, f"Forever {n}", expires_at=None)
        issue_automation_token(account, f"CI {n}")
    assert _count_queries(client, personal)[0] == few
    assert _count_queries(client, accounts_page)[0] == few_account


def test_the_edit_page_shows_where_the_token_is_blocked(client, account, boss):
    from accounts.models import Account

    token = issue_user_token(boss, "Forever", expires_at=None).token
    Account.objects.filter(pk=account.pk).update(max_lifetime_days=30)
    client.force_login(boss)
    page = client.get(reverse("tokens:edit", args=[token.pk])).content.decode()
    assert "Blocked by policy" in page and "Maximum lifetime in Acme Test" in page


def test_the_event_log_shows_a_policy_change(client, account, boss):
    from tokens.events import Actor
    from tokens.policies.rules import Policy
    from tokens.policies.services import account_policies_update

    account_policies_update(
        actor=Actor.person(boss), account=account, policy=Policy(max_lifetime_days=90)
    )
    client.force_login(boss)
    page = client.get(reverse("events:event-log", args=[account.slug])).content.decode()
    assert "Changed the token policies of Acme Test" in page  # who: in its own column
    assert "Maximum lifetime (days)" in page  # the before/after table


def test_a_long_preview_shows_fifty_tokens_and_counts_the_rest(client, account, boss):
    for n in range(53):
        issue_automation_token(account, f"bot {n:02}", expires_at=None)
    client.force_login(boss)
    page = client.post(url(account), form(max_lifetime_days="30", step="preview")).content
    page = page.decode()
    assert "53 tokens would be blocked" in page and "… and 3 more" in page
