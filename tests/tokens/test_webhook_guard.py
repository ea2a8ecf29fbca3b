"""The SSRF rule of webhook URLs (SPEC 19): refused at save and at delivery, unless
KEYWARD_WEBHOOKS_ALLOW_PRIVATE; a delivery connects to the address it checked."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ValidationError

from tokens.events import Actor
from tokens.models import Event
from tokens.webhooks.delivery import delivery_attempt
from tokens.webhooks.guard import Refused, address_problem, resolve_target
from tokens.webhooks.models import WebhookAttempt, WebhookEndpoint
from tokens.webhooks.services import webhook_create

REFUSED_ADDRESSES = [
    "127.0.0.1",  # loopback
    "127.9.9.9",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # link-local: AWS, GCP and Azure metadata
    "100.100.100.200",  # CGNAT: Alibaba's metadata
    "100.64.0.1",
    "192.0.0.192",  # IETF block: Oracle's metadata
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "255.255.255.255",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fd00:ec2::254",  # AWS's IPv6 metadata (unique local)
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_private_metadata_and_special_addresses_are_refused(address):
    assert address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:8443/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://10.0.0.5/hook",
        "https://localhost/hook",  # a DNS name that resolves to 127.0.0.1
        "https://localhost:8443/hook",
    ],
)
def test_urls_reaching_private_addresses_are_refused_without_the_setting(url, settings):
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(Refused, match="may not go to"):
        resolve_target(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://8.8.8.8/hook", "https://"),
        ("ftp://8.8.8.8/hook", "https://"),
        ("https://user:pass@8.8.8.8/hook", "user name or password"),
        ("https:///hook", "host name"),
        ("https://8.8.8.8:99999/hook", "valid URL"),
        ("https://8.8.8.8/ho ok", "spaces"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url, message, settings):
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = False
    settings.DEBUG = False
    with pytest.raises(Refused, match=message):
        resolve_target(url)


def test_a_public_address_is_connected_to_as_checked_with_the_hosts_name_for_tls(settings):
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = False
    target = resolve_target("https://8.8.8.8:8443/hooks?x=1")
    assert (target.url, target.host_header, target.tls_name) == (
        "https://8.8.8.8:8443/hooks?x=1",
        "8.8.8.8:8443",
        None,
    )


def test_a_name_is_replaced_by_the_address_it_resolved_to(settings):
    """The connection goes to the address checked: no second lookup to rebind."""
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = True
    target = resolve_target("https://localhost:8443/hook")
    assert target.url == "https://127.0.0.1:8443/hook"
    assert target.host_header == "localhost:8443"
    assert target.tls_name == "localhost"  # the certificate is checked for the name


def test_the_test_setting_lifts_the_address_rule(settings):
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = True
    assert resolve_target("http://127.0.0.1:9/hook").address == "127.0.0.1"


@pytest.mark.django_db
def test_saving_an_endpoint_refuses_a_private_address(account, member_factory, settings):
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = False
    owner = member_factory(account, "superuser")
    for url in ("https://localhost/hook", "https://169.254.169.254/", "https://[fd00:ec2::254]/"):
        with pytest.raises(ValidationError) as refused:
            webhook_create(
                actor=Actor.person(owner), account=account, url=url, event_types=["token.created"]
            )
        assert "may not go to" in refused.value.message_dict["url"][0]
    assert not WebhookEndpoint.objects.exists()
    assert not Event.objects.filter(kind="webhook.created").exists()


@pytest.mark.django_db
def test_a_delivery_to_an_address_that_became_private_is_refused_and_logged(
    account, member_factory, settings, webhook_receiver, django_capture_on_commit_callbacks
):
    """Checked again at delivery: a name (or the setting) that changed after the save."""
    owner = member_factory(account, "superuser")
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = True
    created = webhook_create(
        actor=Actor.person(owner),
        account=account,
        url=webhook_receiver.url + "/hook",
        event_types=["token.created"],
    )
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = False  # now 127.0.0.1 is refused
    settings.DEBUG = True  # (development allows http, never a private address)
    from tokens.webhooks.services import webhook_send_test

    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhook_send_test(endpoint=created.endpoint, actor=Actor.person(owner))
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert "may not go to 127.0.0.1" in attempt.error
    assert webhook_receiver.deliveries == []
    assert delivery_attempt(delivery_id=delivery.pk) is None  # a test is tried once
