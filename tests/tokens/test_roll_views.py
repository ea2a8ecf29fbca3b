"""Roll secret in the panel (SPEC 11): sudo first, a grace period, the one-time reveal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import issue_automation_token, issue_user_token
from tests.tokens.conftest import enter_sudo
from tokens.models import Token

pytestmark = pytest.mark.django_db


def works(client, secret) -> bool:
    answer = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}")
    return answer.status_code == 200


def test_rolling_asks_for_sudo_first(client, owner):
    created = issue_user_token(owner)
    client.force_login(owner)
    response = client.get(reverse("tokens:roll", args=[created.token.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sudo"))
    response = client.post(reverse("tokens:roll", args=[created.token.pk]), {"grace_period": "0"})
    assert response["Location"].startswith(reverse("accounts:sudo"))
    assert Token.objects.get().digest == created.token.digest


def test_roll_with_a_grace_then_reveal_once_and_the_row_says_so(client, owner, password):
    created = issue_user_token(owner, name="Deploys")
    client.force_login(owner)
    enter_sudo(client, password)
    page = client.get(reverse("tokens:roll", args=[created.token.pk]))
    body = page.content.decode()
    for label in ("Immediately", "1 hour", "24 hours", "7 days"):
        assert label in body
    response = client.post(
        reverse("tokens:roll", args=[created.token.pk]), {"grace_period": "3600"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("tokens:rolled", args=[created.token.pk])
    reveal = client.get(response["Location"])
    assert reveal["Cache-Control"].startswith("no-store")
    secret = reveal.context["secret"]
    assert secret and secret != created.secret and secret in reveal.content.decode()
    assert "New secret for “Deploys”" in reveal.content.decode()
    assert client.get(response["Location"]).context["secret"] is None  # once
    assert works(client, secret) and works(client, created.secret)

    listing = client.get(reverse("tokens:list")).content.decode()
    assert "Previous secret works until" in listing
    assert f"kwu_…{secret[-4:]}" in listing


def test_immediately_kills_the_old_secret(client, owner, password):
    created = issue_user_token(owner)
    client.force_login(owner)
    enter_sudo(client, password)
    client.post(reverse("tokens:roll", args=[created.token.pk]), {"grace_period": "0"})
    assert not works(client, created.secret)
    assert "Previous secret works" not in client.get(reverse("tokens:list")).content.decode()


def test_a_grace_period_not_offered_is_refused(client, owner, password):
    created = issue_user_token(owner)
    client.force_login(owner)
    enter_sudo(client, password)
    response = client.post(
        reverse("tokens:roll", args=[created.token.pk]), {"grace_period": "999999"}
    )
    assert response.status_code == 200
    assert Token.objects.get().digest == created.token.digest


def test_a_superuser_rolls_an_automation_token_from_the_account_list(
    client, account, owner, password
):
    created = issue_automation_token(account, creator=owner, name="Terraform")
    client.force_login(owner)
    listing = client.get(reverse("tokens:account-list", args=[account.slug])).content.decode()
    assert "Roll secret of Terraform" in listing
    enter_sudo(client, password)
    response = client.post(
        reverse("tokens:roll", args=[created.token.pk]), {"grace_period": "86400"}
    )
    assert response["Location"] == reverse("tokens:rolled", args=[created.token.pk])
    assert client.get(response["Location"]).context["secret"].startswith("kwa_")


def test_nobody_else_may_roll(client, account, owner, member_factory, password):
    engineer = member_factory(account, "engineer", password=password)
    members_token = issue_user_token(engineer, name="Mine")
    automation = issue_automation_token(account, creator=owner)
    # a superuser never rolls a member's user token; the row offers no Roll secret
    client.force_login(owner)
    enter_sudo(client, password)
    listing = client.get(reverse("tokens:account-list", args=[account.slug])).content.decode()
    assert "Roll secret of Mine" not in listing
    response = client.post(
        reverse("tokens:roll", args=[members_token.token.pk]), {"grace_period": "0"}
    )
    assert response.status_code == 404
    # an engineer never rolls the account's automation token
    client.force_login(engineer)
    enter_sudo(client, password)
    response = client.post(
        reverse("tokens:roll", args=[automation.token.pk]), {"grace_period": "0"}
    )
    assert response.status_code == 404
    assert works(client, members_token.secret) and works(client, automation.secret)


def test_the_token_page_offers_roll_secret_to_who_may_roll(client, account, member_factory):
    from django.urls import reverse

    from tests.factories import issue_user_token

    owner = member_factory(account, "engineer")
    created = issue_user_token(owner, name="deploys")
    client.force_login(owner)
    page = client.get(reverse("tokens:detail", args=[created.token.pk])).content.decode()
    assert reverse("tokens:roll", args=[created.token.pk]) in page
    assert "Roll secret" in page
