"""Leak response (SPEC 12): a reported secret is revoked at once and its people told.

- `services`: `credentials_revoke`, the one service both report endpoints call.
- `github`: GitHub secret scanning's alerts and their signature.
"""
