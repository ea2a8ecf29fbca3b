"""django-allauth's `openid_connect` provider, as Keyward runs it (SPEC 17).

allauth sends PKCE (the app's `oauth_pkce_enabled`) and `state`, and checks the ID
token's issuer, audience and expiry. Keyward adds what SPEC 17 asks beyond that:
a `nonce` in every authorization request, kept in allauth's state and compared with
the ID token's by accounts.sso.flow; and the ID token's signature checked against
the provider's keys even when it came straight from the token endpoint (allauth
skips that check there). The ID token is verified with joserfc (as trusted publishers'
tokens are): signature, then issuer, audience, expiry and subject. The keys come from
accounts.oidc, as trusted publishers' do: cached, refetched for an unknown kid at most
once a minute, from public addresses only unless the issuer is listed as insecure.
"""

from __future__ import annotations

from typing import Any

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.crypto import get_random_string
from joserfc import jws, jwt
from joserfc.errors import JoseError

from accounts import oidc

ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class SsoOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    """The OAuth2 side of an account's SSO: the ID token's signature is always checked."""

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict[str, Any]:
        config = self.openid_config
        try:
            kid = jws.extract_compact(id_token.encode("ascii")).headers().get("kid")
            key = oidc.KEYS.key(str(config["issuer"]), kid if isinstance(kid, str) else None)
            if key is None:
                raise OAuth2Error("The identity provider has no key for this ID token.")
            token = jwt.decode(id_token, key, algorithms=ID_TOKEN_ALGORITHMS)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": config["issuer"]},
                aud={"essential": True, "value": app.client_id},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError, KeyError, TypeError, UnicodeError) as error:
            raise OAuth2Error("Invalid id_token") from error
        return dict(token.claims)


class SsoProvider(OpenIDConnectProvider):
    """An account's identity provider: a fresh nonce in each authorization request."""

    oauth2_adapter_class = SsoOAuth2Adapter

    def redirect(
        self,
        request: HttpRequest,
        process: str,
        next_url: str | None = None,
        data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> HttpResponse:
        auth_params = dict(kwargs.pop("auth_params", None) or self.get_auth_params())
        nonce = get_random_string(32)
        auth_params["nonce"] = nonce
        # Extra keyword arguments land in allauth's stashed state: the nonce comes back with it.
        return super().redirect(
            request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
        )


@login_not_required
def sso_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    """The redirect URI `/accounts/oidc/<provider_id>/login/callback/` (allauth's view)."""
    try:
        view = OAuth2CallbackView.adapter_view(SsoOAuth2Adapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404("No single sign-on here.") from None
