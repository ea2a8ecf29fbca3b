"""Import per-account legacy API keys as `global` tokens (SPEC 9).

The CSV has the header `account,key,created_at`: the account slug, the old key
string and its creation date (ISO 8601: `2019-04-02` or `2019-04-02T10:00:00+00:00`).
Each account gets a synthetic, login-less user named "Global API Token" (a
superuser member) that owns one `global`, never-expiring token per key; the old
key string keeps authenticating. Every row is checked before anything is written,
and the import runs in one transaction: a bad file imports nothing. Keys already
imported are skipped, so re-running changes nothing.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.constants import Role
from accounts.models import Account, Membership, User
from tokens import crypto
from tokens.constants import LEGACY_USER_NAME, MAX_ACTIVE_TOKENS_PER_USER
from tokens.events import Actor
from tokens.models import Token, TokenType
from tokens.policies.rules import POLICY_LABELS, Policy
from tokens.policies.selectors import token_breaks
from tokens.services.issue import token_create

HEADER = ["account", "key", "created_at"]
MAX_ERRORS_SHOWN = 50


@dataclass(frozen=True)
class LegacyKey:
    line: int
    account: Account
    key: str
    created_at: datetime


def legacy_user_email(slug: str) -> str:
    return f"global-api-token+{slug}@keyward.invalid"


def _parse_created(value: str) -> datetime:
    value = value.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"created_at {value[:40]!r} is not an ISO date (YYYY-MM-DD)") from None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def _csv_rows(path: Path) -> list[list[str]]:
    """The file's rows, header included; the header must be exactly HEADER."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError) as problem:
        raise CommandError(f"{path}: cannot read it as UTF-8 text ({problem}).") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or [cell.strip() for cell in rows[0]] != HEADER:
        raise CommandError(
            f"{path}, line 1: the header must be exactly `{','.join(HEADER)}`"
            f" (found `{','.join(rows[0]) if rows else ''}`)."
        )
    return rows


def _key_problem(key: str, seen: dict[str, int]) -> str | None:
    """Why `key` cannot be imported (shape, a Keyward token, a repeat in the file), or None."""
    if not crypto.is_legacy_key_shaped(key):
        return "the key must be 16 to 128 characters of letters, digits, '_', '.' or '-'"
    if key[:4] in ("kwu_", "kwa_"):
        return "the key is a Keyward token, not a legacy key"
    if key in seen:
        return f"the same key is already on line {seen[key]}"
    return None


def _created_at(value: str, now: datetime) -> tuple[datetime | None, str | None]:
    """The key's creation time, or why the column is wrong."""
    try:
        created_at = _parse_created(value)
    except ValueError as problem:
        return None, str(problem)
    if created_at > now:
        return created_at, "created_at is in the future"
    return created_at, None


def read_legacy_keys(path: Path) -> tuple[list[LegacyKey], list[str]]:
    """Every row parsed and checked; returns the keys and the errors (with line numbers)."""
    rows = _csv_rows(path)
    accounts = {account.slug: account for account in Account.objects.all()}
    now = timezone.now()
    keys: list[LegacyKey] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines are harmless
        if len(row) != 3:
            errors.append(
                f"line {line}: expected 3 columns (account,key,created_at), got {len(row)}."
            )
            continue
        slug, key, created = (cell.strip() for cell in row)
        account = accounts.get(slug)
        created_at, created_problem = _created_at(created, now)
        problems = [
            problem
            for problem in (
                None if account else f"unknown account {slug[:60]!r}",
                _key_problem(key, seen),
                created_problem,
            )
            if problem
        ]
        if problems:
            errors.append(f"line {line}: {'; '.join(problems)}.")
            continue
        assert account is not None and created_at is not None  # else a problem above
        seen[key] = line
        keys.append(LegacyKey(line=line, account=account, key=key, created_at=created_at))
    return keys, errors


def _existing_by_digest(keys: list[LegacyKey]) -> dict[str, Token]:
    """Tokens already holding one of the keys, by key (any configured pepper)."""
    peppers = settings.KEYWARD_TOKEN_PEPPERS
    digest_to_key = {
        crypto.digest(item.key, pepper): item.key for item in keys for pepper in peppers
    }
    found: dict[str, Token] = {}
    for token in Token.objects.filter(digest__in=list(digest_to_key)).select_related("user"):
        found[digest_to_key[token.digest]] = token
    return found


def _legacy_user(account: Account) -> User:
    """The account's synthetic "Global API Token" user, created once, a superuser member."""
    user, created = User.objects.get_or_create(
        email=legacy_user_email(account.slug),
        defaults={"name": LEGACY_USER_NAME, "is_synthetic": True},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(user=user, account=account, defaults={"role": Role.SUPERUSER})
    return user


class Command(BaseCommand):
    help = "Import legacy API keys from a CSV (header: account,key,created_at) as global tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", type=Path, help="CSV file with the header account,key,created_at"
        )

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        keys, errors = read_legacy_keys(file)
        new_keys = _not_yet_imported(keys, errors)
        errors += _limit_problems(new_keys)
        if errors:
            shown = errors[:MAX_ERRORS_SHOWN]
            more = len(errors) - len(shown)
            raise CommandError(
                f"{file}: nothing was imported, {len(errors)} problem"
                f"{'s' if len(errors) != 1 else ''}:\n  "
                + "\n  ".join(shown)
                + (f"\n  ... and {more} more." if more else "")
            )

        imported, blocked = _import(new_keys)
        skipped = len(keys) - len(new_keys)
        for slug, count in sorted(imported.items()):
            self.stdout.write(f"{slug}: imported {count} key{'s' if count != 1 else ''}")
            for label, held in sorted(blocked[slug].items()):
                self.stdout.write(
                    f"{slug}: {held} of them blocked by policy ({label}) until the "
                    "account's policy changes"
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {len(new_keys)} legacy key{'s' if len(new_keys) != 1 else ''}; "
                f"{skipped} already imported."
            )
        )


def _not_yet_imported(keys: list[LegacyKey], errors: list[str]) -> list[LegacyKey]:
    """The keys no token holds yet; a key another token holds is an error (added to `errors`)."""
    existing = _existing_by_digest(keys)
    new_keys: list[LegacyKey] = []
    for item in keys:
        token = existing.get(item.key)
        if token is None:
            new_keys.append(item)
        elif not (
            token.is_legacy
            and token.user is not None
            and token.user.email == legacy_user_email(item.account.slug)
        ):
            errors.append(
                f"line {item.line}: this key is already in use by another token "
                f"({token.display}); it cannot be imported."
            )
    return new_keys


def _limit_problems(new_keys: list[LegacyKey]) -> list[str]:
    """Accounts whose "Global API Token" user would pass the active-token limit."""
    problems = []
    per_account = Counter(item.account.pk for item in new_keys)
    slugs = {item.account.pk: item.account.slug for item in new_keys}
    for account_id, count in per_account.items():
        owner = User.objects.filter(email=legacy_user_email(slugs[account_id])).first()
        active = Token.objects.counting_towards_limit(owner).active().count() if owner else 0
        if active + count > MAX_ACTIVE_TOKENS_PER_USER:
            problems.append(
                f"account {slugs[account_id]!r}: {active + count} legacy keys would exceed "
                f"the limit of {MAX_ACTIVE_TOKENS_PER_USER} active tokens per owner."
            )
    return problems


@transaction.atomic
def _import(new_keys: list[LegacyKey]) -> tuple[dict[str, int], dict[str, Counter[str]]]:
    """Create one `global`, never-expiring token per key: how many per account slug, and how
    many of those a policy of the account blocks (imported anyway, SPEC 15), per policy."""
    imported: dict[str, int] = defaultdict(int)
    blocked: dict[str, Counter[str]] = defaultdict(Counter)
    actor = Actor.system("legacy key import")
    users: dict[int, User] = {}
    for item in new_keys:
        account = item.account
        if account.pk not in users:
            users[account.pk] = _legacy_user(account)
        created = token_create(
            actor=actor,
            token_type=TokenType.USER,
            name=f"Legacy API key …{item.key[-4:]}",
            owner=users[account.pk],
            scopes=["global"],
            expires_at=None,
            legacy_key=item.key,
        )
        token = created.token
        token.created_at, token.imported_at = item.created_at, token.created_at
        Token.objects.filter(pk=token.pk).update(
            created_at=token.created_at, imported_at=token.imported_at
        )
        imported[account.slug] += 1
        broken = token_breaks(token, Policy.of(account), now=token.imported_at)
        if broken is not None:
            blocked[account.slug][POLICY_LABELS[broken]] += 1
    return imported, blocked
