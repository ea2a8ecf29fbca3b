"""The support admin (SPEC 9): find a token, even from a leaked value; revoke it; read the log.

- `tokens`: the Token admin (its list, its page, Revoke, Find by token value).
- `events`: the event log and the "Revoked tokens" view, read-only.
- `search`: keeping pasted secrets out of the search box; finding a token or its
  tombstone by its value.
- `filters`: the list filters; `display`: columns, dates and states as support reads them.

Django imports this package (admin autodiscovery); importing the modules registers them.
"""

from tokens.admin import events, tokens  # noqa: F401
