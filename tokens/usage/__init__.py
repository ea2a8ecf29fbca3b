"""Usage (SPEC 13): what each token did, and what it could do.

- `rules`: the operations counted and the reasons a request is denied.
- `services`: counting on the request path (in the cache) and writing the counts
  to the database (`usage_flush`), and deleting old usage.
- `selectors`: what the API and the token page read: a token's usage summary and
  the explainer (every operation, allowed or why not, per account).
- `models`: TokenUsage and TokenDenial.
"""
