"""SPEC 14 in the panel: "Limit to records" in the wizard and Edit permissions, rules in words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.constants import Role
from tests.factories import issue_user_token
from tests.tokens.conftest import enter_sudo, wizard_post
from tokens.models import Event, Token

pytestmark = pytest.mark.django_db

ACME_ROWS = {
    "rule-0-name": "_acme-challenge",
    "rule-0-types": ["TXT"],
    "rule-1-name": "_acme-challenge.*",
    "rule-1-types": ["TXT"],
    "rule-2-name": "",
}
ACME = [
    {"name": "_acme-challenge", "types": ["TXT"]},
    {"name": "_acme-challenge.*", "types": ["TXT"]},
]


@pytest.fixture
def sudo_client(client, engineer, password):
    client.force_login(engineer)
    enter_sudo(client, password)
    return client


def test_wizard_shows_no_blank_rule_until_one_is_added(sudo_client):
    page = sudo_client.get(reverse("tokens:new")).content.decode()
    assert "Limit to records" in page
    assert 'name="rule-0-name"' not in page
    assert "Add a rule" in page
    added = sudo_client.post(reverse("tokens:new"), wizard_post(_refresh="add-rule"))
    html = added.content.decode()
    assert 'name="rule-0-name"' in html and 'name="rule-1-name"' not in html
    assert "Record types (rule 1)" in html
    assert "placeholder" not in html.split('name="rule-0-name"')[1].split(">")[0]


def test_wizard_creates_a_token_with_rules(sudo_client):
    response = sudo_client.post(
        reverse("tokens:new"), wizard_post(scopes=["zones:write"], **ACME_ROWS)
    )
    assert response.status_code == 302
    token = Token.objects.get()
    assert token.record_rules == ACME
    listing = sudo_client.get(reverse("tokens:list")).content.decode()
    assert "Only TXT records named _acme-challenge or _acme-challenge.*" in listing


def test_wizard_names_a_bad_rule(sudo_client):
    response = sudo_client.post(
        reverse("tokens:new"),
        wizard_post(**{"rule-0-name": "www", "rule-1-name": "Bad Name"}),
    )
    assert response.status_code == 200
    assert "Rule 2: Write the name in lower case." in response.content.decode()
    assert not Token.objects.exists()


def test_add_and_remove_rows_without_javascript(sudo_client):
    data = wizard_post(**ACME_ROWS, _refresh="add-rule")
    page = sudo_client.post(reverse("tokens:new"), data).content.decode()
    assert 'name="rule-3-name"' in page and 'name="rule-4-name"' not in page
    assert 'value="_acme-challenge.*"' in page
    data = wizard_post(**ACME_ROWS, _refresh="remove-rule-0")
    page = sudo_client.post(reverse("tokens:new"), data).content.decode()
    assert 'value="_acme-challenge"' not in page and 'value="_acme-challenge.*"' in page
    assert not Token.objects.exists()


def test_add_a_rule_with_htmx_answers_the_section(sudo_client):
    data = wizard_post(**ACME_ROWS, _refresh="add-rule")
    response = sudo_client.post(reverse("tokens:new"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="record-rules"' in response.content.decode()


def test_edit_narrows_without_sudo_and_widens_with_it(client, engineer, password):
    token = issue_user_token(engineer, scopes=["zones:write"], record_rules=ACME).token
    client.force_login(engineer)  # no sudo
    url = reverse("tokens:edit", args=[token.pk])
    page = client.get(url).content.decode()
    assert 'value="_acme-challenge.*"' in page
    assert "DNS: only TXT records named _acme-challenge or _acme-challenge.*." in page
    base = wizard_post(name=token.name, scopes=["zones:write"])
    narrower = {**base, "rule-0-name": "_acme-challenge", "rule-0-types": ["TXT"]}
    assert client.post(url, narrower).status_code == 302
    token.refresh_from_db()
    assert token.record_rules == ACME[:1]
    # Removing every rule widens: the password first, nothing changed yet.
    response = client.post(url, {**base, "rule-0-name": ""})
    assert response.status_code == 302 and reverse("accounts:sudo") in response["Location"]
    token.refresh_from_db()
    assert token.record_rules == ACME[:1]
    enter_sudo(client, password)
    assert client.post(url, {**base, "rule-0-name": ""}).status_code == 302
    token.refresh_from_db()
    assert token.record_rules == []
    after = Event.objects.filter(kind="token.updated").latest("id").details
    assert after["before"]["record_rules"] == ACME[:1] and after["after"]["record_rules"] == []


# --------------------------------------------------------------------------- templates, prefill


def _checked(page: str, html_id: str) -> bool:
    start = page.index(f'id="{html_id}"')
    tag = page[page.rindex("<", 0, start) : page.index(">", start)]
    return " checked" in tag


def test_template_cards_and_the_acme_template(sudo_client):
    page = sudo_client.get(reverse("tokens:new")).content.decode()
    assert "?template=acme-dns-01" in page and "?template=read-only" in page
    assert "certificate-renewer" not in page  # superusers only
    page = sudo_client.get(reverse("tokens:new") + "?template=acme-dns-01").content.decode()
    assert _checked(page, "scope-zones-write") and not _checked(page, "scope-global")
    assert 'value="_acme-challenge"' in page and 'value="_acme-challenge.*"' in page
    assert _checked(page, "rule-0-TXT") and not _checked(page, "rule-0-A")
    assert 'value="ACME DNS-01"' in page


def test_cdn_and_read_only_templates(sudo_client):
    page = sudo_client.get(reverse("tokens:new") + "?template=cdn-purge").content.decode()
    assert (
        _checked(page, "scope-purge-select")
        and 'name="services_mode" value="selected" checked' in page
    )
    page = sudo_client.get(reverse("tokens:new") + "?template=read-only").content.decode()
    assert _checked(page, "scope-global-read") and not _checked(page, "scope-zones-write")


def test_certificate_renewer_for_superusers(client, account, member_factory, password):
    owner = member_factory(account, Role.SUPERUSER)
    client.force_login(owner)
    enter_sudo(client, password)
    page = client.get(reverse("tokens:new") + "?template=certificate-renewer").content.decode()
    assert 'name="token_type" value="automation" checked' in page
    assert _checked(page, "scope-certificates-write") and _checked(page, "id_tls_access")


def test_prefill_link_fills_and_drops_unknown_values(sudo_client):
    url = reverse("tokens:new") + (
        "?name=Terraform&scopes=zones:read,zones:write,bogus&expires=30&type=automation"
        "&account=nope&template=nope"
    )
    response = sudo_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert _checked(page, "scope-zones-read") and _checked(page, "scope-zones-write")
    assert not _checked(page, "scope-global")
    assert 'value="Terraform"' in page
    assert 'name="expiration" value="30" checked' in page
    for dropped in ("scope “bogus”", "type “automation”", "account “nope”", "template “nope”"):
        assert dropped in page
    assert not Token.objects.exists()
