"""The wizard's templates fit the person's role, and a review comes before Generate token."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.constants import Plan, Role
from tests.factories import AccountFactory, MembershipFactory, ZoneFactory
from tests.tokens.conftest import enter_sudo, wizard_post
from tokens.models import Token

pytestmark = pytest.mark.django_db

NEW = reverse("tokens:new")


def _signed_in(client, person, password):
    client.force_login(person)
    enter_sudo(client, password)
    return client


def test_sending_the_wizard_shows_the_review_and_creates_nothing(
    client, account, engineer, password
):
    zone = ZoneFactory(account=account, name="acme.example")
    ZoneFactory(account=account, name="other.example")
    _signed_in(client, engineer, password)
    data = wizard_post(
        step="review",
        name="certbot on web1",
        scopes=["zones:write"],
        zones_mode="selected",
        zones_ids=[str(zone.pk)],
        allowed_ips="203.0.113.0/24",
        expiration="30",
        **{"rule-0-name": "_acme-challenge", "rule-0-types": ["TXT"]},
    )
    response = client.post(NEW, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Review “certbot on web1”" in html
    assert f"In {account.name}" in html and "as engineer" in html
    assert "Change DNS zones and records" in html or "change" in html.lower()
    assert "Only these zones: acme.example" in html and "other.example" not in html
    assert "Only TXT records named _acme-challenge" in html
    assert "203.0.113.0/24" in html
    assert 'name="step" value="generate"' in html and "Generate token" in html
    assert f'type="hidden" name="zones_ids" value="{zone.pk}"' in html
    assert not Token.objects.exists()

    created = client.post(NEW, {**data, "step": "generate"})
    token = Token.objects.get()
    assert created.status_code == 302
    assert created["Location"] == reverse("tokens:reveal", args=[token.pk])
    reveal = client.get(created["Location"]).content.decode()
    assert "What it can do" in reveal and "acme.example" in reveal
    assert "Only TXT records named _acme-challenge" in reveal


def test_change_something_goes_back_to_the_filled_form(client, engineer, password):
    _signed_in(client, engineer, password)
    response = client.post(NEW, wizard_post(step="edit", name="Kept name"))
    assert response.status_code == 200
    assert 'value="Kept name"' in response.content.decode()
    assert not Token.objects.exists()


def test_a_form_with_errors_shows_them_instead_of_the_review(client, engineer, password):
    _signed_in(client, engineer, password)
    response = client.post(NEW, wizard_post(step="review", allowed_ips="not an ip"))
    assert response.status_code == 200
    assert "Review “" not in response.content.decode()
    assert response.context["form"].errors


def test_a_viewer_is_not_offered_acme_or_purge(client, account, member_factory, password):
    viewer = member_factory(account, "user")
    _signed_in(client, viewer, password)
    offers = {o.template.slug: o.refusal for o in client.get(NEW).context["templates"]}
    assert offers["read-only"] is None
    assert "ACME DNS-01 certificates is not for your role" in offers["acme-dns-01"]
    assert f"your role in {account.name} (user)" in offers["acme-dns-01"]
    assert "CDN purge from CI is not for your role" in offers["cdn-purge"]
    assert "Certificate renewer makes an automation token" in offers["certificate-renewer"]
    page = client.get(NEW, {"template": "acme-dns-01"})
    html = page.content.decode()
    assert "were not used" in html and "ACME DNS-01 certificates" in html
    assert 'value="zones:write" id="scope-zones-write" checked' not in html


def test_billing_is_not_offered_acme(client, account, member_factory, password):
    billing = member_factory(account, "billing")
    _signed_in(client, billing, password)
    offers = {o.template.slug: o.refusal for o in client.get(NEW).context["templates"]}
    assert offers["acme-dns-01"] is not None and "(billing)" in offers["acme-dns-01"]


def test_the_chosen_template_is_highlighted_and_kept(client, engineer, password):
    _signed_in(client, engineer, password)
    html = client.get(NEW, {"template": "acme-dns-01"}).content.decode()
    assert 'class="template-card template-card-chosen"' in html
    assert '<input type="hidden" name="template" value="acme-dns-01">' in html


def test_the_certificate_renewer_is_a_user_role_token_with_tls(client, account, owner, password):
    _signed_in(client, owner, password)
    form = client.get(NEW, {"template": "certificate-renewer"}).context["form"]
    assert form.initial["role"] == "user" and form.initial["tls_access"] is True
    data = wizard_post(
        name="Certificate renewer",
        token_type="automation",
        account=str(account.pk),
        role="user",
        tls_access="on",
        scopes=["certificates:write"],
    )
    response = client.post(NEW, data)
    assert response.status_code == 302, response.context["form"].errors
    token = Token.objects.get()
    assert token.role == "user" and token.tls_access and token.scopes == ["certificates:write"]


def test_a_user_token_is_reviewed_as_capped_by_your_role(client, engineer, password):
    """A user token acts as its owner: where the owner's role allows none of its scopes, the
    review says so in those words (an automation token's scopes must fit its own role)."""
    books = AccountFactory(name="Books Ltd", slug="books", plan=Plan.TEAMS)
    MembershipFactory(user=engineer, account=books, role=Role.BILLING)
    _signed_in(client, engineer, password)
    html = client.post(NEW, wizard_post(step="review", name="zones reader")).content.decode()
    assert "In Books Ltd" in html
    assert "It may do nothing here: your role allows none of its scopes." in html
