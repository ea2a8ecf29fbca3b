"""The reference project's data: accounts with zones and records, and hashed API tokens."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Account(models.Model):
    """An account: owns zones; a token acts in one account."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)


class Zone(models.Model):
    """A DNS zone of an account (the shape of Keyward's zone)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="zones")
    name = models.CharField(max_length=253)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="reference_zone_name_unique")
        ]


class Record(models.Model):
    """A DNS record of a zone (counted in the zone's JSON)."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="records")
    type = models.CharField(max_length=10)
    name = models.CharField(max_length=253, blank=True)
    content = models.CharField(max_length=1000)


class ApiToken(models.Model):
    """A bearer token stored as the SHA-256 hex digest of its secret (never the secret)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
