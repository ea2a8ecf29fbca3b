"""The reference project of SPEC 10: a small, plain Django 5.2 project to measure Keyward against.

Django's `startproject` middleware, its own settings, URLs and WSGI module
(`bench.reference.wsgi`); the same PostgreSQL server (its own database) and
Redis as Keyward under `make bench-http`. Its views are what a careful Django
developer writes without a framework of their own:

- `/healthz`: `SELECT 1`, JSON;
- `/raw/whoami`: the bearer token's SHA-256 digest looked up with ONE raw SQL
  query (token joined to its user), a JSON answer: the limit;
- `/drf/whoami`, `/knox/whoami`: DRF's `TokenAuthentication` and django-rest-knox;
- `/ninja/whoami`: django-ninja, an `HttpBearer` doing `select_related().get()`
  on the digest;
- `/accounts/<id>/zones/<id>` and `/accounts/<id>/zones`: a single zone and a
  page of 30, the plain ORM way (`annotate(Count)`, `Paginator`), behind the
  raw-SQL token lookup: the counterparts of Keyward's resource reads.

The project package is also its one app (label `reference`): models, migrations
and the `seed_reference` command live here.
"""
