"""A real OpenID provider for the SSO tests (SPEC 17): panva's certified `oidc-provider`.

    provider = OidcProvider().start()        # node tests/support/oidc_provider.mjs
    callback = live_server.url + "/accounts/oidc/acme/login/callback/"
    client = provider.add_client(redirect_uris=[callback])
    user = provider.add_user("owner@example.com", password="keyward-demo")
    ... Keyward (allauth) gets provider.issuer, client.client_id and client.client_secret ...
    provider.stop()

The provider runs in a Node subprocess on 127.0.0.1:<free port> over plain http; its issuer is
`http://127.0.0.1:<port>`. Authorization-code flow with PKCE (required for every client,
S256), scopes `openid email profile`, ID tokens signed RS256 with a key made per run and
carrying `email`, `email_verified` and `name`. Its sign-in page has the labels "Email" and
"Password" and the button "Sign in" (the email is filled in from `login_hint`); consent is
granted at once. Clients and users are added while it runs, through an admin route guarded
by a token made per run.

`sign_in()` walks that page over HTTP for tests that drive Keyward with Django's test client
rather than Chromium; `authorization_url()`, `pkce_pair()` and `exchange_code()` play the
relying party's part for tests of the provider itself.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode, urljoin

import httpx

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
SCOPES = "openid email profile"
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


@dataclass(frozen=True)
class OidcClient:
    """A client (relying party) registered at the provider."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str


@dataclass(frozen=True)
class OidcUser:
    """A person who can sign in at the provider; `sub` is stable for an email."""

    sub: str
    email: str
    password: str
    name: str
    email_verified: bool


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


class OidcProvider:
    """Starts, configures and stops the Node OpenID provider."""

    def __init__(self, *, port: int = 0, config: Path | None = None) -> None:
        self.port = port
        self.config = config
        self.issuer = ""
        self._admin_token = secrets.token_urlsafe(24)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._discovery: dict[str, Any] | None = None

    # --- process --------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> OidcProvider:
        """Start the provider and wait until its discovery document answers."""
        node = shutil.which("node")
        if node is None or not (REPO / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(
                "The OpenID provider needs Node and `npm ci` (node_modules/oidc-provider): "
                "run `make install`."
            )
        command = [node, str(SCRIPT), "--port", str(self.port)]
        if self.config is not None:
            command += ["--config", str(self.config)]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self._process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={**os.environ, "OIDC_ADMIN_TOKEN": self._admin_token},
        )
        deadline = time.monotonic() + timeout
        self.issuer = self._read_issuer(deadline)
        self._wait_for_discovery(deadline)
        return self

    def _read_issuer(self, deadline: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            ready, _, _ = select.select([self._process.stdout], [], [], 0.2)
            if ready:
                line = self._process.stdout.readline()
                if line.startswith(b"{"):
                    return str(json.loads(line)["issuer"])
        self.stop()
        raise RuntimeError(f"the OpenID provider did not start: {self.log()}")

    def _wait_for_discovery(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                self._discovery = self.discovery()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the OpenID provider never answered discovery: {self.log()}")

    def log(self) -> str:
        """What the Node process wrote on stderr so far (for failure messages)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop the Node process (SIGTERM, then SIGKILL after 5 s)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    # --- what it serves -------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        """Its discovery document (fetched now)."""
        response = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5)
        response.raise_for_status()
        return dict(response.json())

    def endpoint(self, name: str) -> str:
        """A URL from the discovery document: "authorization", "token", "jwks" (jwks_uri), ..."""
        if self._discovery is None:
            self._discovery = self.discovery()
        key = "jwks_uri" if name == "jwks" else f"{name}_endpoint"
        return str(self._discovery[key])

    # --- configuration while it runs ------------------------------------------------------

    def _admin(self, what: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.issuer}/_admin/{what}",
            json=body,
            headers={"Authorization": f"Bearer {self._admin_token}"},
            timeout=5,
        )
        if response.status_code != 201:
            raise RuntimeError(f"the OpenID provider refused the {what[:-1]}: {response.text}")
        return dict(response.json())

    def add_client(
        self,
        *,
        redirect_uris: list[str],
        client_id: str | None = None,
        client_secret: str | None = None,
        token_endpoint_auth_method: str = "client_secret_post",
        **metadata: Any,
    ) -> OidcClient:
        """Register a confidential client; ids and secrets are made up when not given.

        A "*" in a redirect URI matches one path segment. `client_secret_post` is what
        allauth's openid_connect picks when the provider offers it (this one does).
        """
        client = OidcClient(
            client_id=client_id or f"client-{secrets.token_hex(4)}",
            client_secret=client_secret or secrets.token_urlsafe(24),
            redirect_uris=tuple(redirect_uris),
            token_endpoint_auth_method=token_endpoint_auth_method,
        )
        self._admin(
            "clients",
            {
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uris": list(client.redirect_uris),
                "token_endpoint_auth_method": token_endpoint_auth_method,
                **metadata,
            },
        )
        return client

    def add_user(
        self,
        email: str,
        password: str = "idp-password",
        *,
        name: str | None = None,
        email_verified: bool = True,
    ) -> OidcUser:
        """Add (or replace) a person who can sign in."""
        body = {"email": email, "password": password, "email_verified": email_verified}
        made = self._admin("users", {**body, "name": name} if name else body)
        return OidcUser(made["sub"], email, password, made["name"], email_verified)

    # --- the relying party's part, for tests -------------------------------------------

    def authorization_url(
        self,
        client: OidcClient,
        *,
        state: str,
        nonce: str,
        code_challenge: str | None,
        redirect_uri: str | None = None,
        scope: str = SCOPES,
        **params: str,
    ) -> str:
        """The authorization request a relying party sends the browser to."""
        query = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri or client.redirect_uris[0],
            "scope": scope,
            "state": state,
            "nonce": nonce,
            **params,
        }
        if code_challenge is not None:
            query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self.endpoint('authorization')}?{urlencode(query)}"

    def sign_in(self, url: str, *, email: str, password: str, max_steps: int = 12) -> str:
        """Follow `url` (an authorization request) through the sign-in page, without a browser.

        Returns the URL the provider finally redirects to outside itself (the relying
        party's redirect URI with `code` and `state`, or with `error`); that URL is not
        fetched. Raises AssertionError with the page's text when the provider stops on a
        page (wrong password, an error page).
        """
        with httpx.Client(timeout=10) as browser:
            response = browser.get(url)
            for _ in range(max_steps):
                if response.is_redirect:
                    target = urljoin(str(response.url), response.headers["location"])
                    if not target.startswith(self.issuer + "/"):
                        return target
                    response = browser.get(target)
                    continue
                action = FORM_ACTION.search(response.text)
                if response.status_code != 200 or action is None:
                    break
                response = browser.post(
                    urljoin(str(response.url), html.unescape(action.group(1))),
                    data={"email": email, "password": password},
                )
        text = re.sub(r"<[^>]+>", " ", response.text)
        raise AssertionError(f"sign-in stopped at {response.status_code}: {' '.join(text.split())}")

    def exchange_code(
        self, client: OidcClient, *, code: str, redirect_uri: str, code_verifier: str | None
    ) -> httpx.Response:
        """POST the code to the token endpoint, authenticating as the client registered."""
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier is not None:
            data["code_verifier"] = code_verifier
        auth: tuple[str, str] | None = None
        if client.token_endpoint_auth_method == "client_secret_basic":
            auth = (client.client_id, client.client_secret)
        else:
            data |= {"client_id": client.client_id, "client_secret": client.client_secret}
        return httpx.post(self.endpoint("token"), data=data, auth=auth, timeout=10)
