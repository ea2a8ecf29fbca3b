"""Leak response (SPEC 12): revoke every live secret among reported strings, and tell people.

Both report endpoints (the public `/credentials/revoke` and GitHub's secret scanning
alerts) call `credentials_revoke_later`, which queues the reported strings' digests
(never the strings): a worker then finds every one that is a live Keyward secret (a
current secret, a previous one within its grace period, an imported legacy key) with ONE
batched query, revokes each token through `token_revoke` (`revoked_by: leak_report`,
with where it was found) and queues for each person concerned one email naming the
tokens (never a secret). The request's work is the same for live and unknown strings,
so its time tells nothing. GitHub's alerts and their signature are tokens.leaks.github.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from accounts.roles import MANAGING_ROLES
from tokens import crypto
from tokens.constants import AUTOMATION_TOKEN_PREFIX, USER_TOKEN_PREFIX
from tokens.events import Actor, EventChannel
from tokens.models import Token
from tokens.services.revoke import token_revoke
from tokens.tasks import email_after_commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """Where a reported secret was seen (both optional), as the event log and email tell it."""

    url: str = ""
    source: str = ""

    def details(self) -> dict[str, str]:
        return {key: value[:500] for key, value in (("url", self.url), ("source", self.source))}


def _candidate(value: object) -> TypeGuard[str]:
    """A Keyward secret with a good checksum, or a string shaped like a legacy key."""
    if not isinstance(value, str):
        return False
    if value.startswith((USER_TOKEN_PREFIX, AUTOMATION_TOKEN_PREFIX)):
        return crypto.is_well_formed(value)
    return crypto.is_legacy_key_shaped(value)


def credential_digests(credentials: Sequence[object]) -> list[list[str]]:
    """Per position, the digests a candidate secret would be stored under (one per pepper);
    none for a string that cannot be a Keyward secret. Digests, never secrets, may be queued."""
    return [
        crypto.digests(value, settings.KEYWARD_TOKEN_PEPPERS) if _candidate(value) else []
        for value in credentials
    ]


def _live_by_digests(per_position: Sequence[Sequence[str]]) -> dict[int, Token]:
    """Per position, the token whose live secret has one of its digests (one query)."""
    now = timezone.now()
    by_digest: dict[str, int] = {}
    for position, digests in enumerate(per_position):
        for digest in digests:
            by_digest.setdefault(digest, position)
    if not by_digest:
        return {}
    digests = list(by_digest)
    found: dict[int, Token] = {}
    rows = Token.objects.filter(Q(digest__in=digests) | Q(previous_digest__in=digests))
    for token in rows.select_related("user", "account"):
        if token.is_expired(now):
            continue
        if token.digest in by_digest:
            found[by_digest[token.digest]] = token
        if token.previous_digest in by_digest and token.previous_secret_works(now):
            found[by_digest[token.previous_digest]] = token
    return found


def live_tokens(credentials: Sequence[object]) -> dict[int, Token]:
    """Per position in `credentials`, the token it is a live secret of (one query)."""
    return _live_by_digests(credential_digests(credentials))


def credentials_revoke_later(
    *,
    credentials: Sequence[object],
    findings: Sequence[Finding] | None = None,
    reporter: str = "public leak report",
) -> None:
    """What a report endpoint does in the request: queue the revocation (SPEC 12, 19).

    The request does the same work whichever strings are live (their digests, one
    task queued) and a worker revokes within seconds (`leaked_digests_revoke`): the
    answer's time does not tell an attacker which strings were live. If the queue
    cannot be reached, the revocation is done here: a leaked token dies first.
    """
    findings = findings or [Finding()] * len(credentials)
    items = [
        (digests, finding.url, finding.source)
        for digests, finding in zip(credential_digests(credentials), findings, strict=True)
        if digests
    ]
    if not items:
        return
    from tokens.tasks import leak_revoke_task

    try:
        leak_revoke_task(items, reporter)
    except Exception:
        logger.exception("Could not queue a leak report; revoking in the request")
        leaked_digests_revoke(items=items, reporter=reporter)


def leaked_digests_revoke(*, items: Sequence[Sequence[Any]], reporter: str) -> int:
    """The worker's part of a report: `items` are (digests, url, source) as queued by
    `credentials_revoke_later`. How many tokens were revoked."""
    per_position = [list(digests) for digests, _, _ in items]
    findings = [Finding(url=str(url), source=str(source)) for _, url, source in items]
    return sum(_revoke(_live_by_digests(per_position), findings, reporter))


def credentials_revoke(
    *,
    credentials: Sequence[object],
    findings: Sequence[Finding] | None = None,
    reporter: str = "public leak report",
) -> list[bool]:
    """Revoke every token one of `credentials` is a live secret of now; True per live one."""
    found = live_tokens(credentials)
    _revoke(found, findings, reporter)
    return [position in found for position in range(len(credentials))]


def _revoke(
    found: dict[int, Token], findings: Sequence[Finding] | None, reporter: str
) -> list[bool]:
    """Revoke the tokens found (position -> token) and tell their people; True per revocation.

    `findings[i]` says where the secret at position i was found. Nobody learns which
    strings were live but the tokens' owners, who get one email each (the account's
    superusers for automation tokens and imported legacy keys), from the queue. The
    event log names the `reporter` (the public endpoint, or GitHub secret scanning).
    """
    actor = Actor.system(reporter, channel=EventChannel.LEAK_REPORT)
    where: dict[int, Finding] = {}
    for position, token in sorted(found.items()):
        where.setdefault(token.pk, findings[position] if findings else Finding())
    tokens = {token.pk: token for token in found.values()}
    # Whom to tell is read before the revocations delete the rows it is read through.
    people = token_recipients(list(tokens.values())) if tokens else {}
    revoked = {
        pk
        for pk, token in tokens.items()
        if token_revoke(
            actor=actor, token=token, revoked_by="leak_report", details=where[pk].details()
        )
    }
    for person, theirs in people.values():
        told = [(token, where[token.pk]) for token in theirs if token.pk in revoked]
        if told:
            email_after_commit(to=person.email, subject=_subject(told), body=_body(person, told))
    return [token.pk in revoked for token in tokens.values()]


# --------------------------------------------------------------------------- email


def token_recipients(tokens: list[Token]) -> dict[int, tuple[User, list[Token]]]:
    """Each person to tell about these tokens, by id, with theirs: a user token's owner;
    an automation token's (or an imported legacy key's) account superusers."""
    synthetic = {t.user.pk for t in tokens if t.user is not None and t.user.is_synthetic}
    managers = Membership.objects.filter(role__in=MANAGING_ROLES, user__is_active=True).filter(
        Q(account_id__in={t.account_id for t in tokens if t.account_id})
        | Q(account__memberships__user_id__in=synthetic)
    )
    by_account: dict[int, list[User]] = {}
    for membership in managers.select_related("user").distinct():
        by_account.setdefault(membership.account_id, []).append(membership.user)
    synthetic_accounts: dict[int, set[int]] = {}
    for user_id, account_id in Membership.objects.filter(user_id__in=synthetic).values_list(
        "user_id", "account_id"
    ):
        synthetic_accounts.setdefault(user_id, set()).add(account_id)

    people: dict[int, tuple[User, list[Token]]] = {}
    for token in tokens:
        if token.user is not None and not token.user.is_synthetic:
            candidates = [token.user]
        else:
            if token.account_id:
                accounts = {token.account_id}
            else:
                assert token.user_id is not None  # not an account's token: a user token
                accounts = synthetic_accounts.get(token.user_id, set())
            candidates = [user for pk in accounts for user in by_account.get(pk, [])]
        for person in candidates:
            if person.is_active and not person.is_synthetic:
                people.setdefault(person.pk, (person, []))[1].append(token)
    return people


def _body(person: User, tokens: list[tuple[Token, Finding]]) -> str:
    lines = [f"Hello {person.get_short_name()},", ""]
    lines.append(
        "A secret of these Keyward API tokens was reported as leaked, so Keyward revoked "
        "them. They no longer work:"
    )
    lines.append("")
    for token, finding in tokens:
        kind = f"automation token of {token.account.name}" if token.account else "API token"
        lines.append(f"- {token.name} ({token.display}), {kind}")
        lines.append(f"  found at: {finding.url or 'not given'}")
        if finding.source:
            lines.append(f"  reported from: {finding.source}")
    lines.append("")
    lines += [
        "What to do next: create a replacement token with the permissions the integration "
        "needs, put it in the integration's secret store (never in code), and check the "
        "event log for anything the token did that you do not recognise.",
        "",
        f"Create a replacement: {settings.KEYWARD_SITE_URL}{reverse('tokens:new')}",
        "",
        "— Keyward",
    ]
    return "\n".join(lines)


def _subject(tokens: list[tuple[Token, Finding]]) -> str:
    if len(tokens) == 1:
        return f"Keyward revoked your token “{tokens[0][0].name}”: it was leaked"
    return f"Keyward revoked {len(tokens)} of your tokens: they were leaked"
