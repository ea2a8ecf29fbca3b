"""Webhooks (SPEC 19) through the services, delivered to a real receiver on 127.0.0.1 that
verifies each Standard Webhooks signature. Queued tasks run inline once the write commits
(tests/conftest.py); tests/tokens/test_webhook_worker.py runs a real worker."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Membership
from accounts.services.members import membership_change_role
from tests.factories import issue_automation_token, issue_user_token
from tokens.events import Actor
from tokens.leaks.services import Finding, credentials_revoke
from tokens.models import Event, Token
from tokens.policies.rules import Policy
from tokens.policies.services import account_policies_update
from tokens.services.expiry import expiry_notices_send
from tokens.services.revoke import token_revoke
from tokens.services.roll import token_roll
from tokens.webhooks.constants import ATTEMPTS, retry_wait
from tokens.webhooks.delivery import delivery_attempt
from tokens.webhooks.models import WebhookDelivery, WebhookEndpoint
from tokens.webhooks.services import (
    webhook_delete,
    webhook_redeliver,
    webhook_roll_secret,
    webhook_send_test,
    webhook_update,
)
from tokens.webhooks.tasks import webhook_retry_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(account, member_factory):
    return member_factory(account, "superuser", email="owner@example.com")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A block whose writes 'commit': their queued tasks (deliveries, emails) run at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _due_now(delivery: WebhookDelivery) -> None:
    """Time passes: the delivery's next attempt is due."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_created_token_reaches_the_receiver_signed_and_verified(
    account, owner, webhook_to, webhook_receiver, committed
):
    endpoint = webhook_to(account, owner)
    with committed():
        created = issue_automation_token(account, name="Deploy bot", creator=owner)

    [delivered] = webhook_receiver.wait_for_deliveries(1)
    assert delivered.verified, delivered.error
    assert delivered.headers["webhook-id"].startswith("msg_")
    assert delivered.headers["webhook-signature"].startswith("v1,")
    payload = delivered.payload
    assert set(payload) == {"type", "timestamp", "data"}
    assert payload["type"] == "token.created"
    assert payload["data"]["token"]["name"] == "Deploy bot"
    assert payload["data"]["token"]["id"] == created.token.pk
    assert payload["data"]["account"]["slug"] == account.slug
    assert created.secret not in delivered.body.decode()

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("succeeded", 1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    [attempt] = delivery.tries.all()
    assert (attempt.status_code, attempt.response_excerpt) == (200, "ok")
    assert attempt.duration_ms >= 0


def test_a_500_then_200_is_retried_once_and_both_attempts_are_logged(
    account, owner, webhook_to, webhook_receiver, committed
):
    endpoint = webhook_to(account, owner, events=["token.created"])
    webhook_receiver.script(500, 200)
    with committed():
        issue_automation_token(account, creator=owner)

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("pending", 1, 500)
    wait = delivery.next_attempt_at - delivery.tries.get().at
    assert wait == retry_wait(1) == timedelta(minutes=1)
    assert webhook_retry_task.call_local() == 0  # not due yet: nothing queued

    _due_now(delivery)
    assert webhook_retry_task.call_local() == 1  # the retry job queues it; the attempt runs
    first, second = webhook_receiver.wait_for_deliveries(2)
    assert first.verified and second.verified
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # the same message
    assert first.body == second.body
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("succeeded", 2, 200)
    assert [(a.number, a.status_code) for a in delivery.tries.all()] == [(1, 500), (2, 200)]


def test_eight_attempts_over_about_a_day_then_it_fails(
    account, owner, webhook_to, webhook_receiver, committed
):
    endpoint = webhook_to(account, owner, events=["token.created"])
    webhook_receiver.script(*[503] * ATTEMPTS)
    with committed():
        issue_automation_token(account, creator=owner)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    waits = []
    for _ in range(ATTEMPTS - 1):
        delivery.refresh_from_db()
        waits.append(delivery.next_attempt_at - delivery.tries.last().at)
        _due_now(delivery)
        assert delivery_attempt(delivery_id=delivery.pk) is not None
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert delivery_attempt(delivery_id=delivery.pk) is None  # no ninth
    assert waits == [retry_wait(n) for n in range(1, ATTEMPTS)]
    assert timedelta(hours=18) < sum(waits, timedelta()) < timedelta(hours=30)
    assert [m for m in (1, 4, 16, 64)] == [w.total_seconds() / 60 for w in waits[:4]]


def test_an_endpoint_failing_for_three_days_is_switched_off_and_superusers_emailed(
    account, owner, member_factory, webhook_to, webhook_receiver, committed
):
    second = member_factory(account, "superuser", email="second@example.com")
    engineer = member_factory(account, "engineer", email="engineer@example.com")
    endpoint = webhook_to(account, owner, events=["token.created", "token.revoked"])
    webhook_receiver.script(500, 500)
    with committed():
        token = issue_automation_token(account, creator=owner).token
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=3, minutes=1)
    )
    with committed():
        token_revoke(actor=Actor.person(owner), token=token, revoked_by="superuser")

    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "failing"
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, second.email])
    assert engineer.email not in [m.to[0] for m in mail.outbox]
    assert "switched off" in mail.outbox[0].subject
    assert endpoint.url in mail.outbox[0].body
    event = Event.objects.get(kind="webhook.disabled")
    assert event.account == account and event.details["endpoint_id"] == endpoint.pk
    # what still waited for a retry is cancelled; nothing more is sent
    assert not WebhookDelivery.objects.filter(endpoint=endpoint, state="pending").exists()
    with committed():
        issue_automation_token(account, creator=owner)
    assert len(webhook_receiver.deliveries) == 2


def test_a_success_clears_the_failing_clock(account, owner, webhook_to, committed):
    endpoint = webhook_to(account, owner, events=["token.created"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=2)
    )
    with committed():
        issue_automation_token(account, creator=owner)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.enabled


def test_only_enabled_endpoints_that_want_the_type_get_it(
    account, owner, settings, webhook_to, webhook_receiver, committed
):
    wants = webhook_to(account, owner, events=["token.created"])
    other = webhook_to(account, owner, events=["token.revoked"], path="/other")
    off = webhook_to(account, owner, events=["token.created"], path="/off")
    webhook_update(actor=Actor.person(owner), endpoint=off, enabled=False)
    webhook_receiver.secret = None  # not verifying here: counting who got what
    with committed():
        issue_automation_token(account, creator=owner)
    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [wants.pk]
    assert not WebhookDelivery.objects.filter(endpoint__in=[other, off]).exists()


def test_a_persons_own_token_events_go_to_no_account_but_a_superusers_revocation_does(
    account, owner, member_factory, webhook_to, webhook_receiver, committed
):
    """As in the event log: a user token's own events are its owner's, not the account's."""
    webhook_to(account, owner)
    engineer = member_factory(account, "engineer")
    with committed():
        mine = issue_user_token(engineer, name="Laptop").token
    assert not WebhookDelivery.objects.exists()
    with committed():
        token_revoke(actor=Actor.person(owner), token=mine, revoked_by="superuser", account=account)
    [delivered] = webhook_receiver.wait_for_deliveries(1)
    assert delivered.verified
    assert delivered.payload["type"] == "token.revoked"
    assert delivered.payload["data"]["revoked_by"] == "superuser"


def test_every_event_type_in_the_account_is_delivered(
    account, owner, member_factory, webhook_to, webhook_receiver, committed
):
    webhook_to(account, owner)
    engineer = member_factory(account, "engineer")
    with committed():
        created = issue_automation_token(account, name="CI", creator=owner, expires_at=None)
        token = created.token
        token_roll(actor=Actor.person(owner), token=token, grace_period=timedelta(0))
        membership = Membership.objects.get(user=engineer, account=account)
        membership_change_role(actor=Actor.person(owner), membership=membership, role="user")
        account_policies_update(
            actor=Actor.person(owner), account=account, policy=Policy(max_lifetime_days=30)
        )
    types = [d.payload["type"] for d in webhook_receiver.wait_for_deliveries(5)]
    assert types == [
        "token.created",
        "token.rolled",
        "member.role_changed",
        "policy.changed",
        "token.blocked",
    ]
    deliveries = webhook_receiver.deliveries
    assert all(d.verified for d in deliveries)
    blocked = deliveries[-1].payload["data"]
    assert blocked["token"]["id"] == token.pk and blocked["policy"] == "max_lifetime"
    role = deliveries[2].payload["data"]["details"]
    assert role["before"] == {"role": "engineer"} and role["after"] == {"role": "user"}
    for delivery in deliveries:
        assert created.secret not in delivery.body.decode()


def test_a_leak_revocation_says_who_revoked_and_where_it_was_found(
    account, owner, webhook_to, webhook_receiver, committed
):
    webhook_to(account, owner, events=["token.revoked"])
    leaked = issue_automation_token(account, creator=owner)
    with committed():
        credentials_revoke(
            credentials=[leaked.secret],
            findings=[Finding(url="https://github.com/o/r/blob/main/.env", source="commit")],
        )
    [delivered] = webhook_receiver.wait_for_deliveries(1)
    data = delivered.payload["data"]
    assert data["revoked_by"] == "leak_report"
    assert data["found"] == {"url": "https://github.com/o/r/blob/main/.env", "source": "commit"}
    assert leaked.secret not in delivered.body.decode()


def test_expiring_tokens_are_announced_7_days_before(
    account, owner, webhook_to, webhook_receiver, committed
):
    webhook_to(account, owner, events=["token.expiring"])
    token = issue_automation_token(account, creator=owner).token
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=5))
    with committed():
        expiry_notices_send(now=timezone.now())
    [delivered] = webhook_receiver.wait_for_deliveries(1)
    assert delivered.payload["type"] == "token.expiring"
    assert delivered.payload["data"]["days_before_expiry"] == 7
    with committed():
        expiry_notices_send(now=timezone.now())  # once per notice
    assert len(webhook_receiver.deliveries) == 1


def test_a_rolled_secret_and_the_previous_one_both_sign_for_a_day(
    account, owner, webhook_to, webhook_receiver, committed
):
    endpoint = webhook_to(account, owner)
    old_secret = webhook_receiver.secret
    rolled = webhook_roll_secret(actor=Actor.person(owner), endpoint=endpoint)
    assert rolled.secret != old_secret and rolled.secret.startswith("whsec_")
    with committed():
        webhook_send_test(endpoint=endpoint, actor=Actor.person(owner))
    [first] = webhook_receiver.wait_for_deliveries(1)
    assert first.verified  # with the old secret
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    webhook_receiver.secret = rolled.secret
    with committed():
        webhook_send_test(endpoint=endpoint, actor=Actor.person(owner))
    second = webhook_receiver.wait_for_deliveries(2)[1]
    assert second.verified and second.payload["type"] == "webhook.test"

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    webhook_receiver.secret = old_secret
    with committed():
        webhook_send_test(endpoint=endpoint, actor=Actor.person(owner))
    third = webhook_receiver.wait_for_deliveries(3)[2]
    assert not third.verified  # the old secret signs no more
    assert len(third.headers["webhook-signature"].split(" ")) == 1


def test_test_events_and_redeliveries_reach_an_endpoint_that_is_off(
    account, owner, webhook_to, webhook_receiver, committed
):
    endpoint = webhook_to(account, owner)
    webhook_update(actor=Actor.person(owner), endpoint=endpoint, enabled=False)
    webhook_receiver.script(500)
    with committed():
        test = webhook_send_test(endpoint=endpoint, actor=Actor.person(owner))
    test.refresh_from_db()
    assert (test.state, test.attempts, test.status_code) == ("failed", 1, 500)  # tried once
    with committed():
        again = webhook_redeliver(delivery=test)
    again.refresh_from_db()
    assert (again.state, again.status_code) == ("succeeded", 200)
    first, second = webhook_receiver.wait_for_deliveries(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == test.message_id
    assert second.verified
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # a person watching a test does not start the clock


def test_every_change_is_an_event_and_no_event_holds_the_secret(
    account, owner, webhook_to, webhook_receiver
):
    endpoint = webhook_to(account, owner, events=["token.created"], path="/hook?key=private")
    first_secret = webhook_receiver.secret
    actor = Actor.person(owner)
    webhook_update(actor=actor, endpoint=endpoint, event_types=["token.created", "token.revoked"])
    rolled = webhook_roll_secret(actor=actor, endpoint=endpoint)
    webhook_update(actor=actor, endpoint=endpoint, enabled=False)
    webhook_delete(actor=actor, endpoint=endpoint)
    kinds = list(
        Event.objects.filter(kind__startswith="webhook.")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rolled",
        "webhook.updated",
        "webhook.deleted",
    ]
    texts = [json.dumps(e.details) + e.summary for e in Event.objects.all()]
    for text in texts:
        assert first_secret not in text and rolled.secret not in text
        assert "key=private" not in text  # a URL's query string may hold a receiver's secret
    assert not WebhookEndpoint.objects.exists()


def test_the_secret_is_stored_sealed(account, owner, webhook_to, webhook_receiver):
    endpoint = webhook_to(account, owner)
    stored = bytes(WebhookEndpoint.objects.get(pk=endpoint.pk).secret_sealed)
    secret = webhook_receiver.secret
    assert secret.encode() not in stored
    assert secret.removeprefix("whsec_").encode() not in stored
