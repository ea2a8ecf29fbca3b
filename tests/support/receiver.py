"""A real webhook receiver: verifies Standard Webhooks signatures, answers as scripted.

    receiver = WebhookReceiver(secret="whsec_...").start()
    receiver.script(500, 200)            # first delivery answered 500, the next 200
    ... Keyward delivers to receiver.url + "/hook" ...
    first, second = receiver.wait_for_deliveries(2)
    assert second.verified and second.payload["type"] == "token.created"

Each request is checked with the `standardwebhooks` package (the same one Keyward signs with)
against `secret`, which may be set after start (Keyward shows an endpoint's secret once, on
creation). A request that fails verification is recorded with the reason and answered 401,
as a careful receiver would; a verified one gets the next scripted answer (200 once the
script is used up).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.servers import Answer, Request, RequestCatcher


@dataclass(frozen=True)
class Delivery:
    """One request to the receiver, with the outcome of its signature check and its answer."""

    request: Request
    verified: bool
    error: str | None
    status: int

    @property
    def headers(self) -> dict[str, str]:
        """The request headers, names in lower case (`webhook-id`, `webhook-signature`, ...)."""
        return self.request.headers

    @property
    def body(self) -> bytes:
        """The raw body as received."""
        return self.request.body

    @property
    def payload(self) -> Any:
        """The body parsed as JSON (`{"type", "timestamp", "data"}` for Standard Webhooks)."""
        return json.loads(self.request.body)


class WebhookReceiver(RequestCatcher):
    """An HTTP endpoint on 127.0.0.1 that records and verifies webhook deliveries."""

    def __init__(self, secret: str | None = None) -> None:
        super().__init__()
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self._script: deque[Answer] = deque()

    def script(self, *answers: int | Answer) -> None:
        """Queue the answers to the next verified deliveries: statuses or full `Answer`s.

        `receiver.script(500, Answer(200, delay=2.0))`: a 500, then a 200 after two seconds.
        """
        with self.lock:
            self._script.extend(
                answer if isinstance(answer, Answer) else Answer(status=answer)
                for answer in answers
            )

    def verify(self, request: Request) -> str | None:
        """Why the request's signature does not hold against `secret` (None: it holds)."""
        if not self.secret:
            return "the receiver has no secret to verify with"
        try:
            Webhook(self.secret).verify(request.body, request.headers, json_parse=False)
        except WebhookVerificationError as error:
            return str(error)
        return None

    def handle(self, request: Request) -> Answer:
        """Verify, pick the answer, record the delivery."""
        error = self.verify(request)
        with self.lock:
            if error:
                answer = Answer(status=401, body=f"signature refused: {error}".encode())
            else:
                answer = self._script.popleft() if self._script else Answer()
            self.deliveries.append(Delivery(request, error is None, error, answer.status))
        self.record(request)
        return answer

    def wait_for_deliveries(self, count: int = 1, timeout: float = 10.0) -> list[Delivery]:
        """Block until `count` deliveries arrived; return them all, oldest first."""
        self.wait_for(count, timeout)
        with self.lock:
            return list(self.deliveries)

    def clear(self) -> None:
        """Forget what was received and what was scripted."""
        with self.lock:
            self.requests.clear()
            self.deliveries.clear()
            self._script.clear()
