"""The daily cleanup: tokens unused for two years (SPEC 9), automation tokens past their
account's maximum idle time (SPEC 15), and usage records older than 90 days (SPEC 13).

A token never used counts from its creation (an imported legacy key from its
import). Each deletion is a revoke by the cleanup, logged with the system as the
actor. The worker runs it daily (tokens/tasks.py); `manage.py delete_stale_tokens`
is the manual run. Safe to run twice at once: a token already revoked is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from tokens.constants import STALE_AFTER
from tokens.events import Actor
from tokens.models import Token
from tokens.policies.selectors import idle_automation_tokens
from tokens.services.revoke import token_revoke
from tokens.usage.services import usage_delete_old


def stale_tokens(now: datetime) -> QuerySet[Token]:
    """Tokens whose last use (or creation, if never used) is two years ago or more.

    An imported legacy key keeps its original creation date, but its use before
    the import is unknown: for it the clock starts at the import.
    """
    return (
        Token.objects.annotate(last_activity=Coalesce("last_used_at", "imported_at", "created_at"))
        .filter(last_activity__lte=now - STALE_AFTER)
        .select_related("user", "account")
        .order_by("last_activity", "pk")
    )


@dataclass
class Cleanup:
    """What a cleanup did."""

    deleted: list[Token] = field(default_factory=list)  # stale: unused for two years
    revoked_idle: list[Token] = field(default_factory=list)  # past Maximum idle time
    old_usage: int = 0  # usage and denial rows older than 90 days


def stale_tokens_clean(*, now: datetime) -> Cleanup:
    """Revoke stale and idle tokens (each logged as the system) and delete old usage.

    Automation tokens past their account's maximum idle time are revoked; user
    tokens past it are only blocked in that account (at request time).
    """
    actor = Actor.system("stale-token cleanup")
    done = Cleanup()
    for token in stale_tokens(now):
        if token_revoke(actor=actor, token=token, revoked_by="cleanup"):
            done.deleted.append(token)
    done.old_usage = usage_delete_old(now=now)
    for token in idle_automation_tokens(now):
        if token_revoke(actor=actor, token=token, revoked_by="max_idle"):
            done.revoked_idle.append(token)
    return done
