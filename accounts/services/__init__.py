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

# TEMPORARY BRIDGE, NOT PART OF THE DESIGN: the old tokens/api.py (being rewritten
# as the tokens/api/ package) still reads these names from `accounts.services`.
# Revert this commit when the new API lands; nothing else uses these names.
from accounts.services.cdn import service_purge, service_purge_all, service_update
from accounts.services.certificates import certificate_renew
from accounts.services.dns import record_create, record_delete
from accounts.services.domains import (
    domain_auto_renew_set,
    domain_create,
    domain_delete,
    domain_renew,
)
from accounts.services.identity import (
    CredentialsRejected,
    Throttled,
    credentials_check,
)

__all__ = [
    "CredentialsRejected",
    "Throttled",
    "certificate_renew",
    "credentials_check",
    "domain_auto_renew_set",
    "domain_create",
    "domain_delete",
    "domain_renew",
    "record_create",
    "record_delete",
    "service_purge",
    "service_purge_all",
    "service_update",
]
