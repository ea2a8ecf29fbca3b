"""Trusted publishers (SPEC 18): CI trades its own OIDC ID token for a token that lives minutes.

models (publishers, ID tokens already traded), rules (conditions, matching, the grant),
exchange (verifying an ID token), services (every write), selectors, api, views, forms.
"""
