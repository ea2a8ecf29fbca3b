"""Single sign-on with OpenID Connect per enterprise account (SPEC 17).

`models` (the account's identity provider, its client secret sealed), `crypto` (the
sealing), `discovery` (fetching and checking the provider's discovery document),
`services` (every change, with its event), `selectors`, `session` (which accounts'
SSO this session came through, and when), `provider` and `adapter` (django-allauth's
`openid_connect` provider as Keyward runs it: PKCE, state, nonce and a verified ID
token; the verified email matched to a member, never a new person), and the panel's
`forms`, `views` and `urls`. Per-token SSO authorization is tokens.sso's.
"""
