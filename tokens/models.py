"""Tokens and the event log (and, imported here, the models of the features)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.constants import Role
from accounts.models import Account, User
from tokens.kinds import BY_KIND, KINDS, Kind
from tokens.permissions import AUTOMATION_ROLES


class TokenType(models.TextChoices):
    USER = "user", "User token"
    AUTOMATION = "automation", "Automation token"


class TokenQuerySet(models.QuerySet["Token"]):
    def active(self, now: datetime | None = None) -> TokenQuerySet:
        """Not expired (deleted tokens are gone from the table)."""
        now = now or timezone.now()
        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))

    def expired(self, now: datetime | None = None) -> TokenQuerySet:
        return self.filter(expires_at__lte=now or timezone.now())

    def counting_towards_limit(self, user: User | int) -> TokenQuerySet:
        """Tokens the per-person limit counts (SPEC 9): those `user` owns or created.

        Automation tokens count towards their creator. Chain `.active(now)`:
        expired tokens do not count (and deleted ones are gone).
        """
        return self.filter(
            models.Q(user=user) | models.Q(created_by=user, type=TokenType.AUTOMATION)
        )


class Token(models.Model):
    """An API access token: a user token (owned by a person) or an automation token.

    The secret itself is never stored: `digest` is HMAC-SHA256(pepper, secret) and
    `display` a hint such as `kwu_…x7Qa`. Resource access is per kind: the
    `all_<kind>` flag, or else the selected rows in the matching many-to-many
    (deleting a zone removes it from every selection, never widening a token).
    Revoking a token deletes its row; the event log keeps what it was.
    """

    type = models.CharField(max_length=10, choices=TokenType.choices)
    name = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # a user with tokens cannot be deleted (SPEC 3)
        verbose_name="owner",
        null=True,
        blank=True,
        related_name="tokens",
        help_text="Owner of a user token.",
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="automation_tokens",
        help_text="The one account an automation token acts in.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_tokens",
    )
    role = models.CharField(
        max_length=20, blank=True, choices=Role.choices, help_text="Automation tokens only."
    )
    scopes = models.JSONField(default=list)
    # Per resource kind, `all_<kind>` and its selection: added below, from tokens.kinds.
    tls_access = models.BooleanField(
        "TLS access",
        default=False,
        help_text="Automation tokens: may renew every certificate of the account.",
    )
    allowed_ips = models.JSONField(
        "IP allow-list", default=list, blank=True, help_text="CIDRs; empty: any IP."
    )
    record_rules = models.JSONField(
        "DNS record rules",
        default=list,
        blank=True,
        help_text='DNS records it may touch: [{"name": PATTERN, "types": [...]}]; empty: all.',
    )
    digest = models.CharField(max_length=64, unique=True)
    display = models.CharField("hint", max_length=24)
    # Rolling the secret (SPEC 11): the secret it replaced keeps working until
    # previous_secret_expires_at; at most one previous secret per token.
    previous_digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(
        "previous secret works until", null=True, blank=True
    )
    previous_secret_last_used_at = models.DateTimeField(
        "previous secret last used", null=True, blank=True
    )
    is_legacy = models.BooleanField(
        "legacy key", default=False, help_text="Imported legacy API key."
    )
    imported_at = models.DateTimeField(
        "imported",
        null=True,
        blank=True,
        help_text="Legacy keys: when they were imported (the stale-token clock starts here).",
    )
    created_at = models.DateTimeField("created", default=timezone.now)
    expires_at = models.DateTimeField(
        "expires", null=True, blank=True, help_text="Empty: never expires."
    )
    last_used_at = models.DateTimeField("last used", null=True, blank=True)
    last_used_ip = models.GenericIPAddressField("last used from (IP)", null=True, blank=True)
    last_used_user_agent = models.CharField("last user agent", max_length=300, blank=True)
    expiry_notice_days = models.PositiveSmallIntegerField(
        "expiry notice sent",
        null=True,
        blank=True,
        help_text="Latest expiry notice sent, in days before expiry (7 or 1).",
    )
    # Trusted publishers (SPEC 18): the publisher that minted it, and the run its ID token
    # described (repository or project, workflow, ref, environment, run id, sha), which the
    # event log adds to the token's API writes. Null for every token not minted.
    minted_by = models.ForeignKey(
        "tokens.Publisher",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="minted_tokens",
        help_text="The trusted publisher that minted it.",
    )
    minted_run = models.JSONField(
        "minted for the run",
        null=True,
        blank=True,
        help_text="What the CI job's ID token said about its run.",
    )

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "expires_at"], name="token_user_expiry"),
            models.Index(fields=["account", "expires_at"], name="token_account_expiry"),
            models.Index(fields=["created_by", "expires_at"], name="token_creator_expiry"),
            models.Index(fields=["last_used_at"], name="token_last_used"),
        ]
        constraints = [
            models.CheckConstraint(
                name="token_type_shape",
                condition=(
                    models.Q(
                        type=TokenType.USER,
                        user__isnull=False,
                        account__isnull=True,
                        role="",
                        tls_access=False,
                    )
                    | models.Q(
                        type=TokenType.AUTOMATION,
                        account__isnull=False,
                        role__in=list(AUTOMATION_ROLES),
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.display})"

    def previous_secret_works(self, now: datetime | None = None) -> bool:
        """A rolled-away secret still in its grace period."""
        expires = self.previous_secret_expires_at
        return (
            self.previous_digest is not None
            and expires is not None
            and (expires > (now or timezone.now()))
        )

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_automation(self) -> bool:
        return self.type == TokenType.AUTOMATION

    def has_all(self, kind: Kind) -> bool:
        return getattr(self, BY_KIND[kind].all_field)

    def selected_ids(self, kind: Kind) -> list[int]:
        """Ids selected for `kind` (uses prefetched rows when present)."""
        return sorted(obj.pk for obj in getattr(self, BY_KIND[kind].selection_field).all())

    def resources_json(self) -> dict[str, str | list[int]]:
        """SPEC 7: per kind "all" or the list of selected ids."""
        return {
            str(kind): "all" if self.has_all(kind) else self.selected_ids(kind) for kind in Kind
        }


# A token's resources, per kind (tokens.kinds): the flag `all_<kind>` ("every resource
# of this kind"), else the rows selected in the kind's many-to-many. Deleting a zone
# removes it from every selection, never widening a token.
for _entry in KINDS:
    Token.add_to_class(_entry.all_field, models.BooleanField(default=True))
    Token.add_to_class(
        _entry.selection_field, models.ManyToManyField(_entry.model, blank=True, related_name="+")
    )


class EventKind(models.TextChoices):
    TOKEN_CREATED = "token.created", "Token created"
    TOKEN_UPDATED = "token.updated", "Token permissions changed"
    TOKEN_REVOKED = "token.revoked", "Token revoked"
    TOKEN_REMOVED = "token.removed_from_account", "Token removed from the account"
    TOKEN_ROLLED = "token.rolled", "Token secret rolled"
    TOKEN_MINTED = "token.minted", "Token minted by a trusted publisher"
    API_WRITE = "api.write", "API write"
    SUDO = "auth.sudo", "Sudo mode entered"
    SIGN_IN = "auth.sign_in", "Signed in"
    FACTOR_ADDED = "auth.factor_added", "Second factor added"
    FACTOR_REMOVED = "auth.factor_removed", "Second factor removed"
    RECOVERY_CODES_REGENERATED = "auth.recovery_codes_regenerated", "Recovery codes generated"
    RECOVERY_CODE_USED = "auth.recovery_code_used", "Recovery code used"
    ROLE_CHANGED = "member.role_changed", "Role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    POLICIES_CHANGED = "account.policies_changed", "Token policies changed"
    TOKEN_NEW_NETWORK = "token.new_network", "Token used from a new network"
    WEBHOOK_CREATED = "webhook.created", "Webhook endpoint added"
    WEBHOOK_UPDATED = "webhook.updated", "Webhook endpoint changed"
    WEBHOOK_SECRET_ROLLED = "webhook.secret_rolled", "Webhook signing secret rolled"
    WEBHOOK_DELETED = "webhook.deleted", "Webhook endpoint deleted"
    WEBHOOK_DISABLED = "webhook.disabled", "Webhook endpoint switched off (failing)"
    PUBLISHER_CREATED = "publisher.created", "Trusted publisher added"
    PUBLISHER_UPDATED = "publisher.updated", "Trusted publisher changed"
    PUBLISHER_DELETED = "publisher.deleted", "Trusted publisher deleted"
    SSO_CHANGED = "account.sso_changed", "Single sign-on changed"
    TOKEN_SSO_AUTHORIZED = "token.sso_authorized", "Token authorized for single sign-on"


# Sign-in, sudo and second factors belong to a person, not an account (SPEC 9, 16): only
# that person (their profile) and support staff (the admin) see them, never an account's log.
PERSONAL_EVENT_KINDS: tuple[str, ...] = (
    EventKind.SIGN_IN,
    EventKind.SUDO,
    EventKind.FACTOR_ADDED,
    EventKind.FACTOR_REMOVED,
    EventKind.RECOVERY_CODES_REGENERATED,
    EventKind.RECOVERY_CODE_USED,
)


class ActorKind(models.TextChoices):
    USER = "user", "User"
    TOKEN = "token", "Token"
    SUPPORT = "support", "Support staff"
    SYSTEM = "system", "System"


class EventChannel(models.TextChoices):
    """Where an event came from, as the event log says it after who acted (SPEC 9).

    Recorded on every event by tokens.events.Actor; events written before it was
    recorded keep "" where the way in cannot be known (see migration 0010).
    """

    PANEL = "panel", "in the panel"
    API_PASSWORD = "api_password", "API, password"
    API_TOKEN = "api_token", "API token"
    ADMIN = "admin", "support, admin"
    COMMAND = "command", "command"
    LEAK_REPORT = "leak_report", "API, leak report"
    TRUSTED_PUBLISHER = "publisher", "API, trusted publisher"


# The event log reads one account's events, or the personal events (those with no
# account: user tokens, sign-ins, sudo), newest first on (created_at, id), narrowed by at
# most one of these columns. Each pair of indexes below makes every such read an ordered
# range scan that stops after one page, whatever the size of the log (see
# tokens.selectors.events_visible_to). Personal indexes are partial: other rows skip them.
LOG_FILTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "time": (),
    "kind": ("kind",),
    "actor": ("actor_user",),
    "owner": ("token_owner",),
    "actor_type": ("actor_token_type",),
    "actor_kind": ("actor_kind",),
}


class Event(models.Model):
    """One entry of the event log. Never holds a secret.

    The target token is kept as id and snapshot (name, display hint, type,
    owner) because revoking deletes the token row; an event without a target done
    by a token (an API write) keeps the acting token there, so the log's Token
    column and token filter name it. `details` carries what
    changed, e.g. {"before": {...}, "after": {...}} for permission changes.
    """

    kind = models.CharField(max_length=40, choices=EventKind.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    account = models.ForeignKey(
        Account,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,  # event_acct_time leads with it
    )
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events_as_actor",
        help_text="The person acting, or the owner of the acting user token.",
    )
    actor_token_id = models.BigIntegerField(null=True, blank=True)
    actor_token_type = models.CharField(max_length=10, blank=True, choices=TokenType.choices)
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who, for humans.")
    channel = models.CharField(
        max_length=12,
        choices=EventChannel.choices,
        blank=True,
        help_text="How the actor came in: panel, API (password or token), admin, command.",
    )
    token_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    token_name = models.CharField(max_length=100, blank=True)
    token_display = models.CharField(max_length=24, blank=True)
    token_type = models.CharField(max_length=10, blank=True, choices=TokenType.choices)
    token_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events_about_tokens",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            *[
                models.Index(
                    fields=["account", *column, "created_at", "id"], name=f"event_acct_{name}"
                )
                for name, column in LOG_FILTER_COLUMNS.items()
            ],
            *[
                models.Index(
                    fields=[*column, "created_at", "id"],
                    name=f"event_personal_{name}",
                    condition=models.Q(account__isnull=True),
                )
                for name, column in LOG_FILTER_COLUMNS.items()
            ],
        ]

    def __str__(self) -> str:
        return self.summary


# Features keep their models in their package; they build on the models above, and
# importing them here registers them with the app (and its migrations). Import them
# from their package, not from here.
from tokens.networks.models import TokenNetwork  # noqa: E402, F401
from tokens.publishers.models import Publisher, UsedIdToken  # noqa: E402, F401
from tokens.removals.models import TokenRemoval  # noqa: E402, F401
from tokens.reveal.models import PendingReveal  # noqa: E402, F401
from tokens.sso.models import TokenSsoAuthorization  # noqa: E402, F401
from tokens.tombstones.models import RevokedToken, RevokedTokenEvent  # noqa: E402, F401
from tokens.usage.models import TokenDenial, TokenUsage  # noqa: E402, F401
from tokens.webhooks.models import (  # noqa: E402, F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
