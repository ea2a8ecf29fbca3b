"""django-allauth's social account adapter for SSO (SOCIALACCOUNT_ADAPTER, SPEC 17).

The provider apps come from the accounts' own SSO settings (accounts.sso.models),
built unsaved with the secret opened in memory: allauth's SocialApp table stays
empty. At the end of the flow Keyward takes over (accounts.sso.flow): allauth never
signs up a person, stores a social account, or shows its own pages.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.http import HttpRequest

from accounts.sso import flow
from accounts.sso.crypto import SecretUnreadable, secret_open
from accounts.sso.provider import SsoProvider
from accounts.sso.selectors import sso_by_provider_id

logger = logging.getLogger(__name__)


class SsoAdapter(DefaultSocialAccountAdapter):
    """One `openid_connect` app per enterprise account, and Keyward's end of the flow."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False  # SSO never creates a person (SPEC 17)

    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        if provider is None:
            return []  # apps are looked up by provider id only: there is no list of them
        sso = sso_by_provider_id(provider)
        if sso is None or (client_id is not None and sso.client_id != client_id):
            return []
        try:
            secret = secret_open(sso.client_secret_sealed, account_id=sso.account_id)
        except SecretUnreadable:
            logger.warning("SSO client secret of account %s cannot be opened", sso.account_id)
            return []
        return [
            SocialApp(
                provider="openid_connect",
                provider_id=sso.provider_id,
                name=f"{sso.account.name} SSO",
                client_id=sso.client_id,
                secret=secret,
                settings={
                    "server_url": sso.issuer,
                    "oauth_pkce_enabled": True,
                    "fetch_userinfo": False,  # the signed ID token's claims, nothing else
                },
            )
        ]

    def get_app(
        self, request: HttpRequest | None, provider: str, client_id: str | None = None
    ) -> SocialApp:
        apps = self.list_apps(request, provider=provider, client_id=client_id)
        if not apps:
            raise SocialApp.DoesNotExist
        return apps[0]

    def get_provider(
        self, request: HttpRequest, provider: str, client_id: str | None = None
    ) -> SsoProvider:
        return SsoProvider(request, app=self.get_app(request, provider, client_id))

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        raise ImmediateHttpResponse(flow.sso_finish(request, sociallogin))

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: str | None = None,
        exception: Exception | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        raise ImmediateHttpResponse(
            flow.sso_failed(request, error=error, exception=exception, context=extra_context or {})
        )
