"""`manage.py seed_scale`: a big account on small numbers; a re-run tops up, --reset rebuilds."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Membership, Record, User, Zone
from tokens import crypto
from tokens.management.scale_events import events_seeded_for
from tokens.models import Event, EventKind, Token, TokenType
from tokens.selectors import tokens_acting_in

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"kw[ua]_[0-9A-Za-z]{38}")


def _seed(**options) -> str:
    out = StringIO()
    call_command("seed_scale", stdout=out, **options)
    return out.getvalue()


def _events(account) -> int:
    return events_seeded_for(account)


def test_seeds_a_big_account_in_batches_without_printing_a_secret():
    output = _seed(tokens=120, zones=12, events=900)

    account = Account.objects.get(slug="scale")
    owner = User.objects.get(email="scale-owner@example.com")
    assert owner.check_password("keyward-demo")
    assert Membership.objects.get(user=owner, account=account).role == "superuser"
    assert Membership.objects.filter(account=account).count() > 5
    assert Zone.objects.filter(account=account).count() == 12
    assert Record.objects.filter(zone__account=account).count() >= 12
    tokens = tokens_acting_in(account)
    assert tokens.count() == 120
    assert {TokenType.USER, TokenType.AUTOMATION} == set(tokens.values_list("type", flat=True))
    assert tokens.expired(timezone.now()).exists()
    assert tokens.filter(all_zones=False, zones__isnull=False).exists()
    for token in tokens[:20]:
        assert len(token.digest) == 64 and token.display.startswith(("kwu_…", "kwa_…"))
    assert _events(account) == 900
    kinds = set(Event.objects.values_list("kind", flat=True))
    assert {EventKind.API_WRITE, EventKind.SIGN_IN, EventKind.TOKEN_CREATED} <= kinds
    assert not SECRET.search(output)
    assert "events:" in output  # timings per step


def test_a_rerun_tops_up_and_reset_rebuilds():
    _seed(tokens=40, zones=5, events=300)
    _seed(tokens=60, zones=8, events=450)
    account = Account.objects.get(slug="scale")
    assert tokens_acting_in(account).count() == 60
    assert Zone.objects.filter(account=account).count() == 8
    assert _events(account) == 450

    _seed(tokens=60, zones=8, events=450)  # nothing missing: nothing added
    assert tokens_acting_in(account).count() == 60
    assert _events(account) == 450

    _seed(tokens=10, zones=2, events=50, reset=True)
    account = Account.objects.get(slug="scale")
    assert tokens_acting_in(account).count() == 10
    assert _events(account) == 50
    assert Event.objects.count() == 50  # nothing of the first account is left behind
    assert Token.objects.count() == 10


def test_seeded_tokens_digest_like_real_ones_and_the_pages_answer():
    _seed(tokens=80, zones=6, events=400, slug="big")
    account = Account.objects.get(slug="big")
    secret = crypto.generate("user")
    assert len(crypto.digest(secret, settings.KEYWARD_TOKEN_PEPPERS[0])) == 64
    client = Client()
    client.force_login(User.objects.get(email="big-owner@example.com"))
    for name, per_page in (("tokens:account-list", 25), ("events:event-log", 50)):
        response = client.get(reverse(name, args=[account.slug]))
        assert response.status_code == 200
        assert len(response.context["rows"]) == per_page
