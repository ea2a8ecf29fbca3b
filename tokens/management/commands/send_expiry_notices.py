"""Email people about tokens that expire soon: 7 days and 1 day before (SPEC 9).

A user token's notice goes to its owner; an automation token's to the
superusers of its account. Each person gets one email listing all their
tokens. `Token.expiry_notice_days` remembers the last notice sent, so each
notice goes out once however often the command runs (hourly from cron is fine).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from accounts.roles import MANAGING_ROLES
from tokens.models import Token, TokenType

NOTICE_DAYS = (7, 1)


def notice_due(token: Token, now: datetime) -> int | None:
    """The notice (days before expiry) this token should get now, or None."""
    if token.expires_at is None or token.expires_at <= now:
        return None
    for days in sorted(NOTICE_DAYS):
        if token.expires_at <= now + timedelta(days=days):
            sent = token.expiry_notice_days
            return days if sent is None or sent > days else None
    return None


def _when(token: Token, now: datetime) -> str:
    assert token.expires_at is not None  # only tokens with a notice due come here
    hours = (token.expires_at - now).total_seconds() / 3600
    if hours <= 24:
        return "within a day"
    return f"in {round(hours / 24)} days"


def _token_page(token: Token) -> str:
    """Where the token's row is, with Roll secret and Edit on it."""
    if token.type == TokenType.AUTOMATION:
        assert token.account is not None  # an automation token
        path = reverse("tokens:account-list", args=[token.account.slug])
    else:
        path = reverse("tokens:list")
    return f"{settings.KEYWARD_SITE_URL}{path}#token-{token.pk}"


def _body(person: User, tokens: list[Token], now: datetime) -> str:
    lines = [
        f"Hello {person.get_short_name()},",
        "",
        "These Keyward API tokens expire soon. Integrations that use them will stop "
        "working when they do:",
        "",
    ]
    for token in tokens:
        where = (
            f"automation token of {token.account.name}"
            if token.type == TokenType.AUTOMATION and token.account is not None
            else "your personal token"
        )
        lines.append(
            f"- {token.name} ({token.display}), {where}: expires "
            f"{token.expires_at:%Y-%m-%d %H:%M} UTC ({_when(token, now)})"
        )
        lines.append(f"  manage it: {_token_page(token)}")
    lines += [
        "",
        "To keep an integration working, open the token's page (above): roll its secret or "
        "create a replacement, switch the integration to the new secret, then delete the "
        "old token.",
        "",
        "— Keyward",
    ]
    return "\n".join(lines)


def _tokens_due(now: datetime) -> tuple[list[Token], dict[int, int]]:
    """Tokens that should get a notice now, soonest first, and the notice each is due."""
    candidates = Token.objects.filter(
        expires_at__gt=now, expires_at__lte=now + timedelta(days=max(NOTICE_DAYS))
    ).filter(Q(expiry_notice_days__isnull=True) | Q(expiry_notice_days__gt=min(NOTICE_DAYS)))
    due: dict[int, int] = {}
    tokens: list[Token] = []
    for token in candidates.select_related("user", "account").order_by("expires_at", "pk"):
        days = notice_due(token, now)
        if days is not None:
            due[token.pk] = days
            tokens.append(token)
    return tokens, due


def _recipients(tokens: list[Token]) -> dict[int, tuple[User, list[Token]]]:
    """Per person (by id), whom to email about which tokens: owners, or the account's managers."""
    managers: dict[int | None, list[User]] = defaultdict(list)
    account_ids = {token.account_id for token in tokens if token.account_id}
    for membership in Membership.objects.filter(
        account_id__in=account_ids, role__in=MANAGING_ROLES, user__is_active=True
    ).select_related("user"):
        managers[membership.account_id].append(membership.user)

    per_person: dict[int, tuple[User, list[Token]]] = {}
    for token in tokens:
        people = [token.user] if token.user else managers.get(token.account_id, [])
        for person in people:
            if not person.is_active or person.is_synthetic:
                continue
            per_person.setdefault(person.pk, (person, []))[1].append(token)
    return per_person


class Command(BaseCommand):
    help = "Email owners (and superusers, for automation tokens) 7 days and 1 day before expiry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Say who would be emailed; send nothing."
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        now = timezone.now()
        tokens, due = _tokens_due(now)
        per_person = _recipients(tokens)

        failed: set[int] = set()
        for person, their_tokens in per_person.values():
            count = len(their_tokens)
            subject = (
                f"Your Keyward token “{their_tokens[0].name}” expires soon"
                if count == 1
                else f"{count} of your Keyward tokens expire soon"
            )
            if dry_run:
                self.stdout.write(f"would email {person.email}: {subject}")
                continue
            try:
                send_mail(
                    subject,
                    _body(person, their_tokens, now),
                    settings.DEFAULT_FROM_EMAIL,
                    [person.email],
                )
            except Exception as problem:
                self.stderr.write(f"could not email {person.email}: {problem}")
                failed.update(token.pk for token in their_tokens)
                continue
            self.stdout.write(f"emailed {person.email}: {count} token{'s' if count != 1 else ''}")

        if dry_run:
            return
        # Remember what was sent; tokens whose email failed are tried again next run.
        for days in NOTICE_DAYS:
            ids = [pk for pk, value in due.items() if value == days and pk not in failed]
            Token.objects.filter(pk__in=ids).update(expiry_notice_days=days)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(due) - len(failed & set(due))} token notice(s) sent to "
                f"{len(per_person)} person(s)."
            )
        )
