"""Every change to an account's single sign-on, each with its event (SPEC 17).

The caller checked that the actor is a superuser of an enterprise account and is in
sudo mode. The event's before and after never hold the client secret: only whether
it changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from accounts.sso.crypto import secret_seal
from accounts.sso.models import AccountSso
from tokens.events import Actor, event_record
from tokens.models import EventKind


class SsoChangeRefused(Exception):
    """The change cannot be made (said in words for the page)."""


def sso_json(sso: AccountSso | None, account: Account) -> dict[str, Any]:
    """What the event log keeps of an account's SSO: never the secret."""
    if sso is None:
        return {"configured": False, "force_sso": account.force_sso}
    return {
        "configured": True,
        "issuer": sso.issuer,
        "client_id": sso.client_id,
        "domains": list(sso.domains),
        "enabled": sso.enabled,
        "tested_at": sso.tested_at.isoformat() if sso.tested_at else None,
        "force_sso": account.force_sso,
    }


def _record(
    actor: Actor, account: Account, summary: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    event_record(
        kind=EventKind.SSO_CHANGED,
        actor=actor,
        account=account,
        summary=summary,
        details={"before": before, "after": after},
    )


def _locked(account: Account) -> tuple[Account, AccountSso | None]:
    account = Account.objects.select_for_update().get(pk=account.pk)
    sso = AccountSso.objects.select_for_update().filter(account=account).first()
    return account, sso


@transaction.atomic(durable=True)
def sso_configure(
    *,
    actor: Actor,
    account: Account,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    domains: Sequence[str],
) -> AccountSso:
    """Save the account's identity provider; `client_secret=None` keeps the stored one.

    A new issuer, client ID or secret needs a new successful Test sign-in: SSO and
    force SSO are off until then (the event says so). The discovery document was
    checked by the caller (accounts.sso.discovery) before this is called.
    """
    account, sso = _locked(account)
    if sso is None and not client_secret:
        raise SsoChangeRefused("Enter the client secret the identity provider gave you.")
    before = sso_json(sso, account)
    secret_changed = bool(client_secret)
    if sso is None:
        sso = AccountSso(account=account)
    connection_changed = (
        sso.pk is None or secret_changed or sso.issuer != issuer or sso.client_id != client_id
    )
    sso.issuer, sso.client_id, sso.domains = issuer, client_id, sorted(set(domains))
    if client_secret:
        sso.client_secret_sealed = secret_seal(client_secret, account_id=account.pk)
    if connection_changed:
        sso.tested_at, sso.enabled = None, False
        if account.force_sso:
            account.force_sso = False
            account.save(update_fields=["force_sso"])
    sso.save()
    after = sso_json(sso, account)
    if before != after or secret_changed:
        what = " (new client secret)" if secret_changed else ""
        _record(
            actor,
            account,
            f"{actor.label or 'Someone'} changed the single sign-on of {account.name}{what}",
            before,
            {**after, "client_secret_changed": secret_changed},
        )
    return sso


@transaction.atomic(durable=True)
def sso_test_passed(*, actor: Actor, account: Account, at: datetime | None = None) -> AccountSso:
    """A Test sign-in through the current settings succeeded: SSO is enabled."""
    account, sso = _locked(account)
    if sso is None:
        raise SsoChangeRefused("Save the identity provider's settings first.")
    before = sso_json(sso, account)
    sso.tested_at, sso.enabled = at or timezone.now(), True
    sso.save(update_fields=["tested_at", "enabled", "updated_at"])
    _record(
        actor,
        account,
        f"{actor.label or 'Someone'} tested single sign-on of {account.name}: it works",
        before,
        sso_json(sso, account),
    )
    return sso


@transaction.atomic(durable=True)
def sso_force_set(*, actor: Actor, account: Account, force: bool) -> Account:
    """Turn force SSO on (only with SSO enabled, after a successful test) or off."""
    account, sso = _locked(account)
    if force and (sso is None or not sso.enabled):
        raise SsoChangeRefused("Run a successful Test sign-in before forcing single sign-on.")
    if account.force_sso == force:
        return account
    before = sso_json(sso, account)
    account.force_sso = force
    account.save(update_fields=["force_sso"])
    state = "now requires" if force else "no longer requires"
    _record(
        actor,
        account,
        f"{actor.label or 'Someone'}: {account.name} {state} single sign-on",
        before,
        sso_json(sso, account),
    )
    return account


@transaction.atomic(durable=True)
def sso_turn_off(*, actor: Actor, account: Account) -> None:
    """Remove the account's SSO settings (and force SSO): members sign in with passwords."""
    account, sso = _locked(account)
    if sso is None:
        return
    before = sso_json(sso, account)
    sso.delete()
    if account.force_sso:
        account.force_sso = False
        account.save(update_fields=["force_sso"])
    _record(
        actor,
        account,
        f"{actor.label or 'Someone'} turned off single sign-on for {account.name}",
        before,
        sso_json(None, account),
    )
