"""Expiry notices: email people about tokens that expire soon, 7 days and 1 day before (SPEC 9).

A user token's notice goes to its owner; an automation token's to the
superusers of its account. Each person gets one email listing all their
tokens. `Token.expiry_notice_days` remembers the last notice sent, so each
notice goes out once however often this runs (hourly from the worker,
tokens/tasks.py; by hand with `manage.py send_expiry_notices`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse

from accounts.dates import when_text
from accounts.models import Membership, User
from accounts.roles import MANAGING_ROLES
from tokens.models import Token, TokenType
from tokens.webhooks.constants import WebhookEventType
from tokens.webhooks.emit import token_webhook_json, webhook_emit

NOTICE_DAYS = (7, 1)


def notice_due(token: Token, now: datetime) -> int | None:
    """The notice (days before expiry) this token should get now, or None."""
    if token.expires_at is None or token.is_expired(now):  # never expires, or has expired
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
        assert token.expires_at is not None  # only expiring tokens get a notice
        where = (
            f"automation token of {token.account.name}"
            if token.type == TokenType.AUTOMATION and token.account is not None
            else "your personal token"
        )
        lines.append(
            f"- {token.name} ({token.display}), {where}: expires "
            f"{when_text(token.expires_at)} UTC ({_when(token, now)})"
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
    candidates = (
        Token.objects.active(now)
        .filter(expires_at__lte=now + timedelta(days=max(NOTICE_DAYS)))
        .filter(Q(expiry_notice_days__isnull=True) | Q(expiry_notice_days__gt=min(NOTICE_DAYS)))
    )
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


@dataclass(frozen=True)
class ExpiryNotice:
    """One email to write: a person and the tokens of theirs that expire soon."""

    person: User
    tokens: list[Token]

    @property
    def subject(self) -> str:
        count = len(self.tokens)
        if count == 1:
            return f"Your Keyward token “{self.tokens[0].name}” expires soon"
        return f"{count} of your Keyward tokens expire soon"


@dataclass
class ExpiryNoticesSent:
    """What a run did: the emails sent, those that failed (tried again next run)."""

    sent: list[ExpiryNotice] = field(default_factory=list)
    failed: list[tuple[ExpiryNotice, str]] = field(default_factory=list)
    recorded: int = 0  # token notices remembered as sent


def expiry_notices_due(now: datetime) -> tuple[list[ExpiryNotice], dict[int, int]]:
    """The emails due now, and per token id the notice (days before expiry) each carries."""
    tokens, due = _tokens_due(now)
    notices = [ExpiryNotice(person, theirs) for person, theirs in _recipients(tokens).values()]
    return notices, due


def expiry_notices_send(*, now: datetime) -> ExpiryNoticesSent:
    """Send the notices due now and remember them; a token whose email failed stays due."""
    notices, due = expiry_notices_due(now)
    result = ExpiryNoticesSent()
    failed: set[int] = set()
    for notice in notices:
        try:
            send_mail(
                notice.subject,
                _body(notice.person, notice.tokens, now),
                settings.DEFAULT_FROM_EMAIL,
                [notice.person.email],
            )
        except Exception as problem:
            result.failed.append((notice, str(problem)))
            failed.update(token.pk for token in notice.tokens)
            continue
        result.sent.append(notice)

    # Remember what was sent; tokens whose email failed are tried again next run.
    for days in NOTICE_DAYS:
        ids = [pk for pk, value in due.items() if value == days and pk not in failed]
        Token.objects.filter(pk__in=ids).update(expiry_notice_days=days)
    _emit_expiring([token for notice in result.sent for token in notice.tokens], due, now)
    result.recorded = len(due) - len(failed & set(due))
    return result


def _emit_expiring(tokens: list[Token], due: dict[int, int], now: datetime) -> None:
    """`token.expiring` to the webhooks of the accounts whose tokens were noticed (SPEC 19)."""
    emitted: set[int] = set()
    for token in tokens:
        if token.account is None or token.pk in emitted:
            continue  # a user token's notice is its owner's alone, as its events are
        emitted.add(token.pk)
        webhook_emit(
            token.account,
            WebhookEventType.TOKEN_EXPIRING,
            {
                "token": token_webhook_json(token),
                "days_before_expiry": due[token.pk],
                "expires_at": token.expires_at,
            },
            at=now,
        )
