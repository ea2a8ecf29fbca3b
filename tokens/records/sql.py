"""SPEC 14's record rules in SQL: the records a token's rules let it see, as one condition.

The twin of tokens.records.rules.record_rules_allow for record lists (the API's
`GET .../zones/{id}/records`), which filter in SQL rather than row by row. Both
say the same: tests/tokens/test_record_rules_sql.py checks them against each
other on generated rules and names, on the real database.
"""

from __future__ import annotations

from tokens.records.rules import APEX, RecordRule


def like_pattern(pattern: str) -> str:
    """A record name pattern as LIKE: literal `\\`, `%`, `_` escaped; `*` is one or more."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "_%")


def rules_condition(rules: tuple[RecordRule, ...], alias: str = "x") -> str:
    """The records (`alias`) the rules allow, as one condition over `%(rule_N)s` parameters
    (rules_params). At least one rule: no rules allow every record (no condition)."""
    conditions = []
    for n, rule in enumerate(rules):
        if rule.name == APEX:
            condition = f"{alias}.name = ''"
        else:
            condition = f"{alias}.name LIKE %(rule_{n})s ESCAPE '\\'"
        if rule.types:
            types = ", ".join(f"%(rule_{n}_{t})s" for t in range(len(rule.types)))
            condition += f" AND {alias}.type IN ({types})"
        conditions.append(f"({condition})")
    return f"({' OR '.join(conditions)})"


def rules_params(rules: tuple[RecordRule, ...]) -> dict[str, str]:
    """The parameters of rules_condition(rules)."""
    params = {}
    for n, rule in enumerate(rules):
        if rule.name != APEX:
            params[f"rule_{n}"] = like_pattern(rule.name)
        for t, record_type in enumerate(sorted(rule.types)):
            params[f"rule_{n}_{t}"] = record_type
    return params
