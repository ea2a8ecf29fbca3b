"""Real counterparts for tests: an OpenID provider, a CI token issuer, a webhook receiver.

Each one runs for real on 127.0.0.1 (see tests/support/README.md); the fixtures that start
them live in tests/conftest.py.
"""
