"""Trusted publishers' rules (SPEC 18): the conditions of each provider, matching an ID token's
claims against them (one result per condition: the exchange and the tester read the same),
and the publisher as it may be saved: its issuer, its conditions and its grant.

The grant is judged by the token services' own rules (tokens.validation.clean_token_input,
the account's policies through tokens.policies.token_refusal), as the automation token it
mints would be; on top of them one rule of its own: a grant that can write pins
`environment` or an exact `ref`, so a pull request from a fork never writes.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import Account
from accounts.roles import ROLE_OPERATIONS
from tokens.models import TokenType
from tokens.permissions import AUTOMATION_ROLES, SCOPE_OPERATIONS, TLS_OPERATIONS, Kind
from tokens.policies.selectors import token_refusal
from tokens.publishers.models import DEFAULT_ISSUERS, LIFETIME_RANGE, Provider
from tokens.selectors import token_reach
from tokens.validation import Problems, TokenValidationError, clean_token_input

MAX_CONDITIONS = 20
MAX_VALUE_LENGTH = 255
# Claims every ID token carries and the exchange checks itself: never a custom condition.
REGISTERED_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "azp"})


# --------------------------------------------------------------------------- conditions


def _text(value: Any) -> str | None:
    """A claim as text, as conditions hold it (ids are strings in GitHub's and GitLab's tokens)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    return None


@functools.lru_cache(maxsize=256)
def _pattern(expected: str) -> re.Pattern[str]:
    """`*` stands for one or more characters (as in DNS record rules); the rest is literal."""
    return re.compile(".+".join(re.escape(part) for part in expected.split("*")), re.DOTALL)


def _workflow_held(expected: str, actual: str, conditions: Mapping[str, str]) -> bool:
    """A workflow condition against a `*workflow_ref` claim (`owner/repo/path@ref`).

    `.github/workflows/x.yml` is a file of the publisher's repository; `org/repo/.github/...`
    a reusable workflow of another repository. An `@ref` in the condition must match exactly.
    """
    path, _, ref = expected.partition("@")
    if path.startswith(".github/"):
        path = f"{conditions.get('repository', '')}/{path}"
    actual_path, _, actual_ref = actual.rpartition("@")
    return actual_path.casefold() == path.casefold() and (not ref or actual_ref == ref)


_Held = Callable[[str, str, Mapping[str, str]], bool]


def _exact(expected: str, actual: str, conditions: Mapping[str, str]) -> bool:
    return actual == expected


def _any_case(expected: str, actual: str, conditions: Mapping[str, str]) -> bool:
    return actual.casefold() == expected.casefold()


def _ref(expected: str, actual: str, conditions: Mapping[str, str]) -> bool:
    return bool(_pattern(expected).fullmatch(actual)) if "*" in expected else actual == expected


@dataclass(frozen=True)
class Condition:
    """One condition a provider offers: the claim it reads and how it compares."""

    name: str
    label: str
    claim: str
    required: bool
    check: str  # the key of _CLEANERS: how a value is written
    held: _Held = _exact
    help: str = ""


_REF_HELP = "refs/heads/main exactly, or a pattern where * stands for one or more characters."
_GITHUB = (
    Condition(
        "repository", "Repository", "repository", True, "repository", _any_case,
        help="owner/name, e.g. octo-org/octo-repo.",
    ),
    Condition(
        "repository_id", "Repository id", "repository_id", True, "id",
        help="The repository's number: a deleted and re-registered name never matches.",
    ),
    Condition(
        "repository_owner_id", "Owner id", "repository_owner_id", True, "id",
        help="The number of the user or organisation that owns it.",
    ),
    Condition(
        "workflow", "Workflow", "job_workflow_ref", False, "workflow", _workflow_held,
        help="The workflow file that runs the job: .github/workflows/deploy.yml, or a reusable "
        "one elsewhere: org/shared/.github/workflows/deploy.yml@refs/tags/v1.",
    ),
    Condition(
        "caller_workflow", "Calling workflow", "workflow_ref", False, "caller", _workflow_held,
        help="With a reusable workflow: the repository's workflow file that calls it.",
    ),
    Condition(
        "environment", "Environment", "environment", False, "text",
        help="The deployment environment, e.g. production.",
    ),
    Condition("ref", "Ref", "ref", False, "ref", _ref, help=_REF_HELP),
)  # fmt: skip
_GITLAB = (
    Condition(
        "project_path", "Project", "project_path", True, "project", _any_case,
        help="group/project, e.g. my-group/my-project.",
    ),
    Condition(
        "project_id", "Project id", "project_id", True, "id",
        help="The project's number: a deleted and re-created path never matches.",
    ),
    Condition("ref", "Ref", "ref_path", False, "ref", _ref, help=_REF_HELP),
    Condition(
        "environment", "Environment", "environment", False, "text",
        help="The deployment environment, e.g. production.",
    ),
)  # fmt: skip
CONDITIONS: dict[str, tuple[Condition, ...]] = {Provider.GITHUB: _GITHUB, Provider.GITLAB: _GITLAB}
CUSTOM_SUB = Condition("sub", "Subject", "sub", True, "text", _exact, "The exact `sub`.")


def provider_conditions(provider: str, conditions: Mapping[str, str]) -> tuple[Condition, ...]:
    """The conditions a publisher has: its provider's, or (custom) `sub` and exact claims."""
    if provider in CONDITIONS:
        return CONDITIONS[provider]
    extra = [
        Condition(name, name, name, True, "claim", _exact) for name in conditions if name != "sub"
    ]
    return (CUSTOM_SUB, *extra)


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


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class ConditionResult:
    """One condition of a publisher against one ID token: held or not, and what it read."""

    name: str
    label: str
    claim: str
    expected: str
    actual: str | None
    held: bool


def conditions_judge(
    provider: str, conditions: Mapping[str, str], claims: Mapping[str, Any]
) -> list[ConditionResult]:
    """Every condition of a publisher against `claims`, in the provider's order."""
    results = []
    for condition in provider_conditions(provider, conditions):
        expected = conditions.get(condition.name)
        if expected is None:
            continue
        actual = _text(claims.get(condition.claim))
        held = actual is not None and condition.held(expected, actual, conditions)
        results.append(
            ConditionResult(
                condition.name, condition.label, condition.claim, expected, actual, held
            )
        )
    return results


def conditions_hold(
    provider: str, conditions: Mapping[str, str], claims: Mapping[str, Any]
) -> bool:
    """Every condition holds (the exchange's match)."""
    return all(result.held for result in conditions_judge(provider, conditions, claims))


def audience_holds(claims: Mapping[str, Any]) -> bool:
    """`aud` is KEYWARD_OIDC_AUDIENCE (or, as a list, holds it)."""
    audience = claims.get("aud")
    if isinstance(audience, list):
        return settings.KEYWARD_OIDC_AUDIENCE in audience
    return audience == settings.KEYWARD_OIDC_AUDIENCE


def compared_claims(provider: str) -> tuple[str, ...]:
    """The claims the exchange names when no publisher matched: those it compares, for any
    publisher of the provider (a custom publisher's own claim names are its configuration)."""
    if provider in CONDITIONS:
        return tuple(condition.claim for condition in CONDITIONS[provider])
    return ("sub",)


# --------------------------------------------------------------------------- issuers


def insecure_issuer_allowed(issuer: str) -> bool:
    """An http issuer may be trusted only when listed in KEYWARD_OIDC_INSECURE_ISSUERS (tests)."""
    return issuer in settings.KEYWARD_OIDC_INSECURE_ISSUERS


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


def kinds_selected(resources: Mapping[str, Any]) -> dict[Kind, list[int]]:
    """The kinds a stored grant selects ids of (the others are "all")."""
    return {
        Kind(kind): list(value)
        for kind, value in resources.items()
        if kind in set(Kind) and isinstance(value, list)
    }


# What the ID token said about the run, per provider: recorded on the minted token and in
# its events (`token.minted`, and every API write it makes).
_RUN_CLAIMS: dict[str, tuple[tuple[str, str], ...]] = {
    Provider.GITHUB: (
        ("repository", "repository"),
        ("workflow", "job_workflow_ref"),
        ("caller_workflow", "workflow_ref"),
        ("ref", "ref"),
        ("environment", "environment"),
        ("event", "event_name"),
        ("run_id", "run_id"),
        ("run_attempt", "run_attempt"),
        ("sha", "sha"),
        ("actor", "actor"),
    ),
    Provider.GITLAB: (
        ("project", "project_path"),
        ("workflow", "ci_config_ref_uri"),
        ("ref", "ref_path"),
        ("environment", "environment"),
        ("event", "pipeline_source"),
        ("run_id", "pipeline_id"),
        ("job_id", "job_id"),
        ("sha", "sha"),
        ("actor", "user_login"),
    ),
}


def run_context(provider: str, claims: Mapping[str, Any]) -> dict[str, str]:
    """The run an ID token describes (repository or project, workflow, ref, environment, run id,
    sha, ...), as text; a custom issuer's: its `sub`."""
    pairs = _RUN_CLAIMS.get(provider, (("sub", "sub"),))
    found = {name: _text(claims.get(claim)) for name, claim in pairs}
    return {name: value[:200] for name, value in found.items() if value}


def tester_report(
    *, provider: str, issuer: str, conditions: Mapping[str, str], claims: Mapping[str, Any]
) -> list[ConditionResult]:
    """The tester's report for one publisher: its issuer, the audience, then each condition."""
    iss, aud = claims.get("iss"), claims.get("aud")
    return [
        ConditionResult("issuer", "Issuer", "iss", issuer, _text(iss), iss == issuer),
        ConditionResult(
            "audience",
            "Audience",
            "aud",
            settings.KEYWARD_OIDC_AUDIENCE,
            ", ".join(str(item) for item in aud) if isinstance(aud, list) else _text(aud),
            audience_holds(claims),
        ),
        *conditions_judge(provider, conditions, claims),
    ]
