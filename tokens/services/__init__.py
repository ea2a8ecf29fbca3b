"""Every write about tokens, one module per job.

- `issue`: creating a token (`token_create`), and checking a new token's input
  without writing (`token_create_check`).
- `change`: changing a token's permissions (`token_update_permissions`).
- `roll`: giving a token a new secret (`token_roll`).
- `revoke`: revoking a token and the tombstone it leaves (`token_revoke`), removing a
  member's user token from one account (`token_remove_from_account`).
- `expiry`: the expiry notices (`expiry_notices_send`).
- `cleanup`: the daily cleanup of stale and idle tokens (`stale_tokens_clean`).
- `common`: what the token writes share: their errors, the row lock, the snapshot
  the event log keeps of a token's permissions.

Each service is keyword-only, typed, runs in one transaction and writes its Event
in it. The panel and the API call the same services, so every rule is enforced
once, here, with the input checks of tokens.validation. Callers import from the
module, e.g. `from tokens.services.issue import token_create`.
"""
