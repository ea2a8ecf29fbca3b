"""`manage.py import_legacy_keys FILE`: legacy keys become global tokens that keep working."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from accounts.models import Account, Membership, User
from accounts.services.identity import CredentialsRejected, credentials_check
from tests.factories import AccountFactory, issue_user_token
from tokens.auth.bearer import AuthenticationFailed, authenticate
from tokens.models import Event, EventKind, Token

pytestmark = pytest.mark.django_db

KEY_ACME_1 = "LEGACYacme0000000000000000000001"
KEY_ACME_2 = "legacy.acme-key_2.0123456789abcdef"
KEY_SOLO = "solokey-ABCDEFGHIJKLMNOP"


@pytest.fixture
def accounts():
    return AccountFactory(slug="acme", name="Acme"), AccountFactory(slug="solo", name="Solo")


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _import(path: Path) -> str:
    out = StringIO()
    call_command("import_legacy_keys", str(path), stdout=out)
    return out.getvalue()


def _bearer(key: str, account_id: int | None = None):
    request = RequestFactory().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {key}")
    return authenticate(request, account_id)


GOOD = (
    "account,key,created_at\n"
    f"acme,{KEY_ACME_1},2019-04-02\n"
    f"acme,{KEY_ACME_2},2020-11-30T08:15:00+01:00\n"
    f"solo,{KEY_SOLO},2021-01-15\n"
)


def test_imports_global_tokens_owned_by_a_synthetic_user_per_account(tmp_path, accounts):
    acme, solo = accounts
    output = _import(_csv(tmp_path, GOOD))

    assert "Imported 3 legacy keys; 0 already imported." in output
    owner = User.objects.get(email="global-api-token+acme@keyward.invalid")
    assert owner.name == "Global API Token"
    assert owner.is_synthetic
    assert not owner.has_usable_password()
    assert Membership.objects.get(user=owner, account=acme).role == "superuser"
    assert not Membership.objects.filter(user=owner, account=solo).exists()

    tokens = Token.objects.filter(user=owner).order_by("created_at")
    assert [token.created_at for token in tokens] == [
        datetime(2019, 4, 2, tzinfo=UTC),
        datetime(2020, 11, 30, 7, 15, tzinfo=UTC),
    ]
    for token in tokens:
        assert token.type == "user"
        assert token.scopes == ["global"]
        assert token.expires_at is None
        assert token.is_legacy
        assert token.imported_at is not None and token.imported_at > token.created_at
        assert token.resources_json() == {
            "zones": "all",
            "domains": "all",
            "registrar": "all",
            "certificates": "all",
            "services": "all",
        }
    assert Token.objects.get(user__email="global-api-token+solo@keyward.invalid").display == (
        "…MNOP"
    )
    created = Event.objects.filter(kind=EventKind.TOKEN_CREATED)
    assert created.count() == 3
    assert {event.actor_kind for event in created} == {"system"}
    for event in created:  # never a secret in the log
        assert KEY_ACME_1 not in str(event.details) + event.summary


def test_the_old_key_string_keeps_authenticating(tmp_path, accounts):
    acme, solo = accounts
    _import(_csv(tmp_path, GOOD))

    principal = _bearer(KEY_ACME_1)

    assert principal.user_email == "global-api-token+acme@keyward.invalid"
    access = _bearer(KEY_ACME_1, acme.pk).access
    assert access is not None and access.role == "superuser"
    assert _bearer(KEY_ACME_1, solo.pk).access is None  # one account's key acts there only
    with pytest.raises(AuthenticationFailed):
        _bearer(KEY_ACME_1[:-1] + "X")


def test_the_old_key_works_through_the_api(client, tmp_path, accounts):
    acme, _ = accounts
    _import(_csv(tmp_path, GOOD))

    response = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {KEY_ACME_2}")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["token"]["type"] == "user"
    assert data["token"]["scopes"] == ["global"]
    assert data["user"]["email"] == "global-api-token+acme@keyward.invalid"
    assert KEY_ACME_2 not in response.content.decode()
    zones = client.get(
        f"/api/v1/accounts/{acme.pk}/zones", HTTP_AUTHORIZATION=f"Bearer {KEY_ACME_2}"
    )
    assert zones.status_code == 200


def test_the_synthetic_user_cannot_sign_in(tmp_path, accounts):
    _import(_csv(tmp_path, GOOD))
    request = RequestFactory().post("/sign-in/")
    with pytest.raises(CredentialsRejected):
        credentials_check(
            request=request, email="global-api-token+acme@keyward.invalid", password=""
        )


def test_rerunning_changes_nothing(tmp_path, accounts):
    path = _csv(tmp_path, GOOD)
    _import(path)
    snapshot = list(Token.objects.order_by("pk").values())
    users, events = User.objects.count(), Event.objects.count()

    output = _import(path)

    assert "Imported 0 legacy keys; 3 already imported." in output
    assert list(Token.objects.order_by("pk").values()) == snapshot
    assert User.objects.count() == users
    assert Event.objects.count() == events


def test_a_later_file_adds_only_new_keys(tmp_path, accounts):
    _import(_csv(tmp_path, GOOD))
    more = GOOD + "acme,brand-new-legacy-key-0001,2022-02-02\n"
    assert "Imported 1 legacy key; 3 already imported." in _import(_csv(tmp_path, more))
    assert Token.objects.filter(user__email="global-api-token+acme@keyward.invalid").count() == 3
    assert User.objects.filter(is_synthetic=True).count() == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("acct,key,created\nacme,whatever-key-000000,2020-01-01\n", "line 1: the header must be"),
        ("", "line 1: the header must be"),
        (GOOD + "nowhere,some-legacy-key-000001,2020-01-01\n", "line 5: unknown account 'nowhere'"),
        (GOOD + "acme,short,2020-01-01\n", "line 5: the key must be 16 to 128 characters"),
        (GOOD + "acme,has spaces in the key 00,2020-01-01\n", "line 5: the key must be"),
        (GOOD + "acme,another-legacy-key-0001,yesterday\n", "line 5: created_at 'yesterday'"),
        (GOOD + "acme,another-legacy-key-0001,2999-01-01\n", "created_at is in the future"),
        (GOOD + "acme,another-legacy-key-0001\n", "line 5: expected 3 columns"),
        (GOOD + f"solo,{KEY_ACME_1},2020-01-01\n", "line 5: the same key is already on line 2"),
        (
            GOOD + "acme,kwu_0000000000000000000000000000000000000,2020-01-01\n",
            "is a Keyward token",
        ),
    ],
)
def test_bad_input_imports_nothing(tmp_path, accounts, text, message):
    with pytest.raises(CommandError) as error:
        _import(_csv(tmp_path, text))
    assert message in str(error.value)
    assert "nothing was imported" in str(error.value) or "header" in str(error.value)
    assert not Token.objects.exists()
    assert not User.objects.filter(is_synthetic=True).exists()
    assert not Event.objects.exists()


def test_all_problems_are_reported_at_once(tmp_path, accounts):
    text = GOOD + "nowhere,some-legacy-key-000001,2020-01-01\nacme,short,2020-01-01\n"
    with pytest.raises(CommandError) as error:
        _import(_csv(tmp_path, text))
    assert "2 problems" in str(error.value)
    assert "line 5" in str(error.value) and "line 6" in str(error.value)


def test_a_key_already_used_by_another_token_is_refused(tmp_path, accounts, member_factory):
    acme, _ = accounts
    person = member_factory(acme, "engineer")
    issue_user_token(person, name="imported by hand", legacy_key="someone-elses-key-0001")
    with pytest.raises(CommandError) as error:
        _import(_csv(tmp_path, GOOD + "acme,someone-elses-key-0001,2020-01-01\n"))
    assert "line 5: this key is already in use by another token" in str(error.value)
    assert Token.objects.count() == 1


def test_missing_file_is_a_clear_error(tmp_path, accounts):
    with pytest.raises(CommandError, match="no such file"):
        _import(tmp_path / "missing.csv")


def test_keys_in_an_account_with_a_max_lifetime_are_imported_but_blocked(
    tmp_path, accounts, client
):
    acme, _solo = accounts
    Account.objects.filter(pk=acme.pk).update(max_lifetime_days=365, max_idle_days=30)
    output = _import(_csv(tmp_path, GOOD))

    assert "acme: 2 of them blocked by policy (Maximum lifetime)" in output
    assert "solo: imported 1 key\n" in output and "solo: 1 of them" not in output
    assert Token.objects.filter(is_legacy=True).count() == 3
    path = f"/api/v1/accounts/{acme.pk}/zones"
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {KEY_ACME_1}")
    assert (response.status_code, response.json()["policy"]) == (403, "max_lifetime")

    # Idle time counts from the import, not from the key's original creation.
    Account.objects.filter(pk=acme.pk).update(max_lifetime_days=None)
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {KEY_ACME_1}").status_code == 200
