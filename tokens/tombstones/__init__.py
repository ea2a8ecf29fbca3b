"""Revoked tokens' tombstones (SPEC 9): what is left when a token's row is deleted.

- `models`: RevokedToken (digests, name, who and why; no secret, no permissions) and
  the event log's revocations as a proxy for support's "Revoked tokens" view.
- `services`: `tombstone_record`, called by tokens.services.revoke in its transaction.
- `selectors`: finding a tombstone by a pasted value; why and by whom, in words.
"""
