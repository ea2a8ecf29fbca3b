"""DNS record rules (SPEC 14): a token limited to some records of its zones.

- `rules`: `RecordRule` and `record_rules_allow()`, the one decision; cleaning the
  rules sent, whether new rules widen old ones (sudo), the rules in words.
- `sql`: the same decision as one SQL condition, for record lists.
"""
