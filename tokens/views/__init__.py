"""The token pages, one module per job.

- `lists`: the personal and account token lists.
- `wizard`: the create-token wizard and the one-time reveal.
- `detail`: a token's page: what it can do, what it did, narrowing it (SPEC 13).
- `edit`: editing a token's permissions, and deleting (revoking) it.
- `form`: drawing the permissions form shared by the wizard and the edit page
  (scope checkboxes, resource pickers), and the resource-picker fragment.
- `common`: what several pages share (the actor, the sudo detour, templates).
- `events`: the account's event log.

Views parse input, call one selector or service, and render. Who may reach
which token is decided in tokens.selectors (a foreign id is a 404); what a
token may be given is decided by tokens.services (the same rules as the API).
"""
