"""A new secret's one reveal, not yet shown (tokens.reveal.services).

Part of the tokens app: tokens/models.py imports this module so Django registers it.
"""

from __future__ import annotations

from django.db import models


class PendingReveal(models.Model):
    """A new secret's one reveal, not yet shown.

    The secret is not here: it rides in the encrypted reveal cookie, which names
    this row. Showing the secret deletes the row (one conditional DELETE), so a
    reload, a second tab or a replayed cookie finds nothing to show.
    """

    id = models.CharField(primary_key=True, max_length=32)
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"reveal {self.created_at:%Y-%m-%d %H:%M}"
