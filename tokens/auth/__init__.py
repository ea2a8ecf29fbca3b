"""Bearer authentication: how a request's token becomes a Principal (SPEC 5, 7, 10).

- `bearer`: `authenticate()`, the API's hot path (the checks, the one query, the
  once-a-minute record of last use), and `access_in_accounts()`.
- `principal`: the one query, its columns (declared once, read by name) and the
  `Principal` and `AccountAccess` it reads into.
- `columns`: how the plain-SQL token reads declare their columns and read JSON
  columns; the API's token list (tokens.api.token_rows) uses them too.
- `throttle`: the block on addresses that send too many bad tokens.
"""
