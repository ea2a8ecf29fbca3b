"""A new secret's one reveal in the panel (SPEC 6, 11): shown once, then gone.

- `models`: PendingReveal, the single-use id of a reveal not yet shown.
- `services`: `reveal_attach` (the encrypted cookie that carries the secret) and
  `reveal_take` (shows it once: deletes the row).
"""
