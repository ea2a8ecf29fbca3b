"""Every write of the accounts app, one module per job.

- `identity`: signing in (throttled), sudo mode, deleting users.
- `members`: changing a member's role, removing a member.
- `dns`: records in zones.
- `domains`: domains and their registration (renewal, auto-renewal).
- `certificates`: renewing TLS certificates.
- `cdn`: CDN services and cache purges.
- `resources`: what the resource writes share (their error and their event).

Callers import from the module, e.g. `from accounts.services.dns import record_create`.
"""
