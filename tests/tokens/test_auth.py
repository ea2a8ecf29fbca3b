"""Bearer authentication (tokens.auth): the lookup, peppers, legacy keys, throttling, reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from tests.factories import AccountFactory, issue_automation_token, issue_user_token
from tokens import crypto
from tokens.auth.bearer import AuthenticationFailed, authenticate
from tokens.models import Token
from tokens.permissions import Kind

pytestmark = pytest.mark.django_db


def request_with(header: str | None, ip: str = "198.51.100.9"):
    extra = {"REMOTE_ADDR": ip}
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    return RequestFactory().get("/api/v1/whoami", **extra)


def test_a_valid_token_gives_its_principal(account, member_factory):
    owner = member_factory(account, "engineer")
    created = issue_user_token(
        owner, name="CLI", scopes=["zones:read"], allowed_ips=["198.51.100.0/24"]
    )
    principal = authenticate(request_with(f"Bearer {created.secret}"))
    assert principal.id == created.token.pk and principal.user_id == owner.pk
    assert principal.grant.scopes == frozenset({"zones:read"})
    assert principal.grant.all_kinds == frozenset(Kind)
    assert principal.grant.allowed_ips == ("198.51.100.0/24",)
    assert principal.client_ip == "198.51.100.9" and principal.display == created.token.display


def test_a_bad_checksum_is_refused_without_a_query(django_assert_num_queries):
    secret = crypto.generate("user")
    tampered = secret[:10] + ("A" if secret[10] != "A" else "B") + secret[11:]
    with django_assert_num_queries(0), pytest.raises(AuthenticationFailed) as excinfo:
        authenticate(request_with(f"Bearer {tampered}"))
    assert excinfo.value.credentials_sent and excinfo.value.retry_after is None


def test_no_header_says_no_credentials_were_sent():
    with pytest.raises(AuthenticationFailed) as excinfo:
        authenticate(request_with(None))
    assert not excinfo.value.credentials_sent


def test_an_old_pepper_still_works_and_the_digest_moves_to_the_newest(
    settings, account, member_factory
):
    owner = member_factory(account)
    settings.KEYWARD_TOKEN_PEPPERS = ["old-pepper"]
    created = issue_user_token(owner)
    settings.KEYWARD_TOKEN_PEPPERS = ["new-pepper", "old-pepper"]
    assert authenticate(request_with(f"Bearer {created.secret}")).id == created.token.pk
    assert Token.objects.get().digest == crypto.digest(created.secret, "new-pepper")
    settings.KEYWARD_TOKEN_PEPPERS = ["new-pepper"]
    assert authenticate(request_with(f"Bearer {created.secret}")).id == created.token.pk
    settings.KEYWARD_TOKEN_PEPPERS = ["another-pepper"]
    with pytest.raises(AuthenticationFailed):
        authenticate(request_with(f"Bearer {created.secret}"))


def test_a_legacy_key_authenticates(account, member_factory):
    owner = member_factory(account, "superuser")
    legacy = "legacy_0123456789abcdef"
    created = issue_user_token(owner, legacy_key=legacy)
    assert created.secret == legacy
    assert authenticate(request_with(f"Bearer {legacy}")).id == created.token.pk


def test_expired_tokens_and_disabled_owners_fail(account, member_factory):
    owner = member_factory(account)
    created = issue_user_token(owner)
    Token.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed, match="expired"):
        authenticate(request_with(f"Bearer {created.secret}"))
    Token.objects.update(expires_at=None)
    owner.is_active = False
    owner.save()
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        authenticate(request_with(f"Bearer {created.secret}"))


def test_thirty_failures_block_the_address_even_for_a_valid_token(account, member_factory):
    created = issue_user_token(member_factory(account))
    unknown = crypto.generate("user")
    for _ in range(30):
        with pytest.raises(AuthenticationFailed):
            authenticate(request_with(f"Bearer {unknown}", ip="203.0.113.50"))
    with pytest.raises(AuthenticationFailed) as excinfo:
        authenticate(request_with(f"Bearer {created.secret}", ip="203.0.113.50"))
    assert excinfo.value.retry_after and excinfo.value.retry_after > 0
    assert authenticate(request_with(f"Bearer {created.secret}", ip="203.0.113.51"))


def test_account_access_follows_the_current_membership(account, member_factory):
    owner = member_factory(account, "engineer")
    bearer = f"Bearer {issue_user_token(owner).secret}"

    def access():
        return authenticate(request_with(bearer), account.pk).access

    assert (access().id, access().slug, access().role) == (account.pk, account.slug, "engineer")
    owner.memberships.update(role="billing")
    assert access().role == "billing"
    owner.memberships.all().delete()
    assert access() is None


def test_automation_tokens_act_in_their_account_only(account, django_assert_num_queries):
    created = issue_automation_token(account, role="user")
    bearer = f"Bearer {created.secret}"
    assert authenticate(request_with(bearer), account.pk).access.role == "user"
    assert authenticate(request_with(bearer)).access.id == account.pk  # its own account
    other = AccountFactory()
    with django_assert_num_queries(1):  # the token lookup reads the account too
        assert authenticate(request_with(bearer), other.pk).access is None


def test_an_unknown_client_address_passes_no_ip_allow_list(account, member_factory):
    owner = member_factory(account, "engineer")
    listed = issue_user_token(owner, name="Listed", allowed_ips=["0.0.0.0/0"])
    unlisted = issue_user_token(owner, name="Open")
    with pytest.raises(AuthenticationFailed):
        authenticate(request_with(f"Bearer {listed.secret}", ip=""))
    principal = authenticate(request_with(f"Bearer {unlisted.secret}", ip=""))
    assert principal.client_ip is None
