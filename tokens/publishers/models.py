"""Trusted publishers (SPEC 18): who may trade a CI ID token for a short-lived token, and what
it gets; and the ID tokens already traded (each `jti` once).

The rules that read these rows (conditions, matching, the grant's validation) are in
tokens.publishers.rules; the writes in tokens.publishers.services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.constants import Role
from accounts.models import Account

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"

LIFETIME_RANGE = (5, 60)  # minutes, SPEC 18
DEFAULT_LIFETIME_MINUTES = 15


class Provider(models.TextChoices):
    """Where the ID tokens come from: it decides which conditions a publisher has."""

    GITHUB = "github", "GitHub Actions"
    GITLAB = "gitlab", "GitLab CI/CD"
    CUSTOM = "custom", "Other OpenID issuer"


DEFAULT_ISSUERS: dict[str, str] = {Provider.GITHUB: GITHUB_ISSUER, Provider.GITLAB: GITLAB_ISSUER}


class Publisher(models.Model):
    """A trusted publisher of one account: a CI identity (conditions on the claims of an ID
    token from `issuer`) and the grant of the automation token it may mint.

    `conditions` maps a condition to its value (`{"repository": "octo-org/octo-repo",
    "repository_id": "74", ...}`: SPEC 18, per provider; tokens.publishers.rules judges
    them). The grant is the automation token's role, scopes, resources (per kind "all" or
    ids), record rules and TLS management, validated by the token services' own rules when
    the publisher is saved and again at each minting; minted tokens live `lifetime_minutes`.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="publishers")
    name = models.CharField(max_length=100)
    provider = models.CharField(max_length=10, choices=Provider.choices)
    issuer = models.CharField(max_length=300, help_text="The ID tokens' `iss`, exactly.")
    conditions = models.JSONField(default=dict)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ENGINEER)
    scopes = models.JSONField(default=list)
    resources = models.JSONField(default=dict, help_text='Per kind "all" or a list of ids.')
    record_rules = models.JSONField("DNS record rules", default=list, blank=True)
    tls_access = models.BooleanField("TLS access", default=False)
    lifetime_minutes = models.PositiveSmallIntegerField(default=DEFAULT_LIFETIME_MINUTES)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["issuer"], name="publisher_issuer")]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="publisher_name_once"),
            models.CheckConstraint(
                name="publisher_lifetime_range",
                condition=models.Q(lifetime_minutes__gte=LIFETIME_RANGE[0])
                & models.Q(lifetime_minutes__lte=LIFETIME_RANGE[1]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    def grant_json(self) -> dict[str, object]:
        """SPEC 18's `grant` object."""
        return {
            "role": self.role,
            "scopes": list(self.scopes),
            "resources": dict(self.resources),
            "record_rules": list(self.record_rules),
            "tls_access": self.tls_access,
            "lifetime_minutes": self.lifetime_minutes,
        }


class UsedIdToken(models.Model):
    """An ID token already traded: its issuer and `jti`, kept until it expires (SPEC 18).

    The unique constraint is the replay check: every app server inserts here in the
    transaction that mints, so of two exchanges of one ID token, wherever they run, one
    commits and the other finds the row (IntegrityError: refused as replayed).
    """

    issuer = models.CharField(max_length=300)
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True, help_text="Deleted after this.")
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "jti"], name="used_id_token_once"),
        ]

    def __str__(self) -> str:
        return f"{self.jti} from {self.issuer}"
