"""Trusted publishers (SPEC 18): CI trades its own OIDC ID token for a token that lives minutes.

- `models`: publishers (conditions and grant), and the ID tokens already traded (each jti once).
- `rules`: the conditions per provider, matching claims (the exchange's and the tester's),
  what an ID token says about its run.
- `validation`: a publisher as it may be saved (issuer, conditions, the grant judged by the
  token services' own rules and the account's policies).
- `exchange`: verifying an ID token (JWKS from the discovery document, cached), in order.
- `services`: every write (create, update, delete, mint, the cleanup), each with its event.
- `selectors`, `api` (a ninja Router), `views` and `forms` (the page and its tester).
"""
