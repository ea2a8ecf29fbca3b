"""Validating a trusted publisher (SPEC 18) as it may be saved: its issuer, the values of its
conditions, and its grant.

The grant is judged by the token services' own rules (tokens.validation.clean_token_input,
and the account's policies through tokens.policies.selectors.token_refusal), as the
automation token it mints would be; on top of them one rule of its own: a grant that can
write pins `environment` or an exact `ref`, so a pull request from a fork never writes.
Each check raises TokenValidationError naming its field (`conditions.repository_id`,
`grant.scopes`, ...), as the token services do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Account
from accounts.oidc import insecure_issuer_allowed
from accounts.roles import ROLE_OPERATIONS
from tokens.models import TokenType
from tokens.permissions import AUTOMATION_ROLES, SCOPE_OPERATIONS, TLS_OPERATIONS
from tokens.policies.selectors import token_refusal
from tokens.publishers.models import DEFAULT_ISSUERS, LIFETIME_RANGE, Provider
from tokens.publishers.rules import CONDITIONS, CUSTOM_SUB
from tokens.selectors import token_reach
from tokens.validation import Problems, TokenValidationError, clean_token_input

MAX_CONDITIONS = 20
MAX_VALUE_LENGTH = 255
# Claims every ID token carries and the exchange checks itself: never a custom condition.
REGISTERED_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "azp"})


_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
_PROJECT_RE = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+$")
_WORKFLOW_RE = re.compile(
    r"^(?:[A-Za-z0-9-]+/[A-Za-z0-9._-]+/)?\.github/workflows/[^/@\s]+\.ya?ml(?:@refs/\S+)?$"
)
_CLAIM_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _plain(value: str) -> str | None:
    """What is wrong with a free-text value, or None."""
    if not value:
        return "Give a value, or leave the condition out."
    if len(value) > MAX_VALUE_LENGTH:
        return f"Keep it to {MAX_VALUE_LENGTH} characters or fewer."
    if any(unicodedata.category(char) in _INVISIBLE for char in value):
        return "It may not contain invisible control or format characters."
    return None


def _problem(check: str, value: str) -> str | None:
    """What is wrong with `value` for a condition written the `check` way, or None."""
    problem = _plain(value)
    if problem:
        return problem
    formats: dict[str, tuple[bool, str]] = {
        "repository": (bool(_REPOSITORY_RE.match(value)), "Write it as owner/name."),
        "project": (bool(_PROJECT_RE.match(value)), "Write it as group/project."),
        "id": (value.isascii() and value.isdigit() and len(value) <= 20, "A number, e.g. 74."),
        "workflow": (
            bool(_WORKFLOW_RE.match(value)),
            "A workflow file, e.g. .github/workflows/deploy.yml (or owner/repo/.github/"
            "workflows/deploy.yml for a reusable one), optionally @ and an exact ref.",
        ),
        "caller": (
            bool(_WORKFLOW_RE.match(value)) and value.startswith(".github/"),
            "A workflow file of the repository, e.g. .github/workflows/release.yml.",
        ),
        "ref": (
            value.startswith("refs/") and "**" not in value and not any(c.isspace() for c in value),
            "A full ref, e.g. refs/heads/main or refs/tags/v*.",
        ),
    }
    good, message = formats.get(check, (True, ""))
    return None if good else message


def _condition_value(raw: Any) -> str | None:
    """A condition's value as stored: text (numbers written as JSON numbers become text)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int) and raw >= 0:
        return str(raw)
    if isinstance(raw, str):
        return raw.strip()
    return None


def conditions_clean(provider: str, raw: Any) -> dict[str, str]:
    """The conditions sent, checked for `provider`: {name: value} (TokenValidationError naming
    each `conditions.<name>` otherwise). Empty values leave an optional condition out."""
    if not isinstance(raw, Mapping):
        raise TokenValidationError({"conditions": "Conditions map a condition to its value."})
    if len(raw) > MAX_CONDITIONS:
        raise TokenValidationError({"conditions": f"At most {MAX_CONDITIONS} conditions."})
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    known = {condition.name: condition for condition in CONDITIONS.get(provider, (CUSTOM_SUB,))}
    for name, value in raw.items():
        field = f"conditions.{str(name)[:64]}"
        text = _condition_value(value)
        condition = known.get(name)
        if condition is None and provider in CONDITIONS:
            errors[field] = f"Unknown condition; {provider} offers {', '.join(known)}."
        elif condition is None and (
            not _CLAIM_NAME_RE.match(str(name)) or name in REGISTERED_CLAIMS
        ):
            errors[field] = "Name a claim of the ID token other than iss, aud, exp, nbf, iat, jti."
        elif text is None:
            errors[field] = "Give the value as text (or a number, or true/false)."
        elif text:
            problem = _problem(condition.check if condition else "claim", text)
            if problem:
                errors[field] = problem
            else:
                cleaned[name] = text
    for condition in known.values():
        if (
            condition.required
            and condition.name not in cleaned
            and f"conditions.{condition.name}" not in errors
        ):
            errors[f"conditions.{condition.name}"] = f"{condition.label} is required."
    if errors:
        raise TokenValidationError(errors)
    return cleaned


# --------------------------------------------------------------------------- issuers


def issuer_clean(provider: str, issuer: str | None) -> str:
    """The issuer URL (`iss` exactly): https, no query or fragment; the provider's by default."""
    issuer = (issuer or "").strip().rstrip("/") or DEFAULT_ISSUERS.get(provider, "")
    if not issuer:
        raise TokenValidationError({"issuer": "Give the issuer URL, e.g. https://ci.example.com."})
    match = re.match(r"^(https?)://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?$", issuer)
    if match is None or len(issuer) > 300:
        raise TokenValidationError(
            {"issuer": "The issuer is a URL such as https://gitlab.example.com (no query)."}
        )
    if match.group(1) != "https" and not insecure_issuer_allowed(issuer):
        raise TokenValidationError({"issuer": "The issuer must use https."})
    return issuer


# --------------------------------------------------------------------------- the grant


def grant_writes(role: str, scopes: Sequence[str], tls_access: bool) -> list[str]:
    """The write operations a grant allows, capped by its role (TLS management adds
    certificate writes): empty for a read-only grant."""
    allowed = ROLE_OPERATIONS.get(role, frozenset()) | (TLS_OPERATIONS if tls_access else set())
    granted = set().union(*(SCOPE_OPERATIONS.get(scope, frozenset()) for scope in scopes))
    if tls_access:
        granted |= TLS_OPERATIONS
    return sorted(op for op in granted & allowed if not op.endswith(":read"))


def pins_the_run(conditions: Mapping[str, str]) -> bool:
    """An `environment`, or a `ref` without `*`: what a fork's pull request cannot claim."""
    ref = conditions.get("ref")
    return bool(conditions.get("environment")) or bool(ref and "*" not in ref)


@dataclass(frozen=True)
class PublisherInput:
    """A publisher as it may be saved: every field checked."""

    name: str
    provider: str
    issuer: str
    conditions: dict[str, str]
    role: str
    scopes: list[str]
    resources: dict[str, str | list[int]]
    record_rules: list[dict[str, object]]
    tls_access: bool
    lifetime_minutes: int


def _prefixed(error: TokenValidationError) -> TokenValidationError:
    """The token services' field names as fields of a publisher's grant."""
    return TokenValidationError(
        {
            (key if key in ("name", "__all__") else f"grant.{key}"): messages
            for key, messages in error.message_dict.items()
        },
        code=error.error_code,
    )


def _lifetime(value: Any) -> int:
    low, high = LIFETIME_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TokenValidationError(
            {"grant.lifetime_minutes": f"Minted tokens live {low} to {high} minutes."}
        )
    return value


def _role(role: Any) -> str:
    if role not in AUTOMATION_ROLES:
        raise TokenValidationError(
            {"grant.role": "The minted token's role is engineer, user or billing."}
        )
    return str(role)


def grant_clean(
    account: Account,
    *,
    name: str,
    role: str,
    scopes: Sequence[str] | None,
    resources: Mapping[str, Any] | None,
    record_rules: Sequence[Any] | None,
    tls_access: bool,
    lifetime_minutes: int,
    now: datetime | None = None,
) -> tuple[str, list[str], dict[str, str | list[int]], list[dict[str, object]]]:
    """The grant as the token services judge the automation token it mints (SPEC 3, 4, 14):
    (name, scopes, resources, record rules), or TokenValidationError. Then the account's
    policies (SPEC 15): a grant a policy forbids is refused (`policy_violation`)."""
    now = now or timezone.now()
    expires_at = now + timedelta(minutes=lifetime_minutes)
    try:
        cleaned = clean_token_input(
            token_type=TokenType.AUTOMATION,
            account=account,
            role=role,
            reach=token_reach(token_type=TokenType.AUTOMATION, account_id=account.pk),
            name=name,
            scopes=scopes,
            resources=resources,
            allowed_ips=None,
            record_rules=record_rules,
            expires_at=expires_at,
            now=now,
            tls_access=tls_access,
        )
    except TokenValidationError as error:
        raise _prefixed(error) from None
    refusal = token_refusal(account, TokenType.AUTOMATION, now, expires_at, [])
    if refusal is not None:
        field, message = refusal
        raise TokenValidationError(
            {f"grant.{field}" if field != "__all__" else "grant": message}, code="policy_violation"
        )
    stored: dict[str, str | list[int]] = {
        str(kind): "all" if ids is None else list(ids) for kind, ids in cleaned.resources.items()
    }
    return cleaned.name, cleaned.scopes, stored, cleaned.record_rules


def publisher_input_clean(
    account: Account,
    *,
    name: str,
    provider: str,
    issuer: str | None,
    conditions: Any,
    grant: Mapping[str, Any],
) -> PublisherInput:
    """Every field of a publisher checked at once (one TokenValidationError naming each)."""
    problems = Problems()
    if provider not in Provider.values:
        problems.add(TokenValidationError({"provider": "Choose github, gitlab or custom."}))
        problems.raise_any()
    cleaned_issuer = problems.check(issuer_clean, provider, issuer)
    cleaned_conditions = problems.check(conditions_clean, provider, conditions)
    role = problems.check(_role, grant.get("role", "engineer"))
    lifetime = problems.check(_lifetime, grant.get("lifetime_minutes", 15))
    tls_access = bool(grant.get("tls_access", False))
    cleaned_grant = None
    if role is not None and lifetime is not None:
        cleaned_grant = problems.check(
            grant_clean,
            account,
            name=name,
            role=role,
            scopes=grant.get("scopes"),
            resources=grant.get("resources"),
            record_rules=grant.get("record_rules"),
            tls_access=tls_access,
            lifetime_minutes=lifetime,
        )
    problems.raise_any()
    assert cleaned_issuer is not None and cleaned_conditions is not None  # else raised
    assert role is not None and lifetime is not None and cleaned_grant is not None
    clean_name, scopes, resources, rules = cleaned_grant
    writes = grant_writes(role, scopes, tls_access)
    if writes and provider in CONDITIONS and not pins_the_run(cleaned_conditions):
        raise TokenValidationError(
            {
                "conditions.environment": (
                    f"This grant can write ({', '.join(writes[:3])}"
                    f"{', …' if len(writes) > 3 else ''}): pin an environment or an exact ref "
                    "(no *), so that a pull request from a fork can never write."
                )
            }
        )
    return PublisherInput(
        name=clean_name,
        provider=provider,
        issuer=cleaned_issuer,
        conditions=cleaned_conditions,
        role=role,
        scopes=scopes,
        resources=resources,
        record_rules=rules,
        tls_access=tls_access,
        lifetime_minutes=lifetime,
    )
