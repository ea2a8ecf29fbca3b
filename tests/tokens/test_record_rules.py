"""SPEC 14's record rules: the matching (table and property tests), validation, sudo, words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.constants import Plan
from tests.factories import AccountFactory, issue_automation_token, issue_user_token
from tokens.events import Actor
from tokens.models import Event
from tokens.records.rules import (
    RecordRule,
    record_rules_allow,
    record_rules_text,
    record_rules_widen,
)
from tokens.services.change import token_update_permissions
from tokens.services.common import SudoRequired
from tokens.validation import TokenValidationError


def rule(name: str, *types: str) -> RecordRule:
    return RecordRule(name=name, types=frozenset(types))


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("_acme-challenge", "_acme-challenge", True),
        ("_acme-challenge", "_acme-challenge.www", False),
        ("_acme-challenge", "x_acme-challenge", False),
        ("_acme-challenge.*", "_acme-challenge.www", True),
        ("_acme-challenge.*", "_acme-challenge.a.b", True),
        ("_acme-challenge.*", "_acme-challenge", False),
        ("_acme-challenge.*", "_acme-challenge.", False),
        ("*.dev", "api.dev", True),
        ("*.dev", "a.b.dev", True),
        ("*.dev", "dev", False),
        ("*.dev", ".dev", False),
        ("*", "www", True),
        ("*", "a.b.c", True),
        ("*", "", False),
        ("*", "@", False),
        ("@", "", True),
        ("@", "@", True),
        ("@", "www", False),
        ("www", "", False),
        ("w*w", "ww", False),
        ("w*w", "wxw", True),
        ("a.b", "axb", False),  # a dot is a dot, not "any character"
        ("a_b", "axb", False),  # and "_" is an underscore
    ],
)
def test_name_patterns(pattern, name, expected):
    assert record_rules_allow([rule(pattern)], name=name, type="TXT") is expected


def test_types_and_several_rules():
    rules = [rule("_acme-challenge", "TXT"), rule("www", "A", "AAAA")]
    assert record_rules_allow(rules, name="_acme-challenge", type="TXT")
    assert not record_rules_allow(rules, name="_acme-challenge", type="A")
    assert record_rules_allow(rules, name="www", type="AAAA")
    assert not record_rules_allow(rules, name="www", type="TXT")
    assert not record_rules_allow(rules, name="api", type="A")
    assert record_rules_allow([rule("www")], name="www", type="CAA")  # no types: any


def test_no_rules_allow_everything():
    assert record_rules_allow([], name="anything.at.all", type="NS")
    assert record_rules_allow((), name="", type="A")


def reference_match(pattern: str, name: str) -> bool:
    """Plain recursion: `*` eats one or more characters; "@" is the apex only."""
    if pattern == "@":
        return name in ("", "@")
    if name == "@":
        name = ""

    def match(p: str, n: str) -> bool:
        if not p:
            return not n
        if p[0] == "*":
            return any(match(p[1:], n[k:]) for k in range(1, len(n) + 1))
        return bool(n) and n[0] == p[0] and match(p[1:], n[1:])

    return match(pattern, name)


patterns = st.one_of(st.just("@"), st.text(alphabet="ab._-*", min_size=1, max_size=8))
names = st.one_of(st.just(""), st.just("@"), st.text(alphabet="ab._-", min_size=1, max_size=10))
record_types = st.sampled_from(["A", "TXT", "MX"])
rule_sets = st.lists(
    st.builds(
        RecordRule,
        name=patterns,
        types=st.frozensets(record_types, max_size=2),
    ),
    max_size=4,
)


@given(pattern=patterns, name=names)
def test_matching_agrees_with_the_reference(pattern, name):
    assert record_rules_allow([rule(pattern)], name=name, type="A") is reference_match(
        pattern, name
    )


@given(rules=rule_sets, name=names, record_type=record_types)
def test_rule_sets_agree_with_the_reference(rules, name, record_type):
    expected = not rules or any(
        (not r.types or record_type in r.types) and reference_match(r.name, name) for r in rules
    )
    assert record_rules_allow(rules, name=name, type=record_type) is expected


@given(before=rule_sets, after=rule_sets, name=names, record_type=record_types)
def test_a_change_that_is_not_widening_allows_nothing_new(before, after, name, record_type):
    """`record_rules_widen` may ask for sudo too often, never too rarely."""
    if not record_rules_widen(before, after) and record_rules_allow(
        after, name=name, type=record_type
    ):
        assert record_rules_allow(before, name=name, type=record_type)


def test_widening_table():
    acme = [rule("_acme-challenge", "TXT"), rule("_acme-challenge.*", "TXT")]
    assert not record_rules_widen([], [rule("www")])  # adding rules narrows
    assert record_rules_widen(acme, [])  # removing them widens
    assert not record_rules_widen(acme, [rule("_acme-challenge", "TXT")])
    assert not record_rules_widen(acme, [rule("_acme-challenge.www.*", "TXT")])
    assert record_rules_widen(acme, [rule("_acme-challenge", "TXT", "A")])
    assert record_rules_widen(acme, [rule("_acme-challenge")])  # any type
    assert record_rules_widen(acme, [rule("*", "TXT")])
    assert record_rules_widen([rule("*")], [rule("@")])  # "*" is every name but the apex
    assert not record_rules_widen([rule("*")], [rule("www", "A")])


def test_rules_in_words():
    acme = [rule("_acme-challenge", "TXT"), rule("_acme-challenge.*", "TXT")]
    assert record_rules_text(acme) == "TXT records named _acme-challenge or _acme-challenge.*"
    assert record_rules_text([rule("@"), rule("www", "AAAA", "A")]) == (
        "Records named the apex (@); A/AAAA records named www"
    )


# --------------------------------------------------------------------------- services


ACME = [
    {"name": "_acme-challenge", "types": ["TXT"]},
    {"name": "_acme-challenge.*", "types": ["txt"]},
]


@pytest.mark.parametrize(
    ("rules", "field", "words"),
    [
        ([{"name": "www"}, {"name": "WWW"}], "record_rules.1", "lower case"),
        ([{"name": ""}], "record_rules.0", "Give a record name"),
        ([{"name": "a..b"}], "record_rules.0", "relative to the zone"),
        ([{"name": "**"}], "record_rules.0", "relative to the zone"),
        ([{"name": "www."}], "record_rules.0", "relative to the zone"),
        ([{"name": "w w"}], "record_rules.0", "relative to the zone"),
        ([{"name": "www"}, {"name": "x", "types": ["TXT", "BOGUS"]}], "record_rules.1", "BOGUS"),
        ([{"name": "www", "types": "TXT"}], "record_rules.0", "list"),
        ([{"name": "www", "kind": "TXT"}], "record_rules.0", "PATTERN"),
        ([{"name": 5}], "record_rules.0", "pattern"),
        ([{"name": f"n{i}"} for i in range(21)], "record_rules", "At most 20"),
        ("www", "record_rules", "list"),
    ],
)
def test_invalid_rules_name_the_rule(account, member_factory, rules, field, words):
    owner = member_factory(account, "engineer")
    with pytest.raises(TokenValidationError) as caught:
        issue_user_token(owner, scopes=["zones:write"], record_rules=rules)
    assert list(caught.value.message_dict) == [field]
    assert words in caught.value.message_dict[field][0]


def test_rules_are_stored_normalised_and_logged(account, member_factory):
    owner = member_factory(account, "engineer")
    token = issue_user_token(owner, scopes=["zones:write"], record_rules=[*ACME, ACME[0]]).token
    token.refresh_from_db()
    assert token.record_rules == [
        {"name": "_acme-challenge", "types": ["TXT"]},
        {"name": "_acme-challenge.*", "types": ["TXT"]},
    ]
    created = Event.objects.get(kind="token.created")
    assert created.details["permissions"]["record_rules"] == token.record_rules
    assert len(issue_user_token(owner, name="All").token.record_rules) == 0


def _update(token, owner, rules, *, sudo):
    return token_update_permissions(
        actor=Actor.person(owner),
        token=token,
        name=token.name,
        scopes=token.scopes,
        resources=None,
        allowed_ips=token.allowed_ips,
        record_rules=rules,
        sudo=sudo,
    )


def test_narrowing_needs_no_sudo_widening_does(account, member_factory):
    owner = member_factory(account, "engineer")
    token = issue_user_token(owner, scopes=["zones:write"]).token
    token = _update(token, owner, ACME, sudo=False)  # adding rules narrows
    token = _update(token, owner, ACME[:1], sudo=False)  # dropping one narrows
    with pytest.raises(SudoRequired):
        _update(token, owner, [], sudo=False)  # no rules: every record
    with pytest.raises(SudoRequired):
        _update(token, owner, [{"name": "www"}], sudo=False)
    token.refresh_from_db()
    assert token.record_rules == [{"name": "_acme-challenge", "types": ["TXT"]}]
    kept = _update(token, owner, None, sudo=False)  # None keeps the rules
    assert kept.record_rules == token.record_rules
    _update(token, owner, [], sudo=True)
    events = Event.objects.filter(kind="token.updated").order_by("id")
    assert [e.details["after"]["record_rules"] for e in events] == [
        [
            {"name": "_acme-challenge", "types": ["TXT"]},
            {"name": "_acme-challenge.*", "types": ["TXT"]},
        ],
        [{"name": "_acme-challenge", "types": ["TXT"]}],
        [],
    ]
    assert events.last().details["before"]["record_rules"] == token.record_rules


def test_solo_automation_tokens_take_no_rules(member_factory):
    solo = AccountFactory(plan=Plan.SOLO, slug="solo-x")
    with pytest.raises(TokenValidationError) as caught:
        issue_automation_token(solo, record_rules=ACME)
    assert "record_rules" in caught.value.message_dict
