"""A small HTTP server on 127.0.0.1 in a thread: the base of the in-process counterparts.

`LocalServer` serves on a free port chosen by the OS; a subclass answers requests in
`handle(request)`. `RequestCatcher` records every request it gets and answers 200: it is the
redirect target of an OAuth client in tests, and the base of the webhook receiver.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """One request as the server received it (headers with lower-case names)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received_at: datetime

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    """What the server answers: a status, a body, and how long it waits before answering."""

    status: int = 200
    body: bytes = b"ok"
    content_type: str = "text/plain; charset=utf-8"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path,
            query={key: values[-1] for key, values in parse_qs(parts.query).items()},
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            received_at=datetime.now(UTC),
        )
        answer = self.server.owner.handle(request)
        if answer.delay:
            time.sleep(answer.delay)
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (a scripted delay)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what was recorded, not a log on stderr."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for an answer that is scripted to be slow
    owner: LocalServer


class LocalServer:
    """An HTTP server on 127.0.0.1:<free port> answering from a daemon thread.

    Use it as a context manager, or call start() and stop().
    """

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Its base URL, without a trailing slash: http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalServer:
        """Start answering (in a daemon thread)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and free the port."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, request: Request) -> Answer:
        """The answer to one request; subclasses decide."""
        raise NotImplementedError


class RequestCatcher(LocalServer):
    """Records every request and answers 200 (e.g. an OAuth redirect_uri in tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self._arrived = threading.Condition(self.lock)

    def handle(self, request: Request) -> Answer:
        """Record the request and answer with a small page."""
        self.record(request)
        return Answer(
            body=b"<!doctype html><title>Caught</title><p>Caught.</p>", content_type="text/html"
        )

    def record(self, request: Request) -> None:
        """Add a request to `requests` and wake whoever waits for it."""
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()

    def wait_for(
        self, count: int = 1, timeout: float = 10.0, *, path: str | None = None
    ) -> list[Request]:
        """Block until `count` requests (to `path`, if given) arrived; return those requests.

        Raises AssertionError on timeout. A browser also asks for /favicon.ico: pass `path`.
        """

        def arrived() -> list[Request]:
            return [r for r in self.requests if path is None or r.path == path]

        with self._arrived:
            if not self._arrived.wait_for(lambda: len(arrived()) >= count, timeout):
                raise AssertionError(
                    f"{self.url}{path or ''} got {len(arrived())} request(s), expected {count}"
                    f" within {timeout} s"
                )
            return arrived()
