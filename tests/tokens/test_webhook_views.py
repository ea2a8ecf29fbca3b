"""The webhooks pages (SPEC 19): superusers only, every change through sudo, the secret shown
once, an endpoint or delivery of another account not found, bad input answered 400."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.constants import Role
from tests.factories import AccountFactory
from tests.tokens.conftest import enter_sudo, through_sudo
from tokens.events import Actor
from tokens.models import Event
from tokens.webhooks.models import WebhookDelivery, WebhookEndpoint
from tokens.webhooks.services import webhook_create, webhook_send_test

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://8.8.8.8/hooks"  # an address literal: no DNS needed


@pytest.fixture
def boss(account, member_factory):
    return member_factory(account, Role.SUPERUSER, email="boss@example.org")


def page(account, endpoint=None) -> str:
    if endpoint is None:
        return reverse("webhooks:endpoints", args=[account.slug])
    return reverse("webhooks:endpoint", args=[account.slug, endpoint.pk])


def endpoint_of(account, by) -> WebhookEndpoint:
    return webhook_create(
        actor=Actor.person(by), account=account, url=PUBLIC_URL, event_types=["token.created"]
    ).endpoint


def test_only_superusers_see_the_pages_and_the_nav_link(client, account, member_factory, boss):
    endpoint = endpoint_of(account, boss)
    engineer = member_factory(account, Role.ENGINEER)
    client.force_login(engineer)
    for url in (page(account), page(account, endpoint)):
        answer = client.get(url)
        assert answer.status_code == 403
        assert "Only superusers manage webhooks" in answer.content.decode()
    assert client.post(page(account, endpoint), {"action": "delete"}).status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert (
        "Webhooks</a>"
        not in client.get(reverse("accounts:overview", args=[account.slug])).content.decode()
    )
    client.force_login(boss)
    assert "Webhooks</a>" in client.get(page(account)).content.decode()


def test_adding_goes_through_sudo_and_shows_the_secret_once(client, account, boss, password):
    client.force_login(boss)
    data = {"url": PUBLIC_URL, "events": ["token.created", "token.revoked"], "enabled": "on"}
    answer = client.post(page(account), data)
    assert answer.status_code == 302 and reverse("accounts:sudo") in answer["Location"]
    assert not WebhookEndpoint.objects.exists()

    shown = through_sudo(client, answer, password)
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    secret = shown.context["secret"]
    assert secret.startswith("whsec_") and secret in shown.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["token.created", "token.revoked"] and endpoint.enabled
    assert secret not in client.get(page(account, endpoint)).content.decode()  # once
    assert secret not in client.get(page(account)).content.decode()
    assert WebhookEndpoint.objects.count() == 1  # the kept form is applied once


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"url": "https://localhost/h", "events": ["token.created"]}, "url", "may not go to"),
        ({"url": "http://8.8.8.8/h", "events": ["token.created"]}, "url", "https://"),
        ({"url": PUBLIC_URL, "events": []}, "events", "at least one"),
        ({"url": PUBLIC_URL, "events": ["token.exploded"]}, "events", "valid choice"),
    ],
)
def test_bad_input_is_400_with_the_reason_and_changes_nothing(
    client, account, boss, password, data, field, message
):
    client.force_login(boss)
    enter_sudo(client, password)
    answer = client.post(page(account), data)
    assert answer.status_code == 200
    assert any(message in error for error in answer.context["form"].errors[field])
    assert not WebhookEndpoint.objects.exists()


def test_another_accounts_endpoint_and_deliveries_are_not_found(
    client, account, boss, member_factory, password
):
    elsewhere = AccountFactory(name="Elsewhere", slug="elsewhere")
    theirs = endpoint_of(elsewhere, member_factory(elsewhere, Role.SUPERUSER))
    mine = endpoint_of(account, boss)
    delivery = webhook_send_test(endpoint=theirs, actor=Actor.system("tests"))
    client.force_login(boss)
    enter_sudo(client, password)
    assert (
        client.get(reverse("webhooks:endpoint", args=[account.slug, theirs.pk])).status_code == 404
    )
    assert (
        client.get(reverse("webhooks:endpoint", args=["elsewhere", theirs.pk])).status_code == 404
    )
    answer = client.post(page(account, mine), {"action": "redeliver", "delivery": delivery.pk})
    assert answer.status_code == 404
    answer = client.post(page(account, mine), {"action": "redeliver", "delivery": "9" * 40})
    assert answer.status_code == 404
    assert WebhookDelivery.objects.count() == 1


def test_each_action_changes_what_it_says_and_is_logged(client, account, boss, password):
    endpoint = endpoint_of(account, boss)
    client.force_login(boss)
    enter_sudo(client, password)
    here = page(account, endpoint)
    assert client.post(here, {"action": "disable"}).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert client.post(here, {"action": "enable"}).status_code == 302
    saved = client.post(
        here,
        {"action": "save", "url": PUBLIC_URL + "/v2", "events": ["token.rolled"], "enabled": "on"},
    )
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == (PUBLIC_URL + "/v2", ["token.rolled"])
    rolled = client.post(here, {"action": "roll"})
    assert rolled.status_code == 200 and rolled.context["secret"].startswith("whsec_")
    assert client.post(here, {"action": "nonsense"}).status_code == 302
    assert client.post(here, {"action": "delete"}).status_code == 302
    assert not WebhookEndpoint.objects.exists()
    kinds = list(
        Event.objects.filter(kind__startswith="webhook.")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        "webhook.created",
        "webhook.updated",
        "webhook.updated",
        "webhook.updated",
        "webhook.secret_rolled",
        "webhook.deleted",
    ]
