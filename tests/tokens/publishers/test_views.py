"""The Trusted publishers page (SPEC 18): superusers only; add, edit and delete behind sudo;
the audience shown; the tester (which condition held, nothing minted); and minted tokens
listed on the account tokens page as "minted by <publisher>"."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from tests.factories import PASSWORD
from tests.tokens.conftest import enter_sudo, through_sudo
from tests.tokens.publishers.conftest import exchange
from tokens.models import Token
from tokens.publishers.models import Publisher, UsedIdToken

pytestmark = pytest.mark.django_db


def page(account) -> str:
    return reverse("tokens:publishers", args=[account.slug])


def new(account, provider: str = "github") -> str:
    return reverse("tokens:publisher-new", args=[account.slug]) + f"?provider={provider}"


def form(issuer, **values: Any) -> dict[str, Any]:
    data = {
        "provider": "github",
        "name": "Deploys",
        "issuer": issuer.issuer,
        "condition_repository": "octo-org/octo-repo",
        "condition_repository_id": "74",
        "condition_repository_owner_id": "65",
        "condition_environment": "prod",
        "role": "engineer",
        "scopes": ["zones:read", "zones:write"],
        "lifetime_minutes": "15",
        "zones_mode": "all",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def test_only_superusers_see_the_page_and_its_link(client, world, member_factory):
    engineer = member_factory(world.account, "engineer")
    client.force_login(engineer)
    answer = client.get(page(world.account))
    assert answer.status_code == 403
    assert "Only superusers manage trusted publishers" in answer.content.decode()
    assert client.get(new(world.account)).status_code == 403
    assert (
        client.post(reverse("tokens:publishers-test", args=[world.account.slug])).status_code == 403
    )
    assert page(world.account) not in client.get(reverse("tokens:list")).content.decode()

    client.force_login(world.owner)
    html = client.get(page(world.account)).content.decode()
    assert "Trusted publishers" in html and 'id="oidc-audience">keyward<' in html
    assert f'href="{page(world.account)}"' in html  # the nav link


def test_adding_needs_sudo_then_saves_what_was_sent(client, issuer, world):
    client.force_login(world.owner)
    first = client.get(new(world.account))
    assert first.status_code == 302 and reverse("accounts:sudo") in first["Location"]

    enter_sudo(client, PASSWORD)
    html = client.get(new(world.account)).content.decode()
    for label in ("Repository", "Repository id", "Owner id", "Workflow", "Environment", "Ref"):
        assert f">{label}</label>" in html
    saved = client.post(new(world.account), form(issuer))
    assert saved.status_code == 302 and saved["Location"] == page(world.account)
    publisher = Publisher.objects.get()
    assert publisher.conditions["repository_id"] == "74"
    assert publisher.scopes == ["zones:read", "zones:write"]
    listed = client.get(page(world.account)).content.decode()
    assert "Deploys" in listed and "octo-org/octo-repo" in listed


def test_the_form_shows_the_rules_answers_beside_the_fields(client, issuer, world):
    client.force_login(world.owner)
    enter_sudo(client, PASSWORD)
    answer = client.post(
        new(world.account),
        form(issuer, condition_environment="", condition_repository_id="seventy-four"),
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "A number, e.g. 74." in html
    assert "Nothing was saved" in html
    assert not Publisher.objects.exists()

    unpinned = client.post(new(world.account), form(issuer, condition_environment=""))
    assert "pin an environment or an exact ref" in unpinned.content.decode()
    assert not Publisher.objects.exists()


def test_a_form_sent_after_sudo_lapsed_is_carried_out_after_the_password(client, issuer, world):
    client.force_login(world.owner)
    sent = client.post(new(world.account), form(issuer))
    assert sent.status_code == 302 and reverse("accounts:sudo") in sent["Location"]
    assert not Publisher.objects.exists()
    back = through_sudo(client, sent, PASSWORD)
    assert back.status_code == 302
    assert Publisher.objects.get().name == "Deploys"


def test_editing_and_deleting(client, issuer, world):
    publisher = world.add(issuer)
    client.force_login(world.owner)
    enter_sudo(client, PASSWORD)
    edit = reverse("tokens:publisher-edit", args=[world.account.slug, publisher.pk])
    html = client.get(edit).content.decode()
    assert 'value="octo-org/octo-repo"' in html and 'value="prod"' in html
    assert client.post(edit, form(issuer, name="Renamed", lifetime_minutes="30")).status_code == 302
    publisher.refresh_from_db()
    assert publisher.name == "Renamed" and publisher.lifetime_minutes == 30

    minted = exchange(client, issuer.github_token()).json()["data"]
    delete = reverse("tokens:publisher-delete", args=[world.account.slug, publisher.pk])
    confirm = client.get(delete).content.decode()
    assert (
        "Delete “Renamed”?" in confirm
        and "1 token it minted that still works is revoked" in confirm
    )
    assert client.post(delete).status_code == 302
    assert not Publisher.objects.exists() and not Token.objects.filter(pk=minted["id"]).exists()


def test_another_accounts_publisher_is_not_found(client, issuer, world, member_factory):
    from tests.factories import AccountFactory
    from tests.tokens.publishers.conftest import add_publisher

    other = AccountFactory()
    theirs = add_publisher(other, member_factory(other, "superuser"), issuer)
    client.force_login(world.owner)
    enter_sudo(client, PASSWORD)
    for name in ("tokens:publisher-edit", "tokens:publisher-delete"):
        url = reverse(name, args=[world.account.slug, theirs.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, form(issuer)).status_code == 404
    assert Publisher.objects.get(pk=theirs.pk).name == "Deploys"


def test_the_tester_says_which_condition_held_and_mints_nothing(client, issuer, world):
    world.add(issuer, name="Prod deploys")
    world.add(issuer, name="Staging", conditions={
        "repository": "octo-org/octo-repo", "repository_id": "74",
        "repository_owner_id": "65", "environment": "staging",
    })  # fmt: skip
    client.force_login(world.owner)
    test = reverse("tokens:publishers-test", args=[world.account.slug])

    id_token = issuer.github_token()
    html = client.post(test, {"id_token": id_token}).content.decode()
    assert 'Prod deploys: <span class="badge badge-ok">matches' in html
    assert 'Staging: <span class="badge badge-danger">does not match' in html
    assert html.count("not held") == 1  # the environment of Staging
    assert not Token.objects.exists() and not UsedIdToken.objects.exists()
    assert exchange(client, id_token).status_code == 201  # the tester did not use it up

    claims = issuer.github_claims(repository_id="999", environment="staging")
    html = client.post(test, {"id_token": json.dumps(claims)}).content.decode()
    assert html.count("not held") == 3  # repository_id, for both; environment, for Prod
    assert "does not match" in html and "repository_id: 999" in html

    bad = client.post(test, {"id_token": "neither a token nor JSON"})
    assert bad.status_code == 200
    assert "neither an ID token" in bad.content.decode()


def test_minted_tokens_are_listed_as_minted_by_their_publisher(client, issuer, world):
    world.add(issuer, name="Deploys from prod")
    claims = issuer.github_claims()
    assert exchange(client, issuer.mint(claims)).status_code == 201
    client.force_login(world.owner)
    html = client.get(reverse("tokens:account-list", args=[world.account.slug])).content.decode()
    assert f"Minted by Deploys from prod, run {claims['run_id']}" in html
