"""Identity and tenancy: users, accounts, memberships and the resources accounts own."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.constants import Plan, RecordType, Role
from accounts.roles import manages_account


class UserManager(BaseUserManager["User"]):
    """Creates users keyed by a normalised email address."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email: str | None) -> User:
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address, or a synthetic owner of legacy keys.

    `is_staff` marks support staff (Django admin); roles in accounts live on Membership.
    `has_second_factor` mirrors their allauth authenticators (SPEC 16).
    Synthetic users (`is_synthetic`) own imported legacy keys and can never sign in.
    """

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    is_synthetic = models.BooleanField(
        "synthetic (login-less)",
        default=False,
        help_text="A login-less owner of imported legacy keys.",
    )
    # Kept by accounts.factors.services on every factor added or removed (an authenticator
    # app or a passkey; recovery codes alone are not one), so that the API's one
    # authentication query reads "does the owner have 2FA" with the user row (SPEC 16).
    has_second_factor = models.BooleanField(
        "has a second factor",
        default=False,
        editable=False,
        help_text="An authenticator app or a passkey is set up (kept by the factor services).",
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Emails are compared case-insensitively; store them in one case.
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


class Account(models.Model):
    """A customer of the hosting platform: owns resources, has members and a plan."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.SOLO)
    force_sso = models.BooleanField("force SSO", default=False)
    require_2fa = models.BooleanField("require 2FA", default=False)
    billing_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(User, through="Membership", related_name="accounts")
    # Token policies (SPEC 15), each off by default; tokens.permissions.policy_violation
    # applies them. They live on the account row so that the API's one authentication
    # query reads them with the account, at no extra cost.
    max_lifetime_days = models.PositiveSmallIntegerField(
        "maximum token lifetime (days)",
        null=True,
        blank=True,
        help_text="Maximum token lifetime in days (1-3650); empty: off.",
    )
    max_idle_days = models.PositiveSmallIntegerField(
        "maximum idle time (days)",
        null=True,
        blank=True,
        help_text="Maximum idle time in days (7-730); empty: off.",
    )
    automation_requires_ip_allow_list = models.BooleanField(
        "automation tokens need an IP allow-list",
        default=False,
        help_text="Automation tokens need an IP allow-list.",
    )
    allowed_networks = models.JSONField(
        "allowed networks",
        default=list,
        blank=True,
        help_text="CIDRs tokens may be used from here; empty: off.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(plan__in=Plan.values), name="account_plan_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(max_lifetime_days__isnull=True)
                | models.Q(max_lifetime_days__gte=1, max_lifetime_days__lte=3650),
                name="account_max_lifetime_days_range",
            ),
            models.CheckConstraint(
                condition=models.Q(max_idle_days__isnull=True)
                | models.Q(max_idle_days__gte=7, max_idle_days__lte=730),
                name="account_max_idle_days_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one account."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.USER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"

    @property
    def manages_account(self) -> bool:
        """This member manages the account's tokens and members (for templates)."""
        return manages_account(self.role)


class Zone(models.Model):
    """A DNS zone hosted for an account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="zones")
    name = models.CharField(max_length=253)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="zone_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Record(models.Model):
    """One DNS record in a zone."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="records")
    type = models.CharField(max_length=10, choices=RecordType.choices)
    name = models.CharField(max_length=253, blank=True, help_text="Empty for the zone apex.")
    content = models.CharField(max_length=1000)
    ttl = models.PositiveIntegerField(default=3600)
    priority = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "type", "id"]
        # A zone's records in the API's order (tokens.api.resources): a page is read
        # from the index, not sorted from all of them; the count reads it alone.
        indexes = [models.Index(fields=["zone", "name", "type", "id"], name="record_zone_order")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=RecordType.values), name="record_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(ttl__gte=60) & models.Q(ttl__lte=86400 * 7),
                name="record_ttl_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or '@'} {self.type} {self.content}"


class Domain(models.Model):
    """A domain registered through the platform's registrar."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=253)
    registered_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="End of the current registration period.")
    auto_renew = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="domain_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Certificate(models.Model):
    """A TLS certificate the platform manages for an account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="certificates")
    name = models.CharField(max_length=253, help_text="Common name, e.g. www.example.com.")
    issuer = models.CharField(max_length=100, default="Let's Encrypt")
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="certificate_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """A CDN service: a hostname served from an origin, with a purge history."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=100)
    hostname = models.CharField(max_length=253)
    origin = models.CharField(max_length=253)
    default_ttl = models.PositiveIntegerField(default=3600)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="service_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Purge(models.Model):
    """One cache purge of a service: by URL, by surrogate key, or everything."""

    class Kind(models.TextChoices):
        URL = "url", "URL"
        SURROGATE_KEY = "surrogate_key", "Surrogate key"
        ALL = "all", "Everything"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="purges")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=2000, blank=True)
    requested_by = models.CharField(max_length=200, blank=True, help_text="Who asked, for humans.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["url", "surrogate_key", "all"]),
                name="purge_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}".strip()


# Models of the accounts' feature packages, registered with the app here.
from accounts.sso.models import AccountSso  # noqa: E402, F401
