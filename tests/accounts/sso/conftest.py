"""An enterprise account with SSO on the real OpenID provider, and the flow over HTTP."""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.constants import Plan, Role
from accounts.models import Account, User
from accounts.sso.models import AccountSso
from accounts.sso.services import sso_configure, sso_force_set, sso_test_passed
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.support.oidc_provider import OidcClient, OidcProvider
from tokens.events import Actor

CALLBACKS = "http://testserver/accounts/oidc/*/login/callback/"


@dataclass
class SsoWorld:
    provider: OidcProvider
    client: OidcClient
    account: Account
    domain: str
    owner: User
    engineer: User

    @property
    def sso(self) -> AccountSso:
        return AccountSso.objects.get(account=self.account)

    def idp_user(self, user: User | str, password: str = "idp-password") -> str:
        email = user if isinstance(user, str) else user.email
        self.provider.add_user(email, password)
        return email


@pytest.fixture
def sso_world(db, oidc_provider, settings) -> SsoWorld:
    """Acme Corp (enterprise) whose SSO (tested, on) vouches for a domain of its own."""
    settings.KEYWARD_OIDC_INSECURE_ISSUERS = [oidc_provider.issuer]
    domain = f"corp-{secrets.token_hex(3)}.example"
    client = oidc_provider.add_client(redirect_uris=[CALLBACKS])
    account = AccountFactory(
        name="Acme Corp", slug=f"acme-{secrets.token_hex(2)}", plan=Plan.ENTERPRISE
    )
    owner = UserFactory(email=f"owner@{domain}")
    engineer = UserFactory(email=f"engineer@{domain}")
    MembershipFactory(user=owner, account=account, role=Role.SUPERUSER)
    MembershipFactory(user=engineer, account=account, role=Role.ENGINEER)
    sso_configure(
        actor=Actor.person(owner),
        account=account,
        issuer=oidc_provider.issuer,
        client_id=client.client_id,
        client_secret=client.client_secret,
        domains=[domain],
    )
    sso_test_passed(actor=Actor.person(owner), account=account)
    world = SsoWorld(oidc_provider, client, account, domain, owner, engineer)
    for user in (owner, engineer):
        world.idp_user(user)
    return world


def force_sso(world: SsoWorld) -> None:
    sso_force_set(actor=Actor.person(world.owner), account=world.account, force=True)
    world.account.refresh_from_db()


def through_idp(
    client: Client, world: SsoWorld, start, *, email: str, password: str = "idp-password"
):
    """Follow `start` (the page sending the browser on to the provider) through its sign-in
    page; answers Keyward's response to the callback."""
    callback = world.provider.sign_in(idp_url(start), email=email, password=password)
    parts = urlsplit(callback)
    assert parts.netloc == "testserver", callback
    return client.get(f"{parts.path}?{parts.query}")


def idp_url(start) -> str:
    """Where the page that starts an SSO sign-in sends the browser (its meta refresh)."""
    assert start.status_code == 200, start.content[:500]
    found = re.search(rb'<meta http-equiv="refresh" content="0; url=([^"]+)">', start.content)
    assert found, start.content[:500]
    return html.unescape(found.group(1).decode())


def sso_sign_in(client: Client, world: SsoWorld, email: str, **kwargs):
    start = client.post(reverse("accounts:sign-in-sso"), {"email": email})
    return through_idp(client, world, start, email=email, **kwargs)
