"""A user with user tokens cannot be deleted: not from the profile, not from the admin."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.models import Membership, User
from tests.factories import UserFactory, issue_automation_token, issue_user_token
from tokens.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("support@keyward.test", "support-password")


# --------------------------------------------------------------------------- profile


def test_profile_refuses_while_user_tokens_exist(client, account, member_factory, password):
    person = member_factory(account, "engineer")
    issue_user_token(person, name="laptop script")
    issue_user_token(person, name="backup cron")
    client.force_login(person)

    page = client.get(reverse("accounts:profile")).content.decode()
    assert "You have 2 personal tokens." in page
    assert 'role="alert"' not in page  # the guard speaks only when someone tries
    assert "Delete my account</button>" in page

    response = client.post(reverse("accounts:profile"), {"password": password})

    assert response.status_code == 409
    html = response.content.decode()
    assert "Your account was not deleted." in html
    assert "You still have 2 personal tokens" in html
    assert "“laptop script”" in html and "“backup cron”" in html
    assert person.email not in html.split("Your account was not deleted.")[1]  # "you", not them
    assert User.objects.filter(pk=person.pk).exists()
    assert Token.objects.filter(user=person).count() == 2
    assert Membership.objects.filter(user=person).exists()


def test_profile_deletes_a_user_without_tokens(client, account, member_factory, password):
    superuser = member_factory(account, "superuser")
    person = member_factory(account, "superuser")
    automation = issue_automation_token(account, creator=person).token
    client.force_login(person)

    response = client.post(reverse("accounts:profile"), {"password": password})

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:sign-in")
    assert not User.objects.filter(pk=person.pk).exists()
    automation.refresh_from_db()  # an automation token outlives its creator
    assert automation.created_by is None
    assert User.objects.filter(pk=superuser.pk).exists()
    assert client.get(reverse("accounts:profile")).status_code == 302  # signed out


def test_profile_delete_needs_the_password(client, account, member_factory):
    person = member_factory(account, "user")
    client.force_login(person)
    response = client.post(reverse("accounts:profile"), {"password": "wrong"})
    assert response.status_code == 200
    assert "That is not your password." in response.content.decode()
    assert User.objects.filter(pk=person.pk).exists()


def test_the_only_superuser_of_an_account_cannot_delete_themselves(
    client, account, member_factory, password
):
    person = member_factory(account, "superuser")
    client.force_login(person)
    response = client.post(reverse("accounts:profile"), {"password": password})
    assert response.status_code == 409
    assert "You are the only superuser of Acme Test." in response.content.decode()
    assert User.objects.filter(pk=person.pk).exists()


# --------------------------------------------------------------------------- admin


def test_admin_delete_view_refuses_with_the_tokens_listed(client, staff, account, member_factory):
    person = member_factory(account, "engineer")
    issue_user_token(person, name="deploy key")
    client.force_login(staff)
    url = reverse("admin:accounts_user_delete", args=[person.pk])

    for response in (client.get(url, follow=True), client.post(url, {"post": "yes"}, follow=True)):
        assert response.status_code == 200
        html = response.content.decode()
        assert "“deploy key”" in html
        assert "Revoke them first." in html
        assert "The user was not deleted." in html
        assert "protected related objects" not in html
    assert User.objects.filter(pk=person.pk).exists()


def test_admin_delete_view_deletes_a_user_without_tokens(client, staff, account, member_factory):
    person = member_factory(account, "engineer")
    client.force_login(staff)
    url = reverse("admin:accounts_user_delete", args=[person.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=person.pk).exists()


def test_admin_bulk_delete_refuses_and_deletes_nothing(client, staff, account, member_factory):
    with_tokens = member_factory(account, "engineer")
    issue_user_token(with_tokens, name="ci")
    without = UserFactory()
    client.force_login(staff)

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [with_tokens.pk, without.pk]},
        follow=True,
    )

    html = response.content.decode()
    assert "“ci”" in html
    assert "No user was deleted." in html
    assert User.objects.filter(pk__in=[with_tokens.pk, without.pk]).count() == 2


def test_admin_bulk_delete_works_for_users_without_tokens(client, staff):
    people = [UserFactory(), UserFactory()]
    client.force_login(staff)
    ids = [person.pk for person in people]
    url = reverse("admin:accounts_user_changelist")

    confirm = client.post(url, {"action": "delete_selected", ACTION_CHECKBOX_NAME: ids})
    assert confirm.status_code == 200
    assert "Are you sure" in confirm.content.decode()
    done = client.post(url, {"action": "delete_selected", ACTION_CHECKBOX_NAME: ids, "post": "yes"})
    assert done.status_code == 302
    assert not User.objects.filter(pk__in=ids).exists()


def test_admin_refusal_links_to_the_users_tokens(client, staff, account, member_factory):
    person = member_factory(account, "engineer")
    issue_user_token(person, name="mine")
    issue_user_token(member_factory(account, "engineer"), name="not mine")
    client.force_login(staff)
    page = client.get(reverse("admin:accounts_user_delete", args=[person.pk]), follow=True)
    assert "Show their tokens" in page.content.decode()
    tokens_url = reverse("admin:tokens_token_changelist") + f"?user__id__exact={person.pk}"
    assert tokens_url in page.content.decode()
    listing = client.get(tokens_url)
    assert [token.name for token in listing.context["cl"].result_list] == ["mine"]
