"""SPEC 15: the one rule that says which account policy a token breaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tokens.policies.rules import NO_POLICY, Policy, policy_violation

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CREATED = NOW - timedelta(days=10)


def violation(policy: Policy, **facts) -> str | None:
    values = {
        "token_type": "user",
        "created_at": CREATED,
        "expires_at": CREATED + timedelta(days=30),
        "last_used_at": None,
        "allowed_ips": (),
        "now": NOW,
        "client_ip": "203.0.113.7",
    }
    values.update(facts)
    return policy_violation(policy, **values)


def test_no_policy_blocks_nothing_even_a_token_that_never_expires():
    assert violation(NO_POLICY, expires_at=None) is None
    assert NO_POLICY.is_off and not Policy(max_idle_days=7).is_off


def test_max_lifetime_allows_exactly_the_limit_and_not_a_second_more():
    policy = Policy(max_lifetime_days=30)
    assert violation(policy, expires_at=CREATED + timedelta(days=30)) is None
    assert violation(policy, expires_at=CREATED + timedelta(days=30, seconds=1)) == "max_lifetime"


def test_a_token_that_never_expires_breaks_any_max_lifetime():
    assert violation(Policy(max_lifetime_days=3650), expires_at=None) == "max_lifetime"


def test_max_idle_counts_from_creation_when_never_used_and_blocks_exactly_at_the_limit():
    policy = Policy(max_idle_days=10)  # created exactly 10 days ago, never used
    assert violation(policy) == "max_idle"
    assert violation(policy, now=NOW - timedelta(seconds=1)) is None


def test_max_idle_counts_from_last_use():
    policy = Policy(max_idle_days=7)
    assert violation(policy, last_used_at=NOW - timedelta(days=6, hours=23)) is None
    assert violation(policy, last_used_at=NOW - timedelta(days=7)) == "max_idle"


def test_automation_tokens_need_an_allow_list_user_tokens_do_not():
    policy = Policy(automation_requires_ip_allow_list=True)
    assert violation(policy, token_type="automation") == "ip_allow_list_required"
    assert violation(policy, token_type="automation", allowed_ips=("10.0.0.0/8",)) is None
    assert violation(policy, token_type="user") is None


@pytest.mark.parametrize(
    ("client_ip", "expected"),
    [
        ("203.0.113.7", None),
        ("::ffff:203.0.113.7", None),  # IPv4-mapped IPv6 matches the IPv4 network
        ("2001:db8::1", None),
        ("198.51.100.1", "allowed_networks"),
        ("::ffff:198.51.100.1", "allowed_networks"),
        ("2001:db9::1", "allowed_networks"),
        (None, "allowed_networks"),  # an unknown address is in no network
    ],
)
def test_allowed_networks_ipv4_ipv6_and_mapped(client_ip, expected):
    policy = Policy(allowed_networks=("203.0.113.0/24", "2001:db8::/32"))
    assert violation(policy, client_ip=client_ip) == expected


def test_networks_are_not_judged_without_a_request():
    policy = Policy(allowed_networks=("10.0.0.0/8",))
    assert violation(policy, client_ip=None, check_network=False) is None


def test_the_first_broken_policy_is_named_in_order():
    everything = Policy(
        max_lifetime_days=1,
        max_idle_days=7,
        automation_requires_ip_allow_list=True,
        allowed_networks=("10.0.0.0/8",),
    )
    facts = {"token_type": "automation", "created_at": NOW - timedelta(days=8)}
    assert violation(everything, expires_at=None, **facts) == "max_lifetime"
    assert violation(everything, expires_at=NOW - timedelta(days=7, hours=1), **facts) == (
        "max_idle"
    )
    fresh = {"token_type": "automation", "expires_at": NOW + timedelta(hours=1)}
    assert violation(everything, created_at=NOW, **fresh) == "ip_allow_list_required"
    assert violation(everything, created_at=NOW, allowed_ips=("1.2.3.4/32",), **fresh) == (
        "allowed_networks"
    )
