"""Sign in with SSO over HTTP against the real OpenID provider (SPEC 17)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from accounts.models import User
from tests.accounts.sso.conftest import idp_url, sso_sign_in, through_idp
from tokens.models import Event, EventKind


def test_a_member_signs_in_with_sso(client, sso_world):
    answer = sso_sign_in(client, sso_world, sso_world.engineer.email)

    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(sso_world.engineer.pk)
    event = Event.objects.filter(kind=EventKind.SIGN_IN, actor_user=sso_world.engineer).get()
    assert event.details["method"] == "sso"
    assert "identity provider (single sign-on)" in event.summary
    marks = client.session["sso_sign_ins"]
    assert marks[str(sso_world.account.pk)]["user"] == sso_world.engineer.pk


def test_the_authorization_request_has_pkce_state_nonce_and_login_hint(client, sso_world):
    start = client.post(reverse("accounts:sign-in-sso"), {"email": sso_world.owner.email})

    query = {k: v[0] for k, v in parse_qs(urlsplit(idp_url(start)).query).items()}
    assert idp_url(start).startswith(sso_world.provider.issuer)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["state"] and len(query["nonce"]) == 32
    assert query["login_hint"] == sso_world.owner.email
    assert query["client_id"] == sso_world.client.client_id
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    assert query["redirect_uri"].endswith(
        f"/accounts/oidc/sso-{sso_world.account.slug}/login/callback/"
    )


def test_an_unknown_domain_is_said_and_nothing_starts(client, sso_world):
    answer = client.post(reverse("accounts:sign-in-sso"), {"email": "someone@elsewhere.example"})

    assert answer.status_code == 200
    assert b"No account signs in elsewhere.example addresses with single sign-on" in answer.content


def test_an_email_that_is_not_a_member_gets_a_clear_page_and_no_account(client, sso_world):
    stranger = sso_world.idp_user(f"stranger@{sso_world.domain}")
    users_before = User.objects.count()

    answer = sso_sign_in(client, sso_world, stranger)

    assert answer.status_code == 403
    assert f"{stranger} is not a member of Acme Corp".encode() in answer.content
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == users_before
    assert not Event.objects.filter(kind=EventKind.SIGN_IN).exists()


def test_a_tampered_state_is_refused(client, sso_world):
    start = client.post(reverse("accounts:sign-in-sso"), {"email": sso_world.owner.email})
    callback = sso_world.provider.sign_in(
        idp_url(start), email=sso_world.owner.email, password="idp-password"
    )
    parts = urlsplit(callback)
    query = parts.query.replace("state=", "state=x")

    answer = client.get(f"{parts.path}?{query}")

    assert answer.status_code == 400
    assert b"does not belong to a sign-in started in this browser" in answer.content
    assert "_auth_user_id" not in client.session


def test_a_callback_used_twice_signs_in_once(client, sso_world):
    start = client.post(reverse("accounts:sign-in-sso"), {"email": sso_world.owner.email})
    callback = sso_world.provider.sign_in(
        idp_url(start), email=sso_world.owner.email, password="idp-password"
    )
    parts = urlsplit(callback)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 302
    client.logout()

    again = client.get(f"{parts.path}?{parts.query}")

    assert again.status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_code_issued_to_another_client_is_refused(client, sso_world, oidc_provider):
    """The browser is sent to the provider as another client (same redirect URI and state);
    Keyward trades the code as the account's client: the provider refuses, nothing changes."""
    other = oidc_provider.add_client(
        redirect_uris=["http://testserver/accounts/oidc/*/login/callback/"],
        client_secret=sso_world.client.client_secret,
    )
    start = client.post(reverse("accounts:sign-in-sso"), {"email": sso_world.owner.email})
    location = idp_url(start).replace(sso_world.client.client_id, other.client_id)
    callback = urlsplit(
        oidc_provider.sign_in(location, email=sso_world.owner.email, password="idp-password")
    )

    answer = client.get(f"{callback.path}?{callback.query}")

    assert answer.status_code == 400
    assert b"Nothing changed" in answer.content
    assert "_auth_user_id" not in client.session


def test_a_signed_in_person_passes_the_forced_page_after_sso(client, sso_world):
    from tests.accounts.sso.conftest import force_sso

    force_sso(sso_world)
    client.force_login(sso_world.engineer)
    overview = reverse("accounts:overview", args=[sso_world.account.slug])
    blocked = client.get(overview)
    assert blocked.status_code == 403
    assert b"Acme Corp requires single sign-on" in blocked.content

    start = client.post(
        reverse("accounts:sso-sign-in", args=[sso_world.account.slug]), {"next": overview}
    )
    answer = through_idp(client, sso_world, start, email=sso_world.engineer.email)

    assert answer.status_code == 302 and answer["Location"] == overview
    assert client.get(overview).status_code == 200
    event = Event.objects.get(kind=EventKind.SIGN_IN, actor_user=sso_world.engineer)
    assert event.details["method"] == "sso"


def test_sso_as_another_person_than_the_signed_in_one_is_refused(client, sso_world):
    client.force_login(sso_world.engineer)
    start = client.post(reverse("accounts:sso-sign-in", args=[sso_world.account.slug]))

    answer = through_idp(client, sso_world, start, email=sso_world.owner.email)

    assert answer.status_code == 403
    assert b"A different person" in answer.content
    assert client.session["_auth_user_id"] == str(sso_world.engineer.pk)
    assert "sso_sign_ins" not in client.session


def test_an_unreachable_provider_is_said_and_nothing_starts(client, sso_world):
    sso = sso_world.sso
    sso.issuer = "http://127.0.0.1:1"
    sso.save()

    answer = client.post(reverse("accounts:sign-in-sso"), {"email": sso_world.owner.email})

    assert answer.status_code == 502
    assert b"cannot be reached" in answer.content
    assert "_auth_user_id" not in client.session
