"""Per-token SSO authorization (SPEC 17, GitHub's model).

In an account that forces single sign-on, a member's user token works there only once
its owner has authorized it for that account's SSO, in a session that came through
that SSO in the last 24 hours (accounts.sso.session). `models` holds the authorization;
`services` writes it (the button on the token, and at creation in such a session);
the bearer query reads it (tokens.auth.principal: `sso_authorized`).
"""
