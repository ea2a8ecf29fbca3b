"""SPEC 13 counting: buffered in the cache, written by usage_flush, kept 90 days."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import DomainFactory, RecordFactory, ZoneFactory, issue_user_token
from tests.tokens.conftest import call
from tokens.usage.models import TokenDenial, TokenUsage
from tokens.usage.rules import Denial
from tokens.usage.services import (
    MAX_DENIALS,
    usage_delete_old,
    usage_flush,
    usage_flush_all,
    usage_record,
)

pytestmark = pytest.mark.django_db


def rows(token_id):
    return {
        (row.day, row.operation): (row.allowed, row.denied)
        for row in TokenUsage.objects.filter(token_id=token_id)
    }


def test_requests_are_counted_allowed_and_denied_per_operation(client, account, owner):
    zone = ZoneFactory(account=account)
    created = issue_user_token(owner, scopes=["zones:read"])
    secret, token_id = created.secret, created.token.pk
    for _ in range(3):
        assert call(client, "GET", f"/accounts/{account.pk}/zones", secret).status_code == 200
    assert call(client, "GET", f"/accounts/{account.pk}/zones/{zone.pk}", secret).status_code == 200
    refused = call(client, "GET", f"/accounts/{account.pk}/billing", secret)
    assert refused.status_code == 403
    assert call(client, "GET", "/whoami", secret).status_code == 200
    assert call(client, "GET", "/tokens", secret).status_code == 403  # needs global: a denial
    assert (
        call(client, "GET", "/whoami", "kwu_" + "x" * 38).status_code == 401
    )  # no token: not counted

    assert rows(token_id) == {}  # still buffered: no SQL on the request path
    assert usage_flush_all(now=timezone.now()) == 1
    today = timezone.now().astimezone(UTC).date()
    assert rows(token_id) == {
        (today, "zones:read"): (4, 0),
        (today, "billing:read"): (0, 1),
        (today, "tokens"): (1, 1),
    }
    denials = list(TokenDenial.objects.filter(token_id=token_id).order_by("at", "seq"))
    assert [(d.operation, d.required_scope, d.account_id) for d in denials] == [
        ("billing:read", "global:read", account.pk),
        ("tokens", "global", None),
    ]
    assert denials[0].ip == "127.0.0.1"


def test_a_denial_records_the_resource_id(client, account, owner):
    zone = ZoneFactory(account=account)
    created = issue_user_token(owner, scopes=["zones:read"])
    path = f"/accounts/{account.pk}/zones/{zone.pk}/records"
    response = client.post(
        f"/api/v1{path}",
        data={"type": "A", "name": "x", "content": "203.0.113.1"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {created.secret}",
    )
    assert response.status_code == 403
    usage_flush(token_id=created.token.pk, now=timezone.now())
    denial = TokenDenial.objects.get(token_id=created.token.pk)
    assert (denial.operation, denial.resource_id) == ("zones:write", zone.pk)


def test_counting_adds_no_query_to_a_request(client, account, owner, django_assert_num_queries):
    ZoneFactory(account=account)
    created = issue_user_token(owner)
    call(client, "GET", "/whoami", created.secret)
    with django_assert_num_queries(1):
        call(client, "GET", "/whoami", created.secret)
    with django_assert_num_queries(2):
        assert (
            call(client, "GET", f"/accounts/{account.pk}/zones", created.secret).status_code == 200
        )


def test_days_are_utc_days(account, owner):
    token_id = issue_user_token(owner).token.pk
    before = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    after = datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC)
    # 00:30 on 2 March in UTC+2 is still 1 March in UTC.
    late = datetime(2026, 3, 2, 0, 30, tzinfo=timezone.get_fixed_timezone(120))
    for moment in (late, before, after):
        usage_record(token_id=token_id, operation="zones:read", allowed=True, now=moment)
    usage_flush(token_id=token_id, now=after)
    assert rows(token_id) == {
        (date(2026, 3, 1), "zones:read"): (2, 0),
        (date(2026, 3, 2), "zones:read"): (1, 0),
    }
    row = TokenUsage.objects.get(token_id=token_id, day=date(2026, 3, 1))
    assert row.last_at == before


def test_flush_is_idempotent_and_adds_new_counts(account, owner):
    token_id = issue_user_token(owner).token.pk
    now = timezone.now()
    for _ in range(5):
        usage_record(token_id=token_id, operation="zones:read", allowed=True, now=now)
    denial = Denial("zones:write", "zones:write", account.pk, None, "203.0.113.7")
    usage_record(token_id=token_id, operation="zones:write", allowed=False, now=now, denial=denial)
    usage_flush(token_id=token_id, now=now)
    usage_flush(token_id=token_id, now=now)
    call_command("flush_usage", stdout=None)
    today = now.astimezone(UTC).date()
    assert rows(token_id) == {(today, "zones:read"): (5, 0), (today, "zones:write"): (0, 1)}
    assert TokenDenial.objects.filter(token_id=token_id).count() == 1
    usage_record(token_id=token_id, operation="zones:read", allowed=True, now=now)
    usage_flush(token_id=token_id, now=now)
    assert rows(token_id)[(today, "zones:read")] == (6, 0)


def test_only_the_last_fifty_denials_are_kept(account, owner):
    token_id = issue_user_token(owner).token.pk
    start = timezone.now() - timedelta(hours=1)
    for n in range(MAX_DENIALS + 12):
        moment = start + timedelta(seconds=n)
        denial = Denial("purge_all", "purge_all", account.pk, n, None)
        usage_record(
            token_id=token_id, operation="purge_all", allowed=False, now=moment, denial=denial
        )
        if n == 20:
            usage_flush(token_id=token_id, now=moment)
    usage_flush(token_id=token_id, now=timezone.now())
    kept = list(TokenDenial.objects.filter(token_id=token_id).values_list("resource_id", flat=True))
    assert kept == list(range(MAX_DENIALS + 11, 11, -1))


def test_a_minute_later_the_request_writes_the_buffer(client, account, owner):
    created = issue_user_token(owner)
    call(client, "GET", "/whoami", created.secret)
    call(client, "GET", "/whoami", created.secret)
    assert rows(created.token.pk) == {}
    type(created.token).objects.filter(pk=created.token.pk).update(
        last_used_at=timezone.now() - timedelta(minutes=2)
    )
    call(client, "GET", "/whoami", created.secret)  # writes the two before it, counts itself
    today = timezone.now().astimezone(UTC).date()
    assert rows(created.token.pk) == {(today, "tokens"): (2, 0)}


def test_a_cache_outage_loses_counts_not_requests(client, account, owner, cache_down):
    created = issue_user_token(owner)
    assert call(client, "GET", f"/accounts/{account.pk}/zones", created.secret).status_code == 200
    usage_flush_all(now=timezone.now())
    assert rows(created.token.pk) == {}


def test_two_workers_sharing_redis_count_every_request(account, owner, redis_cache):
    token_id = issue_user_token(owner).token.pk
    now = timezone.now()

    def worker():  # a second process would share nothing with this one but Redis
        for _ in range(50):
            usage_record(token_id=token_id, operation="zones:read", allowed=True, now=now)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    usage_flush(token_id=token_id, now=now)  # while they count
    for thread in threads:
        thread.join()
    usage_flush_all(now=now)
    usage_flush_all(now=now)
    assert rows(token_id) == {(now.astimezone(UTC).date(), "zones:read"): (100, 0)}


def test_one_flush_at_a_time_per_token(account, owner, redis_cache):
    from accounts import cache

    token_id = issue_user_token(owner).token.pk
    now = timezone.now()
    usage_record(token_id=token_id, operation="zones:read", allowed=True, now=now)
    cache.add(f"usage:flushing:{token_id}", 1, 30)  # another worker is flushing it
    assert usage_flush(token_id=token_id, now=now) is False
    assert rows(token_id) == {}
    cache.delete(f"usage:flushing:{token_id}")
    assert usage_flush(token_id=token_id, now=now) is True
    assert rows(token_id) == {(now.astimezone(UTC).date(), "zones:read"): (1, 0)}


def test_usage_older_than_ninety_days_is_deleted_by_the_daily_job(account, owner):
    token_id = issue_user_token(owner).token.pk
    now = timezone.now()
    today = now.astimezone(UTC).date()
    for age in (0, 89, 90, 91, 200):
        TokenUsage.objects.create(
            token_id=token_id,
            day=today - timedelta(days=age),
            operation="zones:read",
            allowed=1,
            last_at=now - timedelta(days=age),
        )
        TokenDenial.objects.create(
            token_id=token_id,
            at=now - timedelta(days=age, minutes=1),
            seq=age,
            operation="zones:write",
            required_scope="zones:write",
        )
    call_command("delete_stale_tokens", stdout=open("/dev/null", "w"))  # noqa: SIM115
    ages = sorted((today - day).days for day in TokenUsage.objects.values_list("day", flat=True))
    assert ages == [0, 89, 90]
    assert sorted(TokenDenial.objects.values_list("seq", flat=True)) == [0, 89]
    assert usage_delete_old(now=now) == 0


def test_the_flush_has_a_fixed_number_of_queries(account, owner):
    token_id = issue_user_token(owner).token.pk
    now = timezone.now()
    usage_record(token_id=token_id, operation="zones:read", allowed=True, now=now)
    with CaptureQueriesContext(connection) as queries:
        usage_flush(token_id=token_id, now=now)
    assert len(queries) <= 6  # lock-free: exists, update, insert (and savepoints)


# --------------------------------------------------------------------------- what counts as denied
# SPEC 13: every refusal of the decision is a denial, with its reason; only what was
# allowed counts as allowed; a request for something that does not exist is neither.

ACME_RULES = [{"name": "_acme-challenge", "types": ["TXT"]}]


def denials_of(token_id):
    return [
        (d.operation, d.reason, d.resource_id)
        for d in TokenDenial.objects.filter(token_id=token_id).order_by("at", "seq")
    ]


def test_writes_refused_by_record_rules_are_denied_and_never_suggested(client, account, owner):
    """Regression (issue 18): a 403 record_not_allowed was counted as an allowed zones:write."""
    zone = ZoneFactory(account=account)
    record = RecordFactory(zone=zone, name="www", type="A")
    created = issue_user_token(owner, scopes=["zones:write"], record_rules=ACME_RULES)
    base = f"/accounts/{account.pk}/zones/{zone.pk}/records"
    refused = call(
        client, "POST", base, created.secret, {"type": "A", "name": "www2", "content": "1.2.3.4"}
    )
    assert refused.status_code == 403 and refused.json()["error"] == "record_not_allowed"
    deleted = call(client, "DELETE", f"{base}/{record.pk}", created.secret)
    assert deleted.status_code == 403 and deleted.json()["error"] == "record_not_allowed"

    usage = call(client, "GET", "/tokens/self/usage", created.secret).json()["data"]
    by_op = {e["operation"]: (e["allowed"], e["denied"]) for e in usage["operations"]}
    assert by_op["zones:write"] == (0, 2)
    assert [d["reason"] for d in usage["denials"]] == ["record_not_allowed"] * 2
    assert usage["suggested_scopes"] == []


def test_a_resource_outside_the_selection_is_denied_not_selected(client, account, owner):
    """Regression (issue 18): the 404 that hides an unselected resource counted as allowed."""
    mine, other = ZoneFactory(account=account), ZoneFactory(account=account)
    created = issue_user_token(owner, scopes=["zones:write"], resources={"zones": [mine.pk]})
    secret, token_id = created.secret, created.token.pk
    base = f"/accounts/{account.pk}/zones"
    assert call(client, "GET", f"{base}/{other.pk}", secret).status_code == 404
    assert call(client, "GET", f"{base}/{other.pk}/records", secret).status_code == 404
    assert call(client, "GET", f"{base}/{other.pk}/records?page=3", secret).status_code == 404
    write = call(
        client, "POST", f"{base}/{other.pk}/records", secret, {"type": "A", "content": "1.2.3.4"}
    )
    assert write.status_code == 404
    assert call(client, "GET", f"{base}/{mine.pk}", secret).status_code == 200

    usage_flush(token_id=token_id, now=timezone.now())
    today = timezone.now().astimezone(UTC).date()
    assert rows(token_id) == {(today, "zones:read"): (1, 3), (today, "zones:write"): (0, 1)}
    assert denials_of(token_id) == [
        ("zones:read", "not_selected", other.pk),
        ("zones:read", "not_selected", other.pk),
        ("zones:read", "not_selected", other.pk),
        ("zones:write", "not_selected", other.pk),
    ]
    usage = call(client, "GET", "/tokens/self/usage", secret).json()["data"]
    assert usage["suggested_scopes"] == ["zones:read"]


def test_adding_a_resource_without_all_of_its_kind_is_denied(client, account, owner):
    domain = DomainFactory(account=account)
    created = issue_user_token(owner, scopes=["domains:write"], resources={"domains": [domain.pk]})
    response = call(
        client, "POST", f"/accounts/{account.pk}/domains", created.secret, {"name": "x.test"}
    )
    assert response.status_code == 403
    usage_flush(token_id=created.token.pk, now=timezone.now())
    assert denials_of(created.token.pk) == [("domains:write", "not_selected", None)]


def test_what_does_not_exist_is_neither_allowed_nor_denied(client, account, owner):
    zone = ZoneFactory(account=account)
    narrow = issue_user_token(
        owner, name="Narrow", scopes=["zones:write"], resources={"zones": [zone.pk]}
    )
    wide = issue_user_token(owner, name="Wide", scopes=["zones:write"])
    base = f"/accounts/{account.pk}/zones"
    for created in (narrow, wide):
        assert call(client, "GET", f"{base}/999999", created.secret).status_code == 404
        assert call(client, "GET", f"{base}/999999/records", created.secret).status_code == 404
        assert (
            call(client, "DELETE", f"{base}/{zone.pk}/records/999999", created.secret).status_code
            == 404
        )
        assert call(client, "GET", "/accounts/999999/zones", created.secret).status_code == 404
        usage_flush(token_id=created.token.pk, now=timezone.now())
        assert rows(created.token.pk) == {}
        assert denials_of(created.token.pk) == []


def test_every_refusal_of_the_decision_names_its_reason(client, account, owner, member_factory):
    from accounts.constants import Plan
    from accounts.models import Account, Membership
    from tests.factories import AccountFactory, issue_automation_token

    zone = ZoneFactory(account=account)
    stranger = AccountFactory(slug="stranger")
    ZoneFactory(account=stranger)
    demoted = member_factory(account, "engineer")
    reader = issue_user_token(demoted, scopes=["zones:write"])
    Membership.objects.filter(user=demoted, account=account).update(role="user")
    scoped = issue_user_token(owner, name="Scoped", scopes=["zones:read"])
    teams = AccountFactory(slug="teams", plan=Plan.TEAMS)
    automation = issue_automation_token(teams, role="engineer", scopes=["zones:read"])
    blocked = issue_user_token(owner, name="Blocked", expires_at=None)

    base = f"/accounts/{account.pk}"
    record = {"type": "A", "content": "1.2.3.4"}
    assert (
        call(client, "POST", f"{base}/zones/{zone.pk}/records", reader.secret, record).status_code
        == 403
    )
    assert call(client, "GET", f"{base}/billing", scoped.secret).status_code == 403
    assert call(client, "GET", f"/accounts/{stranger.pk}/zones", scoped.secret).status_code == 404
    Account.objects.filter(pk=teams.pk).update(plan=Plan.SOLO)
    assert call(client, "GET", f"/accounts/{teams.pk}/zones", automation.secret).status_code == 403
    Account.objects.filter(pk=account.pk).update(max_lifetime_days=90)
    assert call(client, "GET", f"{base}/zones", blocked.secret).status_code == 403

    expected = {
        reader: [("zones:write", "role", zone.pk)],
        scoped: [("billing:read", "scope", None), ("zones:read", "not_in_account", None)],
        automation: [("zones:read", "plan", None)],
        blocked: [("zones:read", "policy", None)],
    }
    for created, denials in expected.items():
        usage_flush(token_id=created.token.pk, now=timezone.now())
        assert denials_of(created.token.pk) == denials
        assert sum(allowed for allowed, _ in rows(created.token.pk).values()) == 0
    account_of = TokenDenial.objects.filter(token_id=scoped.token.pk).values_list("account_id")
    assert sorted(account_of) == sorted([(account.pk,), (stranger.pk,)])
