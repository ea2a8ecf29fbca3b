"""Resource writes (accounts.services.dns, domains, certificates, cdn): their effects and logs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Domain, Purge, Record
from accounts.services import cdn, certificates, dns, domains
from accounts.services.resources import ResourceValidationError
from tests.factories import (
    CertificateFactory,
    DomainFactory,
    RecordFactory,
    ServiceFactory,
    ZoneFactory,
)
from tokens.events import Actor
from tokens.models import Event

pytestmark = pytest.mark.django_db

TOKEN = Actor.api_token(
    token_id=7, token_type="automation", owner=None, name="CI", display="kwa_…x7Qa", ip="192.0.2.1"
)


def only_event() -> Event:
    event = Event.objects.get()
    assert event.kind == "api.write" and event.actor_kind == "token"
    assert event.actor_token_id == 7 and event.actor_token_type == "automation"
    assert event.ip == "192.0.2.1"
    return event


def test_record_create_logs_the_spec_summary(account):
    zone = ZoneFactory(account=account, name="acme.example")
    record = dns.record_create(
        actor=TOKEN, zone=zone, type="a", name="WWW.acme.example.", content="203.0.113.10"
    )
    assert (record.type, record.name, record.ttl) == ("A", "www", 3600)
    event = only_event()
    assert event.summary == "Token “CI” (kwa_…x7Qa) created A record www in acme.example"
    assert event.account == account and event.details["record"]["id"] == record.pk


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"type": "SPF", "content": "x"}, "type"),
        ({"type": "A", "content": "2001:db8::1"}, "content"),
        ({"type": "AAAA", "content": "fe80::zz"}, "content"),
        ({"type": "CNAME", "name": "docs", "content": "not a host"}, "content"),
        ({"type": "TXT", "content": "line\nbreak"}, "content"),
        ({"type": "TXT", "content": "x" * 1001}, "content"),
        ({"type": "A", "content": "203.0.113.1", "ttl": 59}, "ttl"),
        ({"type": "A", "content": "203.0.113.1", "ttl": 7 * 86400 + 1}, "ttl"),
        ({"type": "SRV", "content": "10 5060 sip.example."}, "priority"),
        ({"type": "MX", "content": "mail.example.", "priority": 70000}, "priority"),
        ({"type": "A", "name": "-bad-", "content": "203.0.113.1"}, "name"),
    ],
)
def test_record_create_refuses_bad_records(account, kwargs, field):
    zone = ZoneFactory(account=account)
    with pytest.raises(ResourceValidationError) as excinfo:
        dns.record_create(actor=TOKEN, zone=zone, **{"name": "", **kwargs})
    assert field in excinfo.value.message_dict
    assert not Record.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"type": "CNAME", "name": "@", "content": "a.example."}, {"name": "apex cannot"}),
        ({"type": "A", "content": "203.0.113.1", "priority": 10}, {"priority": "Only MX"}),
        ({"type": "MX", "content": "mail.example.", "priority": "10"}, {"priority": "0 to"}),
        ({"type": "MX", "content": "mail.example.", "priority": True}, {"priority": "0 to"}),
        ({"type": "A", "content": "203.0.113.1", "ttl": True}, {"ttl": "seconds"}),
        ({"type": "TXT", "content": "  "}, {"content": "Give the record"}),
        (
            {"type": "SPF", "name": "-bad-", "content": "", "ttl": 1, "priority": 1},
            {"type": "Choose one of", "name": "relative", "content": "Give", "ttl": "seconds"},
        ),
    ],
)
def test_record_problems_are_reported_per_field(account, kwargs, errors):
    zone = ZoneFactory(account=account, name="z.example")
    with pytest.raises(ResourceValidationError) as excinfo:
        dns.record_create(actor=TOKEN, zone=zone, **{"name": "", **kwargs})
    assert set(excinfo.value.message_dict) == set(errors)
    for field, words in errors.items():
        assert words in excinfo.value.message_dict[field][0]


def test_record_names_and_targets_are_normalised(account):
    zone = ZoneFactory(account=account, name="z.example")
    mx = dns.record_create(
        actor=TOKEN, zone=zone, type="mx", name="Z.Example.", content="Mail.Z.Example.", priority=5
    )
    assert (mx.type, mx.name, mx.content, mx.priority) == ("MX", "", "mail.z.example.", 5)
    txt = dns.record_create(actor=TOKEN, zone=zone, type="TXT", name="@", content="Hello World")
    assert (txt.name, txt.content, txt.priority) == ("", "Hello World", None)
    caa = dns.record_create(actor=TOKEN, zone=zone, type="CAA", name="*", content='0 issue "ca"')
    assert caa.name == "*"


def test_cname_must_stand_alone(account):
    zone = ZoneFactory(account=account)
    RecordFactory(zone=zone, name="www", type="A", content="203.0.113.1")
    with pytest.raises(ResourceValidationError):
        dns.record_create(actor=TOKEN, zone=zone, type="CNAME", name="www", content="a.example.")
    dns.record_create(actor=TOKEN, zone=zone, type="CNAME", name="docs", content="a.example.")
    with pytest.raises(ResourceValidationError):
        dns.record_create(actor=TOKEN, zone=zone, type="TXT", name="docs", content="hello")
    with pytest.raises(ResourceValidationError):  # exact duplicate
        dns.record_create(actor=TOKEN, zone=zone, type="A", name="www", content="203.0.113.1")


def test_record_delete(account):
    record = RecordFactory(zone=ZoneFactory(account=account, name="z.example"), name="")
    dns.record_delete(actor=TOKEN, record=record)
    dns.record_delete(actor=TOKEN, record=record)  # already gone: nothing more
    assert not Record.objects.exists()
    assert "deleted A record @ in z.example" in only_event().summary


def test_domain_create_and_delete(account):
    domain = domains.domain_create(actor=TOKEN, account=account, name=" Shop.Example. ")
    assert domain.name == "shop.example" and not domain.auto_renew
    assert domain.expires_at.year == domain.registered_at.year + 1
    with pytest.raises(ResourceValidationError):
        domains.domain_create(actor=TOKEN, account=account, name="shop.example")
    for bad in ("localhost", "no spaces.example", "-x.example", "x" * 250 + ".com"):
        with pytest.raises(ResourceValidationError):
            domains.domain_create(actor=TOKEN, account=account, name=bad)
    domains.domain_delete(actor=TOKEN, domain=domain)
    assert not Domain.objects.exists()
    assert [e.details["action"] for e in Event.objects.order_by("id")] == [
        "domain.created",
        "domain.deleted",
    ]


def test_domain_renewal_adds_a_year_from_expiry_or_from_now_when_lapsed(account):
    expires = timezone.now() + timedelta(days=30)
    domain = DomainFactory(account=account, expires_at=expires)
    assert domains.domain_renew(actor=TOKEN, domain=domain).expires_at == expires.replace(
        year=expires.year + 1
    )
    lapsed = DomainFactory(account=account, expires_at=timezone.now() - timedelta(days=10))
    renewed = domains.domain_renew(actor=TOKEN, domain=lapsed).expires_at
    assert renewed > timezone.now() + timedelta(days=364)


def test_renewal_on_the_29th_of_february(account):
    leap = datetime(2028, 2, 29, 12, tzinfo=timezone.get_current_timezone())
    domain = DomainFactory(account=account, expires_at=leap)
    renewed = domains.domain_renew(actor=TOKEN, domain=domain).expires_at
    assert (renewed.year, renewed.month, renewed.day) == (2029, 2, 28)


def test_auto_renewal_is_logged_only_when_it_changes(account):
    domain = DomainFactory(account=account, auto_renew=False)
    domains.domain_auto_renew_set(actor=TOKEN, domain=domain, enabled=False)
    assert not Event.objects.exists()
    assert domains.domain_auto_renew_set(actor=TOKEN, domain=domain, enabled=True).auto_renew
    assert "turned auto-renewal on" in only_event().summary


def test_certificate_renewal(account):
    now = timezone.now()
    certificate = CertificateFactory(account=account, expires_at=now + timedelta(days=5))
    renewed = certificates.certificate_renew(actor=TOKEN, certificate=certificate)
    assert renewed.expires_at == now + timedelta(days=95)
    assert renewed.issued_at >= now
    lapsed = CertificateFactory(account=account, expires_at=now - timedelta(days=5))
    assert certificates.certificate_renew(
        actor=TOKEN, certificate=lapsed
    ).expires_at > now + timedelta(days=89)


def test_service_update(account):
    service = ServiceFactory(account=account, name="Web", default_ttl=3600)
    updated = cdn.service_update(
        actor=TOKEN, service=service, origin="Origin.Example.", default_ttl=60
    )
    assert (updated.origin, updated.default_ttl, updated.name) == ("origin.example", 60, "Web")
    event = only_event()
    assert event.details["before"] == {"origin": service.origin, "default_ttl": 3600}
    cdn.service_update(actor=TOKEN, service=service, default_ttl=60)  # no change, no event
    assert Event.objects.count() == 1
    ServiceFactory(account=account, name="Other")
    for kwargs, field in (
        ({"name": "Other"}, "name"),
        ({"name": " "}, "name"),
        ({"hostname": "bad host"}, "hostname"),
        ({"origin": "x" * 300}, "origin"),
        ({"default_ttl": 10**9}, "default_ttl"),
    ):
        with pytest.raises(ResourceValidationError) as excinfo:
            cdn.service_update(actor=TOKEN, service=service, **kwargs)
        assert field in excinfo.value.message_dict
    service.refresh_from_db()
    assert service.name == "Web"


def test_service_update_is_a_patch_without_nulls(account):
    service = ServiceFactory(account=account, name="Web")
    with pytest.raises(ResourceValidationError) as excinfo:
        cdn.service_update(actor=TOKEN, service=service, name=None, origin=None, default_ttl=60)
    assert excinfo.value.message_dict == {
        "name": ["May not be null."],
        "origin": ["May not be null."],
    }
    with pytest.raises(ResourceValidationError) as excinfo:
        cdn.service_update(actor=TOKEN, service=service)
    assert excinfo.value.message_dict == {
        "__all__": ["Send at least one of name, hostname, origin, default_ttl."]
    }
    with pytest.raises(ResourceValidationError) as excinfo:
        cdn.service_update(actor=TOKEN, service=service, default_ttl="60")
    assert "default_ttl" in excinfo.value.message_dict
    service.refresh_from_db()
    assert service.name == "Web" and not Event.objects.exists()


def test_purges(account):
    service = ServiceFactory(account=account, name="Web", hostname="www.acme.example")
    cdn.service_purge(actor=TOKEN, service=service, url="https://www.acme.example/app.js")
    cdn.service_purge(actor=TOKEN, service=service, surrogate_key="product-1")
    cdn.service_purge_all(actor=TOKEN, service=service)
    assert list(Purge.objects.order_by("id").values_list("kind", "value", "requested_by")) == [
        ("url", "https://www.acme.example/app.js", TOKEN.label),
        ("surrogate_key", "product-1", TOKEN.label),
        ("all", "", TOKEN.label),
    ]
    assert Event.objects.filter(kind="api.write", account=account).count() == 3
    for kwargs in (
        {},
        {"url": "https://www.acme.example/", "surrogate_key": "k"},
        {"url": "www.acme.example/no-scheme"},
        {"url": "https://other.example/"},
        {"url": "https://www.acme.example/" + "a" * 2000},
        {"surrogate_key": ""},
        {"surrogate_key": "two words"},
    ):
        with pytest.raises(ResourceValidationError):
            cdn.service_purge(actor=TOKEN, service=service, **kwargs)
    assert Purge.objects.count() == 3
