"""Every write about trusted publishers (SPEC 18): create, update and delete a publisher,
mint a token for a verified ID token, and the cleanup of what minting leaves behind.

Each service is keyword-only, runs in its own durable transaction and writes its event
there. Minting creates the token through tokens.services.token_create, the path every
token takes, so SPEC 3, 4, 14 and 15 apply to it as to any automation token; the actor is
the publisher (no person), so the token counts towards nobody's 100.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Account
from accounts.selectors import memberships_managing
from tokens.events import Actor, event_record
from tokens.kinds import BY_KIND, Kind
from tokens.models import ActorKind, EventChannel, EventKind, TokenType
from tokens.publishers.exchange import ExchangeRefused, VerifiedIdToken
from tokens.publishers.models import Publisher, UsedIdToken
from tokens.publishers.rules import compared_claims, conditions_hold, kinds_selected, run_context
from tokens.publishers.selectors import minted_expired_before, minted_live, publisher_lock
from tokens.publishers.validation import PublisherInput
from tokens.services.common import CreatedToken, NotPermitted
from tokens.services.issue import token_create
from tokens.services.revoke import token_revoke
from tokens.validation import TokenValidationError

MAX_LIVE_PER_PUBLISHER = 50
DELETED_AFTER_EXPIRY = timedelta(days=1)


class PublisherLimitReached(Exception):
    """The publisher already has MAX_LIVE_PER_PUBLISHER live tokens (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"This trusted publisher already has {MAX_LIVE_PER_PUBLISHER} live tokens; "
            "try again when one expires."
        )
        self.retry_after = retry_after


def publisher_json(publisher: Publisher) -> dict[str, Any]:
    """SPEC 18's JSON of a publisher (the API's answer, the events' before and after)."""
    return {
        "id": publisher.pk,
        "name": publisher.name,
        "provider": publisher.provider,
        "issuer": publisher.issuer,
        "conditions": dict(publisher.conditions),
        "grant": publisher.grant_json(),
        "created_at": publisher.created_at,
    }


def _snapshot(publisher: Publisher) -> dict[str, Any]:
    return {key: value for key, value in publisher_json(publisher).items() if key != "created_at"}


def _check_manager(actor: Actor, account: Account) -> None:
    """A person must manage the account (the API checked the calling token itself)."""
    if actor.kind == ActorKind.USER and not (
        actor.user is not None and memberships_managing(actor.user).filter(account=account).exists()
    ):
        raise NotPermitted("Only superusers of the account manage its trusted publishers.")


def _apply(publisher: Publisher, cleaned: PublisherInput) -> None:
    publisher.name, publisher.provider = cleaned.name, cleaned.provider
    publisher.issuer, publisher.conditions = cleaned.issuer, cleaned.conditions
    publisher.role, publisher.scopes = cleaned.role, cleaned.scopes
    publisher.resources, publisher.record_rules = cleaned.resources, cleaned.record_rules
    publisher.tls_access, publisher.lifetime_minutes = cleaned.tls_access, cleaned.lifetime_minutes


def _name_taken(account: Account, name: str, *, other_than: int | None = None) -> None:
    taken = Publisher.objects.filter(account=account, name=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    if taken.exists():
        raise TokenValidationError({"name": f"{account.name} already has a publisher “{name}”."})


def publisher_create(*, actor: Actor, account: Account, cleaned: PublisherInput) -> Publisher:
    """Trust a CI identity: save a publisher checked by tokens.publishers.rules."""
    with transaction.atomic(durable=True):
        _check_manager(actor, account)
        _name_taken(account, cleaned.name)
        publisher = Publisher(account=account, created_by=actor.user)
        _apply(publisher, cleaned)
        publisher.save()
        event_record(
            kind=EventKind.PUBLISHER_CREATED,
            actor=actor,
            account=account,
            summary=f"{actor.label or 'Someone'} added the trusted publisher “{publisher.name}”",
            details={"publisher": _snapshot(publisher)},
        )
    return publisher


def publisher_update(*, actor: Actor, publisher: Publisher, cleaned: PublisherInput) -> Publisher:
    """Change a publisher; tokens it minted keep the grant they were given (minutes)."""
    with transaction.atomic(durable=True):
        _check_manager(actor, publisher.account)
        publisher = (
            Publisher.objects.select_for_update().select_related("account").get(pk=publisher.pk)
        )
        _name_taken(publisher.account, cleaned.name, other_than=publisher.pk)
        before = _snapshot(publisher)
        _apply(publisher, cleaned)
        publisher.save()
        after = _snapshot(publisher)
        if after != before:
            event_record(
                kind=EventKind.PUBLISHER_UPDATED,
                actor=actor,
                account=publisher.account,
                summary=f"{actor.label or 'Someone'} changed the trusted publisher "
                f"“{publisher.name}”",
                details={"before": before, "after": after},
            )
    return publisher


def publisher_delete(*, actor: Actor, publisher: Publisher) -> None:
    """Stop trusting a CI identity; the tokens it minted that still work are revoked.

    Each revocation is its own unit of work (token_revoke is durable), done first: a
    failure part-way leaves the publisher in place with fewer live tokens, never a
    deleted publisher whose tokens still work.
    """
    _check_manager(actor, publisher.account)
    for token in minted_live(publisher, now=timezone.now()).select_related("account"):
        token_revoke(actor=actor, token=token, revoked_by="superuser")
    with transaction.atomic(durable=True):
        snapshot = _snapshot(publisher)
        deleted, _ = Publisher.objects.filter(pk=publisher.pk).delete()
        if deleted:
            event_record(
                kind=EventKind.PUBLISHER_DELETED,
                actor=actor,
                account=publisher.account,
                summary=f"{actor.label or 'Someone'} removed the trusted publisher "
                f"“{publisher.name}”",
                details={"publisher": snapshot},
            )


# --------------------------------------------------------------------------- minting


@dataclass(frozen=True)
class Minted:
    """A token minted for an ID token, with its secret (shown this once) and its publisher."""

    publisher: Publisher
    created: CreatedToken
    selections: dict[Kind, list[int]]  # the ids it selects, per kind (the rest: all)


def _claims_compared(id_token: VerifiedIdToken, candidates: list[Publisher]) -> str:
    """The ID token's own claims that were compared, in words (never a publisher's values)."""
    names: list[str] = []
    for publisher in candidates:
        names.extend(name for name in compared_claims(publisher.provider) if name not in names)
    claims = id_token.claims
    return ", ".join(
        f"{name}={str(claims[name])[:100]!r}" if name in claims else f"{name} absent"
        for name in names
    )


@functools.cache
def _use_sql() -> str:
    return (
        f"INSERT INTO {UsedIdToken._meta.db_table} (issuer, jti, expires_at, used_at) "  # noqa: S608
        "VALUES (%s, %s, %s, %s)"
    )


def _id_token_use(id_token: VerifiedIdToken, now: datetime) -> None:
    """Record the ID token's jti, or refuse it as replayed: the unique (issuer, jti) holds
    across every app server sharing the database. Hand-written: the exchange's hot path."""
    adapt = connection.ops.adapt_datetimefield_value
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                _use_sql(), [id_token.issuer, id_token.jti, adapt(id_token.expires_at), adapt(now)]
            )
    except IntegrityError:
        raise ExchangeRefused(
            "replayed", "this ID token was exchanged already (each jti is accepted once)."
        ) from None


def _matching_publisher(id_token: VerifiedIdToken, publisher_id: int | None) -> Publisher:
    candidates = [
        publisher
        for publisher in id_token.publishers
        if publisher_id is None or publisher.pk == publisher_id
    ]
    matches = [
        publisher
        for publisher in candidates
        if conditions_hold(publisher.provider, publisher.conditions, id_token.claims)
    ]
    if len(matches) > 1:
        raise ExchangeRefused(
            "no publisher matched",
            "the ID token matches several trusted publishers; choose one by sending "
            '"publisher": its id (shown on the account\'s Trusted publishers page).',
        )
    if not matches:
        compared = _claims_compared(id_token, candidates or id_token.publishers)
        raise ExchangeRefused("no publisher matched", f"compared {compared}.")
    return matches[0]


def _resources_now(publisher: Publisher) -> dict[str, Any]:
    """The grant's resources, less the selected ones deleted since (never more than granted)."""
    resources = dict(publisher.resources)
    for kind, ids in kinds_selected(resources).items():
        rows = BY_KIND[kind].model.objects.filter(account_id=publisher.account_id, pk__in=ids)
        resources[str(kind)] = sorted(rows.values_list("pk", flat=True))
    return resources


def _minted_name(publisher: Publisher, run: dict[str, str]) -> str:
    run_id = run.get("run_id")
    suffix = f" (run {run_id[:40]})" if run_id else ""
    return publisher.name[: 100 - len(suffix)] + suffix


def _locked(id_token: VerifiedIdToken, chosen: Publisher, now: datetime) -> Publisher:
    """The chosen publisher, its row locked and its live tokens counted (one query): minting
    for it waits for a change or deletion of it, and counts one at a time. Changed since it
    was read, it is read again and must still match. At most MAX_LIVE_PER_PUBLISHER live."""
    locked = publisher_lock(chosen.pk, now=now)
    publisher: Publisher | None = chosen
    if locked is not None and locked.updated_at != chosen.updated_at:
        publisher = Publisher.objects.select_related("account").filter(pk=chosen.pk).first()
    if (
        locked is None
        or publisher is None
        or not conditions_hold(publisher.provider, publisher.conditions, id_token.claims)
    ):
        raise ExchangeRefused("no publisher matched", "the publisher changed; try again.")
    if locked.live_tokens >= MAX_LIVE_PER_PUBLISHER:
        live = minted_live(publisher, now=now).order_by("expires_at")
        soonest = live.values_list("expires_at", flat=True).first()
        wait = int((soonest - now).total_seconds()) + 1 if soonest else 60
        raise PublisherLimitReached(retry_after=max(1, wait))
    return publisher


def _mint(
    actor: Actor, publisher: Publisher, run: dict[str, str], resources: dict, now: datetime
) -> CreatedToken:
    """The token, created by the token services with the publisher's grant."""
    return token_create(
        actor=actor,
        token_type=TokenType.AUTOMATION,
        name=_minted_name(publisher, run),
        account=publisher.account,
        role=publisher.role,
        scopes=publisher.scopes,
        resources=resources,
        record_rules=publisher.record_rules,
        tls_access=publisher.tls_access,
        expires_at=now + timedelta(minutes=publisher.lifetime_minutes),
        minted_by=publisher,
        minted_run=run,
    )


def publisher_token_mint(
    *, id_token: VerifiedIdToken, publisher_id: int | None = None, ip: str | None = None
) -> Minted:
    """Trade a verified ID token for a short-lived automation token (SPEC 18).

    In one transaction: the `jti` is recorded (a second exchange of the same ID token,
    on any app server, finds it: refused as replayed), the one matching publisher is
    found (`publisher_id` chooses among several), its live tokens are counted under its
    row lock, and the token is created by token_create with the publisher's grant.
    Any refusal rolls the `jti` back with the rest. Raises ExchangeRefused,
    PublisherLimitReached or TokenValidationError (the grant no longer fits: a policy).
    """
    now = timezone.now()
    with transaction.atomic(durable=True):
        _id_token_use(id_token, now)
        publisher = _locked(id_token, _matching_publisher(id_token, publisher_id), now)
        run = run_context(publisher.provider, id_token.claims)
        actor = Actor(
            ActorKind.SYSTEM,
            EventChannel.TRUSTED_PUBLISHER,
            label=f"trusted publisher “{publisher.name}”",
            ip=ip,
        )
        resources = dict(publisher.resources)
        try:
            created = _mint(actor, publisher, run, resources, now)
        except TokenValidationError as refused:
            if not any(field.startswith("resources.") for field in refused.message_dict):
                raise
            resources = _resources_now(publisher)  # some were deleted since: leave them out
            created = _mint(actor, publisher, run, resources, now)
    selections = {Kind(kind): ids for kind, ids in resources.items() if isinstance(ids, list)}
    return Minted(publisher=publisher, created=created, selections=selections)


@dataclass(frozen=True)
class MintedCleanup:
    """What the cleanup of minted tokens did."""

    deleted: int
    forgotten_id_tokens: int


def minted_tokens_clean(*, now: datetime) -> MintedCleanup:
    """Delete minted tokens a day after they expired (each a revocation by the cleanup, as
    every deletion of a token is) and forget the `jti`s of ID tokens that expired."""
    actor = Actor.system("minted-token cleanup")
    deleted = 0
    for token in minted_expired_before(now - DELETED_AFTER_EXPIRY).select_related("account"):
        if token_revoke(actor=actor, token=token, revoked_by="minted_expired"):
            deleted += 1
    forgotten, _ = UsedIdToken.objects.filter(expires_at__lt=now).delete()
    return MintedCleanup(deleted=deleted, forgotten_id_tokens=forgotten)
