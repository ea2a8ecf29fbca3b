"""Create the demo accounts, people, resources and tokens of SPEC 8 (idempotent).

It seeds both apps, so it lives in tokens, at the top of the dependency chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.constants import Plan, Role
from accounts.factors import engine
from accounts.factors.services import totp_add
from accounts.models import Account, Certificate, Domain, Membership, Record, Service, User, Zone
from accounts.sso.crypto import secret_seal
from accounts.sso.models import AccountSso
from tokens.events import Actor, EventChannel
from tokens.management.demo_usage import seed_demo_usage
from tokens.models import Token
from tokens.services.issue import token_create

DEMO_PASSWORD = "keyward-demo"

PEOPLE = {
    "owner@example.com": "Olivia Owner",
    "engineer@example.com": "Eddie Engineer",
    "viewer@example.com": "Vera Viewer",
    "billing@example.com": "Bill Billing",
    "solo@example.com": "Sol Solo",
    "mfa@example.com": "Mia Factor",
}
# Signs in with the password, then a code from an authenticator app (SPEC 8, 16): the
# secret is printed so that anyone can add it to an app. A demo only.
TWO_FACTOR_PERSON = "mfa@example.com"
# Support staff: signs in to the Django admin (/admin/), belongs to no account.
SUPPORT = ("support@example.com", "Sam Support")

ACCOUNTS = {
    "acme": {
        "name": "Acme Hosting",
        "plan": Plan.TEAMS,
        "billing_email": "billing@example.com",
        "members": {
            "owner@example.com": Role.SUPERUSER,
            "engineer@example.com": Role.ENGINEER,
            "viewer@example.com": Role.USER,
            "billing@example.com": Role.BILLING,
            TWO_FACTOR_PERSON: Role.ENGINEER,
        },
        "zones": {
            "acme.example": [
                ("A", "", "203.0.113.10"),
                ("AAAA", "", "2001:db8::10"),
                ("CNAME", "www", "acme.example."),
                ("MX", "", "mail.acme.example."),
                ("TXT", "", "v=spf1 mx -all"),
            ],
            "acme.dev": [("A", "", "203.0.113.20"), ("CNAME", "docs", "acme.dev.")],
            "acme-cdn.example": [("CNAME", "static", "edge.keyward-cdn.example.")],
        },
        "domains": {"acme.example": True, "acme.dev": False, "acme-shop.example": True},
        "certificates": ["www.acme.example", "api.acme.example"],
        "services": {
            "Acme website": ("www.acme.example", "origin.acme.example"),
            "Acme API": ("api.acme.example", "api-origin.acme.example"),
        },
    },
    "solo": {
        "name": "Solo Studio",
        "plan": Plan.SOLO,
        "billing_email": "solo@example.com",
        "members": {"solo@example.com": Role.SUPERUSER, "owner@example.com": Role.ENGINEER},
        "zones": {"solo.example": [("A", "", "198.51.100.7"), ("CNAME", "www", "solo.example.")]},
        "domains": {"solo.example": True},
        "certificates": ["solo.example"],
        "services": {"Portfolio": ("www.solo.example", "portfolio-origin.solo.example")},
    },
    # Enterprise, with single sign-on on the local OpenID provider of `make sso-demo`
    # (tests/support/sso_demo.json): SSO_DEMO below.
    "globex": {
        "name": "Globex Corporation",
        "plan": Plan.ENTERPRISE,
        "billing_email": "owner@example.com",
        "members": {
            "owner@example.com": Role.SUPERUSER,
            "engineer@example.com": Role.ENGINEER,
            "viewer@example.com": Role.USER,
        },
        "zones": {"globex.example": [("A", "", "192.0.2.40"), ("CNAME", "www", "globex.example.")]},
        "domains": {"globex.example": True},
        "certificates": ["www.globex.example"],
        "services": {"Globex portal": ("www.globex.example", "portal-origin.globex.example")},
    },
}

# Globex's identity provider: `make sso-demo` (issuer http://127.0.0.1:9400); owner@, engineer@
# and viewer@example.com sign in there with DEMO_PASSWORD.
SSO_DEMO = {
    "issuer": "http://127.0.0.1:9400",
    "client_id": "keyward-sso-demo",
    "client_secret": "keyward-sso-demo-secret",
}


def _seed_sso(account: Account, now: datetime) -> None:
    """Globex's SSO, configured and marked tested (not forced), once (the secret sealed)."""
    if AccountSso.objects.filter(account=account).exists():
        return
    AccountSso.objects.create(
        account=account,
        issuer=SSO_DEMO["issuer"],
        client_id=SSO_DEMO["client_id"],
        client_secret_sealed=secret_seal(SSO_DEMO["client_secret"], account_id=account.pk),
        domains=["example.com"],
        enabled=True,
        tested_at=now,
    )


def _seed_people() -> dict[str, User]:
    """The demo people (password DEMO_PASSWORD) and the support staff user, by email."""
    users = {}
    for email, name in PEOPLE.items():
        user, created = User.objects.get_or_create(email=email, defaults={"name": name})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        users[email] = user
    support, created = User.objects.get_or_create(
        email=SUPPORT[0],
        defaults={"name": SUPPORT[1], "is_staff": True, "is_superuser": True},
    )
    if created:
        support.set_password(DEMO_PASSWORD)
        support.save(update_fields=["password"])
    return users


def _seed_authenticator_app(user: User) -> str:
    """The authenticator app of TWO_FACTOR_PERSON (set up once); its secret, for the demo."""
    app = engine.Authenticator.objects.filter(user=user, type=engine.FactorType.TOTP).first()
    if app is not None:
        return engine.totp_secret_of(app)
    secret = engine.totp_generate_secret()
    totp_add(actor=Actor.system("seed_demo"), user=user, secret=secret)
    return secret


def _seed_account(slug: str, spec: dict, users: dict[str, User], now: datetime) -> None:
    """One account of ACCOUNTS with its members and resources (existing rows are kept)."""
    account, _ = Account.objects.update_or_create(
        slug=slug,
        defaults={
            "name": spec["name"],
            "plan": spec["plan"],
            "billing_email": spec["billing_email"],
        },
    )
    for email, role in spec["members"].items():
        Membership.objects.update_or_create(
            user=users[email], account=account, defaults={"role": role}
        )
    for zone_name, records in spec["zones"].items():
        zone, _ = Zone.objects.get_or_create(account=account, name=zone_name)
        for record_type, name, content in records:
            Record.objects.get_or_create(
                zone=zone,
                type=record_type,
                name=name,
                content=content,
                defaults={"priority": 10 if record_type == "MX" else None},
            )
    for position, (domain_name, auto_renew) in enumerate(spec["domains"].items()):
        Domain.objects.get_or_create(
            account=account,
            name=domain_name,
            defaults={
                "auto_renew": auto_renew,
                "registered_at": now - timedelta(days=400),
                "expires_at": now + timedelta(days=120 + 90 * position),
            },
        )
    for position, cert_name in enumerate(spec["certificates"]):
        Certificate.objects.get_or_create(
            account=account,
            name=cert_name,
            defaults={
                "issued_at": now - timedelta(days=30),
                "expires_at": now + timedelta(days=60 + 7 * position),
            },
        )
    for service_name, (hostname, origin) in spec["services"].items():
        Service.objects.get_or_create(
            account=account,
            name=service_name,
            defaults={"hostname": hostname, "origin": origin},
        )


def _token_specs(users: dict[str, User]) -> list[dict]:
    """token_create's arguments for the demo tokens (plus who creates each, and expired ones)."""
    acme, solo = Account.objects.get(slug="acme"), Account.objects.get(slug="solo")
    acme_zones = list(
        Zone.objects.filter(account=acme).order_by("name").values_list("pk", flat=True)
    )
    acme_zone_ids = dict(Zone.objects.filter(account=acme).values_list("name", "pk"))
    acme_services = list(
        Service.objects.filter(account=acme).order_by("name").values_list("pk", flat=True)
    )
    owner, engineer = users["owner@example.com"], users["engineer@example.com"]
    return [
        {"token_type": "user", "name": "Laptop CLI", "owner": owner, "scopes": ["global"]},
        {
            "token_type": "user",
            "name": "DNS updater",
            "owner": engineer,
            "scopes": ["zones:write"],
            "resources": {"zones": acme_zones[:2]},
        },
        {
            # SPEC 14's ACME DNS-01 template: only the challenge records, of one zone, from
            # one host. Its owner is also in Solo Studio, where it selects nothing.
            "token_type": "user",
            "name": "certbot on web1",
            "owner": owner,
            "scopes": ["zones:write"],
            "resources": {"zones": [acme_zone_ids["acme.example"]]},
            "record_rules": [
                {"name": "_acme-challenge", "types": ["TXT"]},
                {"name": "_acme-challenge.*", "types": ["TXT"]},
            ],
            "allowed_ips": ["203.0.113.10"],
        },
        {
            "token_type": "user",
            "name": "Status dashboard",
            "owner": owner,
            "scopes": ["global:read"],
        },
        {
            "token_type": "user",
            "name": "Old deploy script",
            "owner": engineer,
            "scopes": ["global"],
            "expired": True,
        },
        {
            "token_type": "automation",
            "name": "CI deploys",
            "account": acme,
            "creator": owner,
            "role": Role.ENGINEER,
            "scopes": ["zones:write", "purge_select"],
            "resources": {"services": acme_services[:1]},
        },
        {
            "token_type": "automation",
            "name": "Billing export",
            "account": acme,
            "creator": owner,
            "role": Role.BILLING,
            "scopes": ["global:read"],
        },
        {
            "token_type": "automation",
            "name": "Certificate renewer",
            "account": acme,
            "creator": owner,
            "role": Role.USER,
            "scopes": ["certificates:read"],
            "tls_access": True,
        },
        {
            "token_type": "automation",
            "name": "Studio site builds",
            "account": solo,
            "creator": users["solo@example.com"],
            "role": Role.ENGINEER,
        },
    ]


class Command(BaseCommand):
    help = "Create demo accounts, users, resources and tokens. Safe to run again."

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        now = timezone.now()
        users = _seed_people()
        for slug, spec in ACCOUNTS.items():
            _seed_account(slug, spec, users, now)
        _seed_sso(Account.objects.get(slug="globex"), now)
        self.seed_tokens(users)
        # Some usage, so that the demo's token pages are not empty on first look.
        people, accounts = users.values(), list(ACCOUNTS)
        demo_tokens = Token.objects.filter(
            Q(type="user", user__in=people) | Q(type="automation", account__slug__in=accounts)
        ).select_related("account", "user")
        seed_demo_usage(list(demo_tokens), now)
        totp_secret = _seed_authenticator_app(users[TWO_FACTOR_PERSON])
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"Sign in at http://127.0.0.1:8000/ with password {DEMO_PASSWORD!r}:")
        for email in PEOPLE:
            roles = ", ".join(
                f"{m.get_role_display()} in {m.account.name}"
                for m in Membership.objects.filter(user__email=email).select_related("account")
            )
            self.stdout.write(f"  {email:<24} {roles}")
            if email == TWO_FACTOR_PERSON:
                self.stdout.write(
                    f"  {'':<24} then a code from an authenticator app with the setup key"
                    f" {totp_secret} (time-based, 6 digits)"
                )
        self.stdout.write(f"  {SUPPORT[0]:<24} Support staff: the Django admin at /admin/")
        self.stdout.write(
            "Single sign-on: run `make sso-demo` too, then Sign in with SSO as owner@example.com "
            f"(Globex Corporation; the identity provider's password is {DEMO_PASSWORD!r})."
        )

    def seed_tokens(self, users: dict[str, User]) -> None:
        """A few tokens of each type, one expired; their secrets are never printed.

        A token is looked up by name and owner (user tokens) or account
        (automation tokens) first, so running the command again creates none.
        """
        now = timezone.now()
        for spec in _token_specs(users):
            spec = dict(spec)
            expired = spec.pop("expired", False)
            creator = spec.pop("creator", None) or spec["owner"]
            existing = Token.objects.filter(name=spec["name"], type=spec["token_type"])
            if spec["token_type"] == "user":
                existing = existing.filter(user=spec["owner"])
            else:
                existing = existing.filter(account=spec["account"])
            if existing.exists():
                continue
            created = token_create(
                actor=Actor.person(creator, channel=EventChannel.COMMAND), **spec
            )
            if expired:
                Token.objects.filter(pk=created.token.pk).update(
                    created_at=now - timedelta(days=120), expires_at=now - timedelta(days=30)
                )
