"""DNS record rules (SPEC 14): which records a token may touch, and the rules themselves.

`record_rules_allow` is the one decision (the API's record writes ask it); its
SQL twin for record lists is tokens.records.sql, and the two are property-tested
against each other. The rest turns what a person or an
integration sent into `RecordRule`s (or says which rule is wrong), tells whether
new rules reach further than old ones (sudo), and describes rules in words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from accounts.constants import RecordType


@dataclass(frozen=True, slots=True)
class RecordRule:
    """SPEC 14: DNS records a token may touch, by name pattern and (optionally) type.

    `name` is relative to the zone and lower case: an exact name, `@` for the
    apex, or a pattern where `*` stands for one or more characters, dots
    included. `types` empty means any type.
    """

    name: str
    types: frozenset[str] = frozenset()

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "types": sorted(self.types)}


APEX = "@"


@functools.lru_cache(maxsize=1024)
def _name_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".+".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def record_rules_allow(rules: Iterable[RecordRule], *, name: str, type: str) -> bool:
    """May a token with `rules` touch the record `name` (zone-relative; "" or "@": apex) of `type`?

    No rules: every record. Otherwise a rule must match both the name (exactly,
    or with each `*` standing for one or more characters) and the type.
    """
    rules = tuple(rules)
    if not rules:
        return True
    name = "" if name == APEX else name
    for rule in rules:
        if rule.types and type not in rule.types:
            continue
        if rule.name == APEX:
            if name == "":
                return True
        elif _name_regex(rule.name).fullmatch(name):
            return True
    return False


MAX_RECORD_RULES = 20
MAX_PATTERN_LENGTH = 253
# Labels of letters, digits, "-", "_" and "*" (one or more characters, dots included).
_PATTERN_RE = re.compile(r"^[a-z0-9_*-]+(?:\.[a-z0-9_*-]+)*$")
RECORD_TYPES: tuple[str, ...] = tuple(RecordType.values)


class RecordRulesError(ValueError):
    """A rule is wrong; `field` names it (`record_rules.2`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def pattern_problem(pattern: str) -> str | None:
    """What is wrong with a name pattern, or None."""
    if pattern == APEX:
        return None
    if not pattern:
        return "Give a record name, e.g. “_acme-challenge”, or “@” for the apex."
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"Keep the name to {MAX_PATTERN_LENGTH} characters or fewer."
    if pattern != pattern.lower():
        return "Write the name in lower case."
    if "**" in pattern or not _PATTERN_RE.match(pattern):
        return (
            "Use a name relative to the zone (letters, digits, “-”, “_”, dots), “@” for "
            "the apex, and “*” for one or more characters, e.g. “_acme-challenge.*”."
        )
    return None


def _clean_rule(raw: Any, field: str) -> RecordRule:
    if not isinstance(raw, Mapping) or set(raw) - {"name", "types"}:
        raise RecordRulesError(field, 'A rule is {"name": PATTERN, "types": [TYPE, ...]}.')
    name = raw.get("name")
    if not isinstance(name, str):
        raise RecordRulesError(field, "Give the rule a record name pattern.")
    name = name.strip()
    problem = pattern_problem(name)
    if problem:
        raise RecordRulesError(field, f"Rule {int(field.rsplit('.', 1)[-1]) + 1}: {problem}")
    types = raw.get("types") or []
    if isinstance(types, str | bytes) or not isinstance(types, Iterable):
        raise RecordRulesError(field, "Types are a list, e.g. [“TXT”]; empty for any type.")
    cleaned = set()
    for record_type in types:
        value = record_type.strip().upper() if isinstance(record_type, str) else None
        if value not in RECORD_TYPES:
            raise RecordRulesError(
                field,
                f"Unknown record type {str(record_type)[:20]!r}; use {', '.join(RECORD_TYPES)}.",
            )
        cleaned.add(value)
    return RecordRule(name=name, types=frozenset(cleaned))


def clean_record_rules(raw: Iterable[Any] | None) -> list[RecordRule]:
    """The rules sent, validated, in order and without repeats (RecordRulesError otherwise)."""
    if raw is None:
        return []
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
        raise RecordRulesError("record_rules", "Record rules are a list of rules.")
    items = list(raw)
    if len(items) > MAX_RECORD_RULES:
        raise RecordRulesError("record_rules", f"At most {MAX_RECORD_RULES} record rules.")
    rules: list[RecordRule] = []
    for index, item in enumerate(items):
        rule = _clean_rule(item, f"record_rules.{index}")
        if rule not in rules:
            rules.append(rule)
    return rules


def rules_from_json(stored: Iterable[Mapping[str, Any]] | None) -> tuple[RecordRule, ...]:
    """A token's stored rules (already validated) as RecordRules."""
    return tuple(
        RecordRule(name=item["name"], types=frozenset(item.get("types") or ()))
        for item in stored or ()
    )


def rules_json(rules: Iterable[RecordRule]) -> list[dict[str, object]]:
    return [rule.as_json() for rule in rules]


def record_rules_widen(before: Sequence[RecordRule], after: Sequence[RecordRule]) -> bool:
    """True when `after` lets a token touch a record `before` did not (sudo needed).

    No rules allow every record. A new rule is within the old ones when, for each
    of its types (or "any type"), an old rule of that type matches the new
    rule's pattern read as a name whose `*` only an old `*` can stand for; this
    never calls a real widening narrow (it may ask for sudo on a few narrowings).
    """
    if not before:
        return False
    if not after:
        return True
    for rule in after:
        for record_type in rule.types or {None}:
            covering = [
                old
                for old in before
                if not old.types or (record_type is not None and record_type in old.types)
            ]
            if not covering or not record_rules_allow(
                covering, name=rule.name, type=record_type or ""
            ):
                return True
    return False


def _words_for_rule(rule: RecordRule) -> tuple[str, str]:
    types = "/".join(sorted(rule.types)) + " records" if rule.types else "Records"
    return types, "the apex (@)" if rule.name == APEX else rule.name


def record_rules_text(rules: Iterable[RecordRule]) -> str:
    """Rules in words: “TXT records named _acme-challenge or _acme-challenge.*”."""
    grouped: dict[str, list[str]] = {}
    for rule in rules:
        types, name = _words_for_rule(rule)
        grouped.setdefault(types, []).append(name)
    return "; ".join(f"{types} named {' or '.join(names)}" for types, names in grouped.items())
