"""GitHub conditions through the exchange: the workflow that runs the job and, for a reusable
workflow, the workflow that calls it (both can be pinned), ref patterns, names' case."""

from __future__ import annotations

import pytest

from tests.tokens.publishers.conftest import exchange, github_conditions

pytestmark = pytest.mark.django_db

SHARED = "octo-org/shared/.github/workflows/deploy.yml"
CALLER = "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"


def status(client, issuer, **claims) -> int:
    return exchange(client, issuer.github_token(**claims)).status_code


def test_the_workflow_file_of_the_repository(client, issuer, world):
    world.add(issuer, conditions=github_conditions(workflow=".github/workflows/deploy.yml"))
    assert status(client, issuer) == 201
    other = "octo-org/octo-repo/.github/workflows/other.yml@refs/heads/main"
    assert status(client, issuer, job_workflow_ref=other, workflow_ref=other) == 401


def test_a_reusable_workflow_and_its_caller_both_pinned(client, issuer, world):
    world.add(
        issuer,
        conditions=github_conditions(
            workflow=f"{SHARED}@refs/tags/v1", caller_workflow=".github/workflows/release.yml"
        ),
    )
    assert (
        status(client, issuer, job_workflow_ref=f"{SHARED}@refs/tags/v1", workflow_ref=CALLER)
        == 201
    )
    # Another caller in the repository, the same reusable workflow: no.
    other_caller = "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main"
    assert (
        status(client, issuer, job_workflow_ref=f"{SHARED}@refs/tags/v1", workflow_ref=other_caller)
        == 401
    )
    # The reusable workflow at another ref: no.
    assert (
        status(client, issuer, job_workflow_ref=f"{SHARED}@refs/heads/main", workflow_ref=CALLER)
        == 401
    )


def test_ref_patterns_and_the_repository_names_case(client, issuer, world):
    world.add(
        issuer,
        conditions=github_conditions(
            repository="Octo-Org/Octo-Repo", environment=None, ref="refs/tags/v*"
        ),
        grant={"scopes": ["zones:read"]},
    )
    assert status(client, issuer, environment=None, ref="refs/tags/v2.0.1") == 201
    assert status(client, issuer, environment=None, ref="refs/heads/main") == 401
    assert status(client, issuer, environment=None, ref="refs/tags/v") == 401  # * is 1+ chars
