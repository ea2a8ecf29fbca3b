"""Leak response (SPEC 12): a reported secret is revoked within seconds and its people told.

- `services`: `credentials_revoke_later`, what both report endpoints call (it queues the
  digests; a worker revokes), `credentials_revoke` (now), `token_recipients` (whom to tell
  about a token: its owner, or its account's superusers).
- `github`: GitHub secret scanning's alerts and their signature.
"""
