"""Edit may bring a token's expiry earlier, never later: a token blocked by a maximum
lifetime can be brought within it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import issue_automation_token, issue_user_token
from tests.tokens.conftest import set_policy, wizard_post
from tokens.models import Event, EventKind
from tokens.policies.selectors import token_blocked_in

pytestmark = pytest.mark.django_db


def _day(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def test_shortening_the_expiry_needs_no_password_and_is_logged(client, engineer):
    token = issue_user_token(
        engineer, "CI", scopes=["zones:read"], expires_at=timezone.now() + timedelta(days=90)
    ).token
    client.force_login(engineer)
    url = reverse("tokens:edit", args=[token.pk])
    response = client.post(url, wizard_post(name="CI", expires_on=_day(10)))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.expires_at.date() == timezone.localdate() + timedelta(days=10)
    event = Event.objects.get(kind=EventKind.TOKEN_UPDATED)
    assert event.details["after"]["expires_at"].startswith(_day(10))
    assert event.details["before"]["expires_at"] > event.details["after"]["expires_at"]


def test_lengthening_the_expiry_is_refused_and_changes_nothing(client, engineer):
    expires_at = timezone.now() + timedelta(days=30)
    token = issue_user_token(engineer, "CI", scopes=["zones:read"], expires_at=expires_at).token
    client.force_login(engineer)
    url = reverse("tokens:edit", args=[token.pk])
    response = client.post(url, wizard_post(name="Renamed", expires_on=_day(60)))
    assert response.status_code == 200
    body = response.content.decode()
    assert "An edit can only bring the expiry earlier" in body
    assert "create a replacement" in body
    token.refresh_from_db()
    assert token.expires_at == expires_at and token.name == "CI"
    assert not Event.objects.filter(kind=EventKind.TOKEN_UPDATED).exists()


def test_a_date_in_the_past_is_refused(client, engineer):
    token = issue_user_token(engineer, "CI", scopes=["zones:read"]).token
    client.force_login(engineer)
    url = reverse("tokens:edit", args=[token.pk])
    response = client.post(url, wizard_post(name="CI", expires_on=_day(-1)))
    assert response.status_code == 200
    assert "Choose a date in the future." in response.content.decode()


def test_a_never_expiring_token_may_get_an_expiry(client, engineer):
    token = issue_user_token(engineer, "CI", scopes=["zones:read"], expires_at=None).token
    client.force_login(engineer)
    response = client.post(
        reverse("tokens:edit", args=[token.pk]), wizard_post(name="CI", expires_on=_day(5))
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.expires_at is not None


def test_a_token_blocked_by_a_maximum_lifetime_is_brought_within_it(client, account, owner):
    bot = issue_automation_token(
        account, "Deploys", creator=owner, expires_at=timezone.now() + timedelta(days=90)
    ).token
    set_policy(account, max_lifetime_days=30)
    bot.account.refresh_from_db()
    assert [item.policy for item in token_blocked_in(bot)] == ["max_lifetime"]
    client.force_login(owner)
    url = reverse("tokens:edit", args=[bot.pk])
    page = client.get(url).content.decode()
    assert "Blocked by policy" in page
    assert "Bring the expiry forward to" in page
    latest = bot.created_at + timedelta(days=30)
    assert "maximum lifetime that ends" in page and latest.date().isoformat() in page

    # Shorter but still beyond the policy: saved (it narrows), and still blocked.
    not_enough = client.post(url, wizard_post(name="Deploys", expires_on=_day(45)))
    assert not_enough.status_code == 302
    bot.refresh_from_db()
    bot.account.refresh_from_db()
    assert [item.policy for item in token_blocked_in(bot)] == ["max_lifetime"]
    response = client.post(url, wizard_post(name="Deploys", expires_on=_day(20)))
    assert response.status_code == 302
    bot.refresh_from_db()
    bot.account.refresh_from_db()
    assert token_blocked_in(bot) == []


def test_a_form_with_errors_answers_200_and_422_under_htmx(client, engineer):
    token = issue_user_token(engineer, "CI", scopes=["zones:read"]).token
    client.force_login(engineer)
    url = reverse("tokens:edit", args=[token.pk])
    bad = wizard_post(name="CI", expires_on=_day(-1))
    assert client.post(url, bad).status_code == 200
    assert client.post(url, bad, HTTP_HX_REQUEST="true").status_code == 422
