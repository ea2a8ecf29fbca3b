"""A token's resources, per kind: all of them, or the ones it selects (SPEC 4).

- `selectors`: the selected ids (one query, or one UNION for many tokens), the
  summaries of the token tables, the token form's resource picker.
- `services`: writing the flags and the selected rows.
"""
