"""The SSO page of an enterprise account (SPEC 17): who sees it, saving, Test sign-in, force."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from accounts.constants import Plan
from accounts.models import Account
from accounts.sso.crypto import secret_open
from accounts.sso.models import AccountSso
from tests.accounts.sso.conftest import through_idp
from tests.factories import AccountFactory, MembershipFactory, UserFactory, issue_user_token
from tests.tokens.conftest import enter_sudo
from tokens.models import Event, EventKind

pytestmark = pytest.mark.django_db


def page(world):
    return reverse("accounts:sso", args=[world.account.slug])


def signed_in_with_sudo(client, user, password):
    client.force_login(user)
    enter_sudo(client, password)


def test_only_superusers_of_enterprise_accounts_see_it(client, sso_world, password):
    client.force_login(sso_world.engineer)
    refused = client.get(page(sso_world))
    assert refused.status_code == 403
    assert b"Only superusers set up single sign-on" in refused.content

    teams = AccountFactory(plan=Plan.TEAMS, name="Teams Co")
    boss = UserFactory()
    MembershipFactory(user=boss, account=teams, role="superuser")
    client.force_login(boss)
    answer = client.get(reverse("accounts:sso", args=[teams.slug]))
    assert answer.status_code == 403
    assert b"Single sign-on comes with Enterprise" in answer.content
    plan = client.get(reverse("accounts:plan", args=[teams.slug]))
    assert b"Single sign-on with OpenID Connect" in plan.content
    assert (
        b'href="/a/' + teams.slug.encode() + b'/sso/"'
        not in client.get(f"/a/{teams.slug}/").content
    )


def test_a_stranger_gets_404(client, sso_world):
    client.force_login(UserFactory())
    assert client.get(page(sso_world)).status_code == 404


def test_saving_needs_sudo_and_keeps_the_secret_when_left_blank(
    client, sso_world, password, oidc_provider
):
    client.force_login(sso_world.owner)
    data = {
        "action": "save",
        "issuer": oidc_provider.issuer + "/",
        "client_id": sso_world.client.client_id,
        "client_secret": "",
        "domains": f"{sso_world.domain}, Other.example",
    }
    detour = client.post(page(sso_world), data)
    assert detour.status_code == 302 and detour["Location"].startswith("/sudo/")
    assert AccountSso.objects.get().domains == [sso_world.domain]

    enter_sudo(client, password)
    saved = client.post(page(sso_world), data)

    assert saved.status_code == 302
    sso = AccountSso.objects.get()
    assert sso.domains == sorted([sso_world.domain, "other.example"])
    assert sso.issuer == oidc_provider.issuer
    assert secret_open(sso.client_secret_sealed, account_id=sso.account_id) == (
        sso_world.client.client_secret
    )
    assert sso.enabled  # same issuer, client and secret: the test still stands
    event = Event.objects.filter(kind=EventKind.SSO_CHANGED).latest("pk")
    assert event.details["after"]["domains"] == sso.domains
    assert sso_world.client.client_secret not in str(event.details)


def test_a_new_secret_is_sealed_and_needs_a_new_test(client, sso_world, password):
    signed_in_with_sudo(client, sso_world.owner, password)
    sso = sso_world.sso
    response = client.post(
        page(sso_world),
        {
            "action": "save",
            "issuer": sso.issuer,
            "client_id": sso.client_id,
            "client_secret": "a-brand-new-secret",
            "domains": sso_world.domain,
        },
    )
    assert response.status_code == 302
    sso.refresh_from_db()
    assert b"a-brand-new-secret" not in bytes(sso.client_secret_sealed)
    assert secret_open(sso.client_secret_sealed, account_id=sso.account_id) == "a-brand-new-secret"
    assert not sso.enabled and sso.tested_at is None
    event = Event.objects.filter(kind=EventKind.SSO_CHANGED).latest("pk")
    assert event.details["after"]["client_secret_changed"] is True
    assert "a-brand-new-secret" not in str(event.details)
    assert b"a-brand-new-secret" not in client.get(page(sso_world)).content


@pytest.mark.parametrize(
    ("issuer", "error", "listed_as_insecure"),
    [
        ("https://127.0.0.1:1", "could not be reached", True),
        ("http://idp.example", "must start with https://", False),
        # Never a probe of Keyward's own network: loopback, private, link-local (metadata).
        ("https://127.0.0.1:1", "127.0.0.1 is not a public address", False),
        ("https://10.20.30.40", "10.20.30.40 is not a public address", False),
        ("https://169.254.169.254", "169.254.169.254 is not a public address", False),
    ],
)
def test_an_issuer_without_a_usable_discovery_document_is_refused(
    client, sso_world, password, settings, issuer, error, listed_as_insecure
):
    if listed_as_insecure:
        settings.KEYWARD_OIDC_INSECURE_ISSUERS = [issuer]
    signed_in_with_sudo(client, sso_world.owner, password)
    before = AccountSso.objects.get().issuer
    response = client.post(
        page(sso_world),
        {"action": "save", "issuer": issuer, "client_id": "x", "domains": sso_world.domain},
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert AccountSso.objects.get().issuer == before


def test_an_issuer_whose_document_names_another_issuer_is_refused(
    client, sso_world, password, oidc_provider, settings
):
    alias = oidc_provider.issuer.replace("127.0.0.1", "localhost")
    settings.KEYWARD_OIDC_INSECURE_ISSUERS = [alias]
    signed_in_with_sudo(client, sso_world.owner, password)
    response = client.post(
        page(sso_world),
        {"action": "save", "issuer": alias, "client_id": "x", "domains": sso_world.domain},
    )
    assert response.status_code == 200
    assert "names the issuer" in response.content.decode()


def test_test_sign_in_enables_sso_for_the_superuser_who_ran_it(
    client, sso_world, password, oidc_provider
):
    AccountSso.objects.update(enabled=False, tested_at=None)
    signed_in_with_sudo(client, sso_world.owner, password)

    start = client.post(page(sso_world), {"action": "test"})
    answer = through_idp(client, sso_world, start, email=sso_world.owner.email)

    assert answer.status_code == 302 and answer["Location"] == page(sso_world)
    sso = sso_world.sso
    assert sso.enabled and sso.tested_at is not None
    followed = client.get(page(sso_world))
    assert b"Test sign-in worked" in followed.content


def test_test_sign_in_as_someone_else_changes_nothing(client, sso_world, password):
    AccountSso.objects.update(enabled=False, tested_at=None)
    signed_in_with_sudo(client, sso_world.owner, password)
    start = client.post(page(sso_world), {"action": "test"})
    answer = through_idp(client, sso_world, start, email=sso_world.engineer.email)
    assert answer.status_code == 403
    assert not sso_world.sso.enabled


def test_force_sso_previews_the_tokens_it_would_block_then_turns_on(client, sso_world, password):
    blocked = issue_user_token(sso_world.engineer, name="laptop").token
    signed_in_with_sudo(client, sso_world.owner, password)

    preview = client.post(page(sso_world), {"action": "force_preview"})
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "1 token would need SSO authorization" in text and blocked.display in text
    assert not Account.objects.get(pk=sso_world.account.pk).force_sso
    # From a password session it is refused: its author would be shut out.
    refused = client.post(page(sso_world), {"action": "force_on"}, follow=True)
    assert b"Run Test sign-in first" in refused.content
    assert not Account.objects.get(pk=sso_world.account.pk).force_sso

    start = client.post(page(sso_world), {"action": "test"})
    through_idp(client, sso_world, start, email=sso_world.owner.email)
    assert client.post(page(sso_world), {"action": "force_on"}).status_code == 302
    assert Account.objects.get(pk=sso_world.account.pk).force_sso
    event = Event.objects.filter(kind=EventKind.SSO_CHANGED).latest("pk")
    assert event.details["before"]["force_sso"] is False
    assert event.details["after"]["force_sso"] is True


def test_force_sso_is_refused_before_a_successful_test(client, sso_world, password):
    AccountSso.objects.update(enabled=False, tested_at=None)
    signed_in_with_sudo(client, sso_world.owner, password)
    mark = {str(sso_world.account.pk): {"user": sso_world.owner.pk, "at": time.time()}}
    session = client.session
    session["sso_sign_ins"] = mark
    session.save()
    followed = client.post(page(sso_world), {"action": "force_on"}, follow=True)
    assert b"Run a successful Test sign-in before forcing single sign-on" in followed.content
    assert not Account.objects.get(pk=sso_world.account.pk).force_sso


def test_a_domain_another_account_vouches_for_is_refused(client, sso_world, password):
    other = AccountFactory(plan=Plan.ENTERPRISE)
    AccountSso.objects.create(
        account=other, issuer="https://idp.other.example", client_id="x", domains=["taken.example"]
    )
    signed_in_with_sudo(client, sso_world.owner, password)
    sso = sso_world.sso
    response = client.post(
        page(sso_world),
        {
            "action": "save",
            "issuer": sso.issuer,
            "client_id": sso.client_id,
            "domains": f"{sso_world.domain}\ntaken.example",
        },
    )
    assert response.status_code == 200
    assert "already vouches for taken.example" in response.content.decode()
    assert AccountSso.objects.get(account=sso_world.account).domains == [sso_world.domain]
