"""What the token tests share: the API call, the panel's wizard and sudo, the people of
an account, and the queue on real storage.

- `call(client, method, path, secret, body)`: the one way the tests call the API.
- `basic(email, password)`: an HTTP Basic header (`POST /tokens`); `set_policy(account, ...)`.
- `wizard_post(**overrides)`, `enter_sudo(client, password)`: the create-token wizard;
  `through_sudo(client, detour, password)`: confirm on /sudo/ after a detour, and come back.
- fixtures `owner` (a superuser of `account`) and `engineer`.
- The queue: everywhere else a queued task runs inline (tests/conftest.py). Here
  `queue_on(storage)` puts the queue on a SQLite file, a Redis database or PostgreSQL,
  and `worker_running()` starts the consumer `manage.py worker` runs, its threads in
  this process (so they see the test database), and stops it gracefully.
"""

from __future__ import annotations

import base64
import json
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse
from huey.contrib.djhuey import HUEY
from huey.storage import BaseStorage, PostgresStorage, RedisStorage, SqliteStorage

from accounts.constants import Role
from accounts.models import Account
from tests.conftest import TEST_REDIS_URL
from tokens.management.commands.worker import GracefulConsumer

# --------------------------------------------------------------------------- the API


def call(
    client: Client,
    method: str,
    path: str,
    secret: str | None = None,
    body: Any = None,
    **extra: Any,
) -> Any:
    """`method` on `/api/v1{path}` with the bearer `secret` (if any) and `body`: JSON for
    data, sent as is for text or bytes."""
    if secret is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    data = body if isinstance(body, str | bytes) else json.dumps(body) if body is not None else ""
    return client.generic(
        method, f"/api/v1{path}", data=data, content_type="application/json", **extra
    )


def set_policy(account: Account, **policy: Any) -> None:
    """Set an account's token policies directly (its columns), as a test's starting point."""
    Account.objects.filter(pk=account.pk).update(**policy)


def basic(email: str, password: str) -> str:
    """An `Authorization: Basic` header's value."""
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


# --------------------------------------------------------------------------- the panel


def enter_sudo(client: Client, password: str, next_url: str = "/tokens/") -> str:
    """Confirm the password on /sudo/, coming back to `next_url`; the address it sends to."""
    response = client.post(reverse("accounts:sudo"), {"password": password, "next": next_url})
    assert response.status_code == 302
    return str(response["Location"])


def through_sudo(client: Client, detour: Any, password: str) -> Any:
    """After `detour` (a redirect to /sudo/): confirm the password there, as the page does
    (its `next` and `cancel`), and follow it back; the answer of the address it returns to."""
    assert detour.status_code == 302 and detour["Location"].startswith(reverse("accounts:sudo"))
    query = parse_qs(urlsplit(detour["Location"]).query)
    fields = {name: values[0] for name, values in query.items()}
    confirmed = client.post(reverse("accounts:sudo"), {**fields, "password": password})
    assert confirmed.status_code == 302 and confirmed["Location"] == fields["next"]
    return client.get(confirmed["Location"])


def wizard_post(**overrides: Any) -> dict[str, Any]:
    """The create-token wizard's fields: a user token reading zones for 90 days, all resources,
    sent from the review with Generate token (`step="review"` asks for the review)."""
    data: dict[str, Any] = {
        "step": "generate",
        "name": "CI deploys",
        "token_type": "user",
        "scopes": ["zones:read"],
        "expiration": "90",
        "allowed_ips": "",
    }
    for kind in ("zones", "domains", "registrar", "certificates", "services"):
        data[f"{kind}_mode"] = "all"
    data.update(overrides)
    return data


@pytest.fixture
def owner(account, member_factory):
    """A superuser of `account`."""
    return member_factory(account, Role.SUPERUSER, email="owner@example.org")


@pytest.fixture
def engineer(account, member_factory):
    return member_factory(account, Role.ENGINEER, email="engineer@example.org")


# --------------------------------------------------------------------------- the queue


@contextmanager
def queue_on(storage: BaseStorage, *, empty_after: bool = True) -> Iterator[BaseStorage]:
    """Queued tasks go to `storage` (not run inline) until the block ends; then it is emptied."""
    HUEY.immediate = False
    HUEY.storage = storage
    try:
        yield storage
    finally:
        try:
            if empty_after:
                HUEY.flush_locks()
                storage.flush_all()
        finally:
            HUEY.immediate = True  # back to inline tasks, in memory


_CONSUMER_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def worker_running(workers: int = 2) -> Iterator[GracefulConsumer]:
    """The worker's consumer, its threads started here; stopped gracefully at the end."""
    consumer = GracefulConsumer(
        HUEY,
        workers=workers,
        worker_type="thread",
        periodic=False,
        initial_delay=0.05,
        max_delay=0.25,
        check_worker_health=False,
        shutdown_timeout=15,
    )
    handlers = {signum: signal.getsignal(signum) for signum in _CONSUMER_SIGNALS}
    consumer.start()  # installs its signal handlers: pytest's are put back below
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def wait_for(condition: Callable[[], object], seconds: float = 20.0) -> None:
    """Poll until `condition()` is true; fail after `seconds`.

    SQLite's shared in-memory test database locks a table the worker thread is writing
    ("database table is locked", at once, with no busy wait): that poll counts as "not yet".
    """
    deadline = time.monotonic() + seconds
    while not _holds(condition):
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {seconds}s")
        time.sleep(0.05)


def _holds(condition: Callable[[], object]) -> bool:
    try:
        return bool(condition())
    except OperationalError as error:
        if "locked" not in str(error):
            raise
        return False


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def queue_storage(request, tmp_path) -> Iterator[BaseStorage]:
    """A real queue storage of each kind Keyward supports (settings.HUEY)."""
    name = f"kwtest{uuid.uuid4().hex}"
    if request.param == "sqlite":
        storage: BaseStorage = SqliteStorage(name, filename=str(tmp_path / "queue.sqlite3"))
    elif request.param == "redis":
        request.getfixturevalue("redis_server")  # skipped without Redis (failed in CI)
        storage = RedisStorage(name, url=TEST_REDIS_URL)
    else:
        request.getfixturevalue("transactional_db")
        if connection.vendor != "postgresql":
            pytest.skip("the PostgreSQL queue needs DATABASE_URL=postgres://...")
        db = connection.settings_dict  # the test database
        storage = PostgresStorage(
            name,
            dbname=db["NAME"],
            user=db["USER"],
            password=db["PASSWORD"],
            host=db["HOST"],
            port=db["PORT"] or None,
        )
    yield storage
    storage.close()


# --------------------------------------------------------------------------- webhooks (SPEC 19)


@pytest.fixture
def webhook_to(settings, webhook_receiver):
    """webhook_to(account, by=superuser, events=[...]) -> an endpoint of `account` delivering to
    the test's receiver on 127.0.0.1 (KEYWARD_WEBHOOKS_ALLOW_PRIVATE), whose secret the
    receiver verifies with."""
    from tokens.events import Actor
    from tokens.webhooks.constants import WebhookEventType
    from tokens.webhooks.services import webhook_create

    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = True

    def make(account, by, events=None, path="/hook"):
        created = webhook_create(
            actor=Actor.person(by),
            account=account,
            url=webhook_receiver.url + path,
            event_types=events or WebhookEventType.values,
        )
        webhook_receiver.secret = created.secret
        return created.endpoint

    return make
