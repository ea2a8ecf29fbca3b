"""The networks each token was used from (SPEC 19); tokens.models imports them."""

from __future__ import annotations

from django.db import models


class TokenNetwork(models.Model):
    """A network (IPv4 /24 or IPv6 /48, as `203.0.113.0/24`) a token authenticated from.

    Written when the usage buffer is flushed (tokens.networks.services), never on the
    request path. `last_seen` is refreshed about once an hour while the token keeps
    using it; rows not seen for 90 days stop counting as known and are deleted.
    """

    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, related_name="networks")
    network = models.CharField(max_length=43)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    last_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen", "network"]
        constraints = [
            models.UniqueConstraint(fields=["token", "network"], name="token_network_once"),
        ]

    def __str__(self) -> str:
        return f"{self.network} (token {self.token_id})"
