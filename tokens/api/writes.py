"""Writes to account resources: records, domains, renewals, auto-renewal, services, purges.

They join the accounts router (one router per path prefix: ninja serves a path
from one router only, so reads and writes of a path must share it).

Each route authorizes its operation, loads its target through the token's
selection (`access.target`: a resource outside it is 404) and calls the same
service the panel would; the service validates, writes and logs the
`api.write` event.
"""

from __future__ import annotations

from django.http import HttpResponse

from accounts.models import Account, Certificate, Domain, Record, Service, Zone
from accounts.services import cdn, certificates, dns, domains
from tokens.api.access import actor, authorize, deny, one, principal_of, target
from tokens.api.accounts import router
from tokens.api.answers import ACCOUNT_ERRORS, BODY_ERRORS, RECORD_ERRORS
from tokens.api.errors import record_not_allowed
from tokens.api.responses import no_content, ok
from tokens.api.schemas import (
    CertificateOut,
    Data,
    DomainIn,
    DomainOut,
    PurgeIn,
    PurgeOut,
    RecordIn,
    RecordOut,
    ServiceOut,
    ServicePatchIn,
    resource_json,
)
from tokens.api.security import ApiRequest
from tokens.kinds import BY_KIND, Kind
from tokens.records.rules import record_rules_allow, record_rules_text
from tokens.usage.rules import DenialReason

ZONE = BY_KIND[Kind.ZONES].api_item_path
DOMAIN = BY_KIND[Kind.DOMAINS].api_item_path
REGISTRATION = BY_KIND[Kind.REGISTRAR].api_item_path
CERTIFICATE = BY_KIND[Kind.CERTIFICATES].api_item_path
SERVICE = BY_KIND[Kind.SERVICES].api_item_path


# --------------------------------------------------------------------------- zones


def _check_record_rules(request: ApiRequest, *, name: str, type: str) -> None:
    """403 record_not_allowed when the token's record rules (SPEC 14) leave this record out."""
    rules = principal_of(request).grant.record_rules
    if not record_rules_allow(rules, name=name, type=type):
        deny(request, DenialReason.RECORD_NOT_ALLOWED)
        raise record_not_allowed(record_rules_text(rules))


@router.post(
    ZONE + "/records",
    response={201: Data[RecordOut], **RECORD_ERRORS, **BODY_ERRORS},
    tags=["zones"],
)
def record_create(
    request: ApiRequest, account_id: int, zone_id: int, payload: RecordIn
) -> HttpResponse:
    """Add a DNS record to a zone (`zones:write`)."""
    zone: Zone = target(request, "zones:write", Kind.ZONES, zone_id)
    _check_record_rules(
        request, name=dns.record_relative_name(payload.name, zone), type=str(payload.type)
    )
    record = dns.record_create(
        actor=actor(principal_of(request)), zone=zone, **payload.model_dump()
    )
    return ok(resource_json(RecordOut, record), status=201)


@router.delete(
    ZONE + "/records/{id:record_id}", response={204: None, **RECORD_ERRORS}, tags=["zones"]
)
def record_delete(
    request: ApiRequest, account_id: int, zone_id: int, record_id: int
) -> HttpResponse:
    """Delete a DNS record (`zones:write`)."""
    zone: Zone = target(request, "zones:write", Kind.ZONES, zone_id)
    record = one(Record.objects.all(), pk=record_id, zone_id=zone.pk)
    _check_record_rules(request, name=record.name, type=record.type)
    record.zone = zone
    dns.record_delete(actor=actor(principal_of(request)), record=record)
    return no_content()


# --------------------------------------------------------------------------- domains


@router.post(
    "/{id:account_id}/domains",
    response={201: Data[DomainOut], **ACCOUNT_ERRORS, **BODY_ERRORS},
    tags=["domains"],
)
def domain_create(request: ApiRequest, account_id: int, payload: DomainIn) -> HttpResponse:
    """Register a domain (`domains:write` on all domains)."""
    access = authorize(request, "domains:write", creates=Kind.DOMAINS)
    domain = domains.domain_create(
        actor=actor(principal_of(request)),
        account=Account.objects.get(pk=access.id),
        name=payload.name,
        auto_renew=payload.auto_renew,
    )
    return ok(resource_json(DomainOut, domain), status=201)


@router.delete(DOMAIN, response={204: None, **ACCOUNT_ERRORS}, tags=["domains"])
def domain_delete(request: ApiRequest, account_id: int, domain_id: int) -> HttpResponse:
    """Remove a domain (`domains:write`)."""
    domain: Domain = target(request, "domains:write", Kind.DOMAINS, domain_id)
    domains.domain_delete(actor=actor(principal_of(request)), domain=domain)
    return no_content()


# --------------------------------------------------------------------------- registrar


@router.post(
    REGISTRATION + "/renewals",
    response={201: Data[DomainOut], **ACCOUNT_ERRORS},
    tags=["registrar"],
)
def registration_renew(request: ApiRequest, account_id: int, domain_id: int) -> HttpResponse:
    """Renew a domain for one year (`registrar:write`)."""
    domain: Domain = target(request, "registrar:write", Kind.REGISTRAR, domain_id)
    domain = domains.domain_renew(actor=actor(principal_of(request)), domain=domain)
    return ok(resource_json(DomainOut, domain), status=201)


@router.put(
    REGISTRATION + "/auto_renewal",
    response={200: Data[DomainOut], **ACCOUNT_ERRORS},
    tags=["registrar"],
)
def auto_renewal_on(request: ApiRequest, account_id: int, domain_id: int) -> HttpResponse:
    """Turn auto-renewal on (`registrar:write`)."""
    return _auto_renewal(request, domain_id, enabled=True)


@router.delete(
    REGISTRATION + "/auto_renewal",
    response={200: Data[DomainOut], **ACCOUNT_ERRORS},
    tags=["registrar"],
)
def auto_renewal_off(request: ApiRequest, account_id: int, domain_id: int) -> HttpResponse:
    """Turn auto-renewal off (`registrar:write`)."""
    return _auto_renewal(request, domain_id, enabled=False)


def _auto_renewal(request: ApiRequest, domain_id: int, *, enabled: bool) -> HttpResponse:
    domain: Domain = target(request, "registrar:write", Kind.REGISTRAR, domain_id)
    domain = domains.domain_auto_renew_set(
        actor=actor(principal_of(request)), domain=domain, enabled=enabled
    )
    return ok(resource_json(DomainOut, domain))


# --------------------------------------------------------------------------- certificates


@router.post(
    CERTIFICATE + "/renewals",
    response={201: Data[CertificateOut], **ACCOUNT_ERRORS},
    tags=["certificates"],
)
def certificate_renew(request: ApiRequest, account_id: int, certificate_id: int) -> HttpResponse:
    """Reissue a certificate for 90 more days (`certificates:write`, or TLS management)."""
    certificate: Certificate = target(
        request, "certificates:write", Kind.CERTIFICATES, certificate_id
    )
    certificate = certificates.certificate_renew(
        actor=actor(principal_of(request)), certificate=certificate
    )
    return ok(resource_json(CertificateOut, certificate), status=201)


# --------------------------------------------------------------------------- services


@router.patch(
    SERVICE, response={200: Data[ServiceOut], **ACCOUNT_ERRORS, **BODY_ERRORS}, tags=["services"]
)
def service_update(
    request: ApiRequest, account_id: int, service_id: int, payload: ServicePatchIn
) -> HttpResponse:
    """Change a service's name, hostname, origin or default TTL (`services:write`)."""
    service: Service = target(request, "services:write", Kind.SERVICES, service_id)
    service = cdn.service_update(
        actor=actor(principal_of(request)),
        service=service,
        **payload.model_dump(exclude_unset=True),
    )
    return ok(resource_json(ServiceOut, service))


@router.post(
    SERVICE + "/purge",
    response={202: Data[PurgeOut], **ACCOUNT_ERRORS, **BODY_ERRORS},
    tags=["services"],
)
def service_purge(
    request: ApiRequest, account_id: int, service_id: int, payload: PurgeIn
) -> HttpResponse:
    """Purge a URL or a surrogate key from a service's cache (`purge_select`)."""
    service: Service = target(request, "purge_select", Kind.SERVICES, service_id)
    purge = cdn.service_purge(
        actor=actor(principal_of(request)),
        service=service,
        url=payload.url,
        surrogate_key=payload.surrogate_key,
    )
    return ok(resource_json(PurgeOut, purge), status=202)


@router.post(
    SERVICE + "/purge_all", response={202: Data[PurgeOut], **ACCOUNT_ERRORS}, tags=["services"]
)
def service_purge_all(request: ApiRequest, account_id: int, service_id: int) -> HttpResponse:
    """Purge everything a service has cached (`purge_all`)."""
    service: Service = target(request, "purge_all", Kind.SERVICES, service_id)
    purge = cdn.service_purge_all(actor=actor(principal_of(request)), service=service)
    return ok(resource_json(PurgeOut, purge), status=202)
