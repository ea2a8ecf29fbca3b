"""One attempt of a webhook delivery: claim it, check where it goes, sign, send, record (SPEC 19).

Runs on a worker only (tokens.webhooks.tasks), never in a request. An attempt:

1. claims the delivery with one conditional UPDATE (pending, due now): two workers
   handed the same delivery (its task, and the retry job) send it once;
2. checks the URL and the addresses its host resolves to now (tokens.webhooks.guard)
   and connects to the address it checked;
3. signs the body as stored, with a fresh `webhook-timestamp` (tokens.webhooks.signing);
4. POSTs it with httpx: no redirects followed, no proxy from the environment, timeouts
   in seconds, at most MAX_RESPONSE_BYTES of the answer read;
5. records the attempt (status, duration, the start of the answer, or why there was
   none): a 2xx delivers it; otherwise the next attempt is scheduled (retry_wait) until
   ATTEMPTS were made. An endpoint whose deliveries keep failing for
   DISABLE_AFTER_FAILING_FOR is switched off (tokens.webhooks.services).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from django.db import transaction
from django.utils import timezone

from tokens.webhooks.constants import (
    ATTEMPT_LEASE,
    ATTEMPTS,
    CONNECT_SECONDS,
    DISABLE_AFTER_FAILING_FOR,
    EXCERPT_CHARS,
    MAX_RESPONSE_BYTES,
    READ_SECONDS,
    TOTAL_SECONDS,
    retry_wait,
)
from tokens.webhooks.guard import Refused, Target, resolve_target
from tokens.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tokens.webhooks.signing import SecretUnreadable, secret_open, signed_headers

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status (None: no answer), its duration, an excerpt, an error."""

    status_code: int | None
    duration_ms: int = 0
    excerpt: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _excerpt(raw: bytes) -> str:
    text = raw[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd")[:EXCERPT_CHARS]


def http_send(target: Target, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to the checked address of `target`; never raises for a network failure."""
    started = time.monotonic()
    extensions = {"sni_hostname": target.tls_name} if target.tls_name else {}
    timeout = httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS)
    received = bytearray()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST",
                target.url,
                content=body,
                headers={**headers, "host": target.host_header},
                extensions=extensions,
            )
            response = client.send(request, stream=True)
            try:
                status = response.status_code
                for chunk in response.iter_raw():
                    received += chunk
                    late = time.monotonic() - started > TOTAL_SECONDS
                    if len(received) >= MAX_RESPONSE_BYTES or late:
                        break
            finally:
                response.close()
    except httpx.TimeoutException:
        return Answer(None, _ms(started), error="No answer in time (timed out).")
    except httpx.HTTPError as error:
        return Answer(None, _ms(started), error=f"No answer: {type(error).__name__}.")
    problem = ""
    if 300 <= status < 400:
        problem = "Redirects are not followed: point the endpoint at the final URL."
    return Answer(status, _ms(started), _excerpt(bytes(received)), problem)


def _ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))


def _claim(delivery_id: int, now: datetime) -> bool:
    """Hold a due, pending delivery for this attempt (one UPDATE: one claimant wins)."""
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + ATTEMPT_LEASE)
    return claimed == 1


def _send(delivery: WebhookDelivery, now: datetime) -> Answer:
    endpoint = delivery.endpoint
    try:
        target = resolve_target(endpoint.url)
        secrets = [secret_open(endpoint.secret_sealed, account_id=endpoint.account_id)]
        if endpoint.previous_secret_signs(now):
            assert endpoint.previous_secret_sealed is not None  # previous_secret_signs says so
            secrets.append(
                secret_open(endpoint.previous_secret_sealed, account_id=endpoint.account_id)
            )
    except (Refused, SecretUnreadable) as problem:
        return Answer(None, error=str(problem))
    headers = signed_headers(
        secrets=secrets,
        message_id=delivery.message_id,
        timestamp=now,
        body=delivery.body.encode("utf-8"),
    )
    return http_send(target, body=delivery.body.encode("utf-8"), headers=headers)


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> WebhookAttempt | None:
    """Make the next attempt of a delivery if it is due; None when it is not (or is gone)."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:
        return None
    if not delivery.endpoint.enabled and not delivery.forced:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.CANCELLED, next_attempt_at=None
        )
        return None
    answer = _send(delivery, now)
    return _record(delivery, answer, timezone.now())


@transaction.atomic
def _record(delivery: WebhookDelivery, answer: Answer, now: datetime) -> WebhookAttempt:
    number = delivery.attempts + 1
    attempt = WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        at=now,
        status_code=answer.status_code,
        duration_ms=answer.duration_ms,
        response_excerpt=answer.excerpt,
        error=answer.error[:300],
    )
    changes: dict[str, object] = {"attempts": number, "status_code": answer.status_code}
    if answer.succeeded:
        changes.update(
            state=WebhookDelivery.State.SUCCEEDED, delivered_at=now, next_attempt_at=None
        )
    elif delivery.forced or number >= ATTEMPTS:  # a test or a redelivery is tried once
        changes.update(state=WebhookDelivery.State.FAILED, next_attempt_at=None)
    else:
        changes.update(next_attempt_at=now + retry_wait(number))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
    _endpoint_health(delivery.endpoint, succeeded=answer.succeeded, forced=delivery.forced, now=now)
    return attempt


def _endpoint_health(
    endpoint: WebhookEndpoint, *, succeeded: bool, forced: bool, now: datetime
) -> None:
    """A success clears the endpoint's failing clock; a failure starts it, and after
    DISABLE_AFTER_FAILING_FOR switches the endpoint off. A test or a redelivery that
    fails does not count: a person is watching it."""
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if succeeded:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    if forced:
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    failing = endpoints.filter(
        enabled=True, failing_since__lte=now - DISABLE_AFTER_FAILING_FOR
    ).exists()
    if failing:
        from tokens.webhooks.services import webhook_switch_off_failing

        webhook_switch_off_failing(endpoint_id=endpoint.pk, now=now)


def deliveries_due(now: datetime, limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt is due (the retry job queues them)."""
    return list(
        WebhookDelivery.objects.filter(
            state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
