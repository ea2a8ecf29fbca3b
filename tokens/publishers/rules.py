"""Trusted publishers' rules (SPEC 18): the conditions each provider offers, matching an ID
token's claims against them (one result per condition: the exchange's match and the tester's
report read the same), which issuers may be trusted over http, and what an ID token says
about its run. Validating a publisher before it is saved is tokens.publishers.validation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from tokens.kinds import Kind
from tokens.publishers.models import Provider

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


# --------------------------------------------------------------------------- grants


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
