"""Account token policies (SPEC 15): maximum lifetime and idle time, the IP allow-list
automation tokens need, the networks tokens may come from.

- `rules`: `Policy` and `policy_violation()`, the one rule, in words too.
- `selectors`: which tokens a policy blocks (creation, edit, lists, the preview, the
  idle cleanup).
- `services`: `account_policies_update`.
"""
