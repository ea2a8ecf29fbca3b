"""Leak response (SPEC 12): revoke every live secret among reported strings, and tell people.

`credentials_revoke` is the one service both report endpoints call (the public
`/credentials/revoke` and GitHub's secret scanning alerts). It finds every
reported string that is a live Keyward secret (a current secret, a previous one
within its grace period, an imported legacy key) with ONE batched query over
their digests, revokes each token through `token_revoke` (`revoked_by:
leak_report`, with where it was found) and sends each person concerned one email
naming the tokens (never a secret). GitHub's alerts and their signature are
tokens.leaks.github.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
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

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """Where a reported secret was seen (both optional), as the event log and email tell it."""

    url: str = ""
    source: str = ""

    def details(self) -> dict[str, str]:
        return {key: value[:500] for key, value in (("url", self.url), ("source", self.source))}


def _candidate(value: object) -> bool:
    """A Keyward secret with a good checksum, or a string shaped like a legacy key."""
    if not isinstance(value, str):
        return False
    if value.startswith((USER_TOKEN_PREFIX, AUTOMATION_TOKEN_PREFIX)):
        return crypto.is_well_formed(value)
    return crypto.is_legacy_key_shaped(value)


def live_tokens(credentials: Sequence[object]) -> dict[int, Token]:
    """Per position in `credentials`, the token it is a live secret of (one query)."""
    now = timezone.now()
    by_digest: dict[str, int] = {}
    for position, value in enumerate(credentials):
        if _candidate(value):
            for digest in crypto.digests(value, settings.KEYWARD_TOKEN_PEPPERS):  # type: ignore[arg-type]
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


def credentials_revoke(
    *,
    credentials: Sequence[object],
    findings: Sequence[Finding] | None = None,
    reporter: str = "public leak report",
) -> list[bool]:
    """Revoke every token one of `credentials` is a live secret of; True per live one.

    `findings[i]` says where `credentials[i]` was found. Nobody learns which
    strings were live but the tokens' owners, who get one email each (the
    account's superusers for automation tokens and imported legacy keys). The event
    log names the `reporter` (the public endpoint, or GitHub secret scanning).
    """
    found = live_tokens(credentials)
    actor = Actor.system(reporter, channel=EventChannel.LEAK_REPORT)
    revoked: list[tuple[Token, Finding]] = []
    done: set[int] = set()
    for position, token in sorted(found.items()):
        finding = findings[position] if findings else Finding()
        if token.pk in done:
            continue
        done.add(token.pk)
        if token_revoke(
            actor=actor, token=token, revoked_by="leak_report", details=finding.details()
        ):
            revoked.append((token, finding))
    if revoked:
        _notify(revoked)
    return [position in found for position in range(len(credentials))]


# --------------------------------------------------------------------------- email


def _recipients(tokens: list[Token]) -> dict[int, tuple[User, list[Token]]]:
    """Each person to tell, with their tokens: owners; superusers for account-held tokens."""
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


def _notify(revoked: list[tuple[Token, Finding]]) -> None:
    where = {token.pk: finding for token, finding in revoked}
    for person, tokens in _recipients([token for token, _ in revoked]).values():
        theirs = [(token, where[token.pk]) for token in tokens]
        subject = (
            f"Keyward revoked your token “{theirs[0][0].name}”: it was leaked"
            if len(theirs) == 1
            else f"Keyward revoked {len(theirs)} of your tokens: they were leaked"
        )
        try:
            send_mail(subject, _body(person, theirs), settings.DEFAULT_FROM_EMAIL, [person.email])
        except Exception:  # the revocation stands; the email is best effort
            logger.exception("Could not email user %s about a leaked token", person.pk)
