"""First use from a new network (SPEC 19): noted in the cache on the request path (no SQL),
judged when the usage buffer is flushed, alerted once per new /24 or /48: an event, an
email at most once an hour per token, the webhook; the token page shows the alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import issue_automation_token, issue_user_token
from tokens.models import Event
from tokens.networks.buffer import network_of, networks_forget_process_state
from tokens.networks.models import TokenNetwork
from tokens.usage.services import usage_flush_all

pytestmark = pytest.mark.django_db(transaction=True)  # alerts' emails go after commit

ALERT = "token.new_network"


@pytest.fixture(autouse=True)
def _fresh_process():
    networks_forget_process_state()
    yield
    networks_forget_process_state()


@pytest.fixture
def owner(account, member_factory):
    return member_factory(account, "superuser", email="owner@example.com")


def use(client, secret, ip):
    answer = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR=ip)
    assert answer.status_code == 200
    return answer


def flush():
    """The worker's once-a-minute flush of the usage buffer (tokens.tasks.usage_flush_task)."""
    usage_flush_all(now=timezone.now())


def alerts(token_id):
    return list(Event.objects.filter(kind=ALERT, token_id=token_id).order_by("id"))


def an_hour_later():
    """The cache's once-an-hour note of a known network expires; so does the process's own."""
    cache.clear()
    networks_forget_process_state()


def test_networks_are_ipv4_24s_and_ipv6_48s():
    assert network_of("203.0.113.9") == "203.0.113.0/24"
    assert network_of("::ffff:203.0.113.9") == "203.0.113.0/24"
    assert network_of("2001:db8:1:ff::2") == "2001:db8:1::/48"
    assert network_of("not an address") is None


def test_a_new_24_alerts_once_and_a_known_one_never(client, account, owner):
    created = issue_user_token(owner, name="Laptop")
    token = created.token
    use(client, created.secret, "198.51.100.7")  # its first network: where it starts
    flush()
    assert alerts(token.pk) == []
    assert TokenNetwork.objects.get(token=token).network == "198.51.100.0/24"

    use(client, created.secret, "198.51.100.200")  # the same /24
    use(client, created.secret, "203.0.113.9")  # a new one
    use(client, created.secret, "203.0.113.77")  # the new one again
    assert alerts(token.pk) == []  # judged at the flush, not in the request
    flush()
    [alert] = alerts(token.pk)
    assert alert.details["network"] == "203.0.113.0/24" and alert.details["ip"] == "203.0.113.9"
    assert alert.account is None and alert.token_owner_id == owner.pk  # the owner's event
    assert alert.ip == "203.0.113.9"
    [email] = mail.outbox
    assert email.to == [owner.email] and "new network" in email.subject
    assert "203.0.113.0/24" in email.body and created.secret not in email.body

    an_hour_later()
    use(client, created.secret, "203.0.113.5")  # known now
    use(client, created.secret, "198.51.100.9")
    flush()
    assert len(alerts(token.pk)) == 1 and len(mail.outbox) == 1
    assert set(TokenNetwork.objects.filter(token=token).values_list("network", flat=True)) == {
        "198.51.100.0/24",
        "203.0.113.0/24",
    }


def test_ipv6_48s_and_ipv4_mapped_addresses(client, account, owner):
    created = issue_user_token(owner)
    use(client, created.secret, "2001:db8:1::1")
    flush()
    use(client, created.secret, "2001:db8:1:ff::2")  # the same /48
    flush()
    assert alerts(created.token.pk) == []
    use(client, created.secret, "2001:db8:2::1")
    flush()
    assert [a.details["network"] for a in alerts(created.token.pk)] == ["2001:db8:2::/48"]


def test_emails_at_most_once_an_hour_per_token_events_for_each_network(client, account, owner):
    created = issue_user_token(owner)
    use(client, created.secret, "198.51.100.7")
    flush()
    for ip in ("203.0.113.9", "192.0.2.10", "100.64.3.3"):
        use(client, created.secret, ip)
        flush()
    assert [a.details["network"] for a in alerts(created.token.pk)] == [
        "203.0.113.0/24",
        "192.0.2.0/24",
        "100.64.3.0/24",
    ]
    assert len(mail.outbox) == 1
    Event.objects.filter(kind=ALERT).update(created_at=timezone.now() - timedelta(hours=2))
    use(client, created.secret, "198.18.4.4")
    flush()
    assert len(mail.outbox) == 2


def test_a_network_unused_for_90_days_is_new_again(client, account, owner):
    created = issue_user_token(owner)
    use(client, created.secret, "198.51.100.7")
    flush()
    TokenNetwork.objects.update(last_seen=timezone.now() - timedelta(days=91))
    an_hour_later()
    use(client, created.secret, "198.51.100.7")
    flush()
    assert [a.details["network"] for a in alerts(created.token.pk)] == ["198.51.100.0/24"]


def test_an_automation_token_alerts_its_superusers_and_the_accounts_webhook(
    client, account, owner, member_factory, webhook_to, webhook_receiver
):
    engineer = member_factory(account, "engineer", email="engineer@example.com")
    webhook_to(account, owner, events=[ALERT])
    created = issue_automation_token(account, name="Deploy", creator=owner)
    use(client, created.secret, "198.51.100.7")
    flush()
    use(client, created.secret, "203.0.113.9")
    flush()
    [alert] = alerts(created.token.pk)
    assert alert.account == account
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert engineer.email not in str([m.to for m in mail.outbox])
    [delivered] = webhook_receiver.wait_for_deliveries(1)
    assert delivered.verified and delivered.payload["type"] == ALERT
    data = delivered.payload["data"]
    assert data["token"]["id"] == created.token.pk
    assert data["details"]["network"] == "203.0.113.0/24"


def test_noting_a_network_adds_no_sql_to_the_request(client, account, owner):
    created = issue_user_token(owner)
    use(client, created.secret, "198.51.100.7")  # the minute's last-use write and flush
    with CaptureQueriesContext(connection) as known:
        use(client, created.secret, "198.51.100.8")
    with CaptureQueriesContext(connection) as new:
        use(client, created.secret, "203.0.113.9")
    assert len(new) == len(known) == 1  # the authentication query alone


def test_the_token_page_shows_new_network_alerts(client, account, owner):
    created = issue_user_token(owner, name="Laptop")
    use(client, created.secret, "198.51.100.7")
    flush()
    use(client, created.secret, "203.0.113.9")
    flush()
    client.force_login(owner)
    page = client.get(f"/tokens/{created.token.pk}/").content.decode()
    assert "Recent activity" in page
    assert "New network" in page and "203.0.113.0/24" in page and "203.0.113.9" in page
