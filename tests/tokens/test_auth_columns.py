"""The bearer query's row is read by name (tokens.auth.principal.BEARER_ROW).

Each column is declared once, a name beside the SQL that yields it. These tests
run the real query and compare every named value with what the ORM reads for the
same token, owner, account and membership: a column whose SQL were swapped with
another's would read the other's value and fail here. The values differ column
by column (distinct times; flags that differ pairwise across the tokens).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, DateTimeField, JSONField
from django.utils import timezone

from accounts.models import Account, Membership, User
from tests.factories import AccountFactory, UserFactory, issue_automation_token, issue_user_token
from tokens import crypto
from tokens.auth.columns import aware, json_array, time_column
from tokens.auth.principal import BEARER_ROW, bearer_sql
from tokens.kinds import BY_KIND, Kind
from tokens.models import Token
from tokens.sso.models import TokenSsoAuthorization

pytestmark = pytest.mark.django_db

# Six booleans of the row, each with a distinct column of bits across three tokens, so
# any two of them differ in at least one token.
_BOOLEANS = [BY_KIND[kind].all_field for kind in Kind] + ["tls_access"]


def _bits(token_number: int) -> dict[str, bool]:
    return {name: bool((n + 1) >> token_number & 1) for n, name in enumerate(_BOOLEANS)}


def _distinct_values(token: Token, offset: int) -> None:
    """Every datetime column its own value, and each token its own set (and its flags)."""
    now = timezone.now().replace(microsecond=0) + timedelta(seconds=offset * 100)
    Token.objects.filter(pk=token.pk).update(
        created_at=now - timedelta(days=3, seconds=1),
        expires_at=now + timedelta(days=30, seconds=2),
        last_used_at=now - timedelta(hours=5, seconds=3),
        imported_at=now - timedelta(days=2, seconds=4),
        previous_digest=f"{offset:064x}",
        previous_secret_expires_at=now + timedelta(hours=2, seconds=5),
        previous_secret_last_used_at=now - timedelta(minutes=7, seconds=6),
        last_used_ip=f"198.51.100.{10 + offset}",
        **{
            name: bit
            for name, bit in _bits(offset).items()
            if token.is_automation or name != "tls_access"  # user tokens: never TLS
        },
    )


def _row(secret: str, account_id: int | None = None):
    digest = crypto.digest(secret, settings.KEYWARD_TOKEN_PEPPERS[0])
    params: dict[str, object] = {"d0": digest}
    if account_id is not None:
        params["account"] = account_id
    with connection.cursor() as cursor:
        cursor.execute(bearer_sql(1, in_account=account_id is not None), params)
        return BEARER_ROW.read(cursor.fetchone())


def _as_stored(field, value):
    """A raw column value the way the ORM gives it (SQLite returns text and integers)."""
    if isinstance(field, DateTimeField):
        return aware(value)
    if isinstance(field, JSONField):
        return list(json_array(value))
    if isinstance(field, BooleanField):
        return bool(value)
    return value


def _expected(name: str, token: Token, membership: Membership | None):
    """What the ORM says column `name` holds: the token's, its owner's, the account's."""
    source, _, field_name = name.rpartition("__")
    if name == "sso_authorized":  # SPEC 17: authorized, or the account does not force SSO
        account = membership.account if membership else token.account
        if account is None or not account.force_sso:
            return True
        return token.sso_authorizations.filter(account=account).exists()
    if source == "membership":
        return membership.role if membership else None
    if source == "owner":
        return getattr(token.user, field_name) if token.user else None
    if source == "account":
        account = membership.account if membership else token.account
        return getattr(account, field_name) if account else None
    return getattr(token, Token._meta.get_field(name).attname)


def _field(name: str):
    if name == "sso_authorized":
        return BooleanField()
    source, _, field_name = name.rpartition("__")
    model = {"": Token, "owner": User, "account": Account}.get(source)
    return model._meta.get_field(field_name) if model else None


def _check_every_column(row, token: Token, membership: Membership | None = None) -> None:
    assert row.id == token.pk
    for name in BEARER_ROW.names:
        value, field = getattr(row, name), _field(name)
        got = _as_stored(field, value) if field is not None and value is not None else value
        assert got == _expected(name, token, membership), name


def test_every_column_of_a_user_token_reads_its_own_value(account):
    owner = UserFactory(email="columns@example.com", name="Column Owner")
    membership = Membership.objects.create(user=owner, account=account, role="engineer")
    for number in range(3):
        created = issue_user_token(owner, name=f"Columns {number}", scopes=["zones:read"])
        _distinct_values(created.token, number)
        token = Token.objects.select_related("user").get(pk=created.token.pk)
        _check_every_column(_row(created.secret, account.pk), token, membership)
        _check_every_column(_row(created.secret), token)  # no account joined: all None


def test_every_column_of_an_automation_token_reads_its_own_value():
    account = AccountFactory(plan="teams", max_idle_days=40, allowed_networks=["10.0.0.0/8"])
    for number in range(3):
        created = issue_automation_token(
            account, name=f"Robot {number}", role="user", scopes=["zones:read"]
        )
        _distinct_values(created.token, number)
        token = Token.objects.select_related("account").get(pk=created.token.pk)
        assert token.user is None
        _check_every_column(_row(created.secret, account.pk), token)
        _check_every_column(_row(created.secret), token)  # its own account is joined


def test_sso_authorized_reads_the_tokens_own_authorization(account):
    """Where the account forces SSO, each token reads whether it is authorized there."""
    Account.objects.filter(pk=account.pk).update(force_sso=True)
    account.refresh_from_db()
    owner = UserFactory(email="sso-columns@example.com")
    membership = Membership.objects.create(user=owner, account=account, role="engineer")
    elsewhere = AccountFactory()
    for number in range(2):
        created = issue_user_token(owner, name=f"SSO {number}", scopes=["zones:read"])
        authorized_in = account if number else elsewhere
        TokenSsoAuthorization.objects.create(token=created.token, account=authorized_in)
        token = Token.objects.select_related("user").get(pk=created.token.pk)
        row = _row(created.secret, account.pk)
        assert row.sso_authorized in (bool(number), int(number))
        _check_every_column(row, token, membership)


def test_a_row_with_a_column_too_many_or_too_few_is_refused():
    width = len(BEARER_ROW.names)
    with pytest.raises(TypeError):
        BEARER_ROW.read((None,) * (width + 1))
    with pytest.raises(TypeError):
        BEARER_ROW.read((None,) * (width - 1))


@pytest.mark.parametrize("microsecond", [0, 500_000, 7])
def test_a_time_column_is_the_text_orjson_writes_for_that_datetime(account, microsecond):
    """Plain-SQL reads carry datetimes as RFC 3339 text (both databases): an answer writes
    it as it is, so it must be orjson's text for the value the ORM reads, to the microsecond
    (no fraction when there is none), and aware() must read it back to that value."""
    owner = UserFactory()
    Membership.objects.create(user=owner, account=account, role="engineer")
    token = issue_user_token(owner, name="times").token
    moment = datetime(2026, 11, 23, 8, 0, 0, microsecond, tzinfo=UTC)
    Token.objects.filter(pk=token.pk).update(created_at=moment)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {time_column('t.created_at')} FROM tokens_token t WHERE t.id = %s",
            [token.pk],
        )
        text = cursor.fetchone()[0]
    assert text == orjson.dumps(moment, option=orjson.OPT_UTC_Z).decode().strip('"')
    assert aware(text) == Token.objects.get(pk=token.pk).created_at == moment
