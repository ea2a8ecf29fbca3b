"""A real OIDC issuer for CI ID tokens (SPEC 18): what GitHub Actions and GitLab CI are to Keyward.

    issuer = OidcIssuer(audience="keyward").start()     # RS256 and ES256 keys, made now
    token = issuer.mint(issuer.github_claims(environment="prod"))
    issuer.rotate("RS256")                              # the served JWKS changes
    issuer.mint(expired(issuer.gitlab_claims()), alg="ES256")

It serves `/.well-known/openid-configuration` and `/.well-known/jwks` on 127.0.0.1 over
http (`issuer.url` is the `iss`), signs with joserfc, and counts the requests it serves per
path (`issuer.hits`) so JWKS caching can be measured. The claim sets follow the examples in
GitHub's "About security hardening with OpenID Connect" and GitLab's "OpenID Connect (OIDC)
Authentication Using ID Tokens": ids are strings there, and so they are here.

The deliberately bad tokens an attacker or a broken CI would send: `mint_unsigned` (`alg:
none`), `mint_hs256_with_public_key` (algorithm confusion), `mint_unknown_kid` (a key the
JWKS does not have), and the time shifts `expired`, `not_yet_valid` and `too_old`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections import Counter
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from tests.support.servers import Answer, LocalServer, Request

SIGNING_ALGORITHMS = ("RS256", "ES256")
JWKS_PATH = "/.well-known/jwks"
DISCOVERY_PATH = "/.well-known/openid-configuration"

Claims = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _apply(claims: Claims, overrides: dict[str, Any]) -> Claims:
    """Overrides win; an override of None removes the claim."""
    merged = {**claims, **overrides}
    return {name: value for name, value in merged.items() if value is not None}


def make_key(alg: str) -> RSAKey | ECKey:
    """A fresh signing key for `alg` (RS256: RSA 2048; ES256: EC P-256) with a random kid."""
    parameters = {"kid": f"{alg.lower()}-{secrets.token_hex(6)}", "alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters)  # type: ignore[arg-type]
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters)  # type: ignore[arg-type]
    raise ValueError(f"the test issuer signs with {', '.join(SIGNING_ALGORITHMS)}, not {alg}")


def expired(claims: Claims) -> Claims:
    """The same claims, expired two minutes ago (beyond a 60 s leeway), issued 7 minutes ago."""
    now = int(time.time())
    return {**claims, "iat": now - 420, "nbf": now - 420, "exp": now - 120}


def not_yet_valid(claims: Claims) -> Claims:
    """The same claims, valid only from five minutes from now (beyond a 60 s leeway)."""
    now = int(time.time())
    return {**claims, "iat": now, "nbf": now + 300, "exp": now + 900}


def too_old(claims: Claims, minutes: int = 15) -> Claims:
    """The same claims issued `minutes` ago but not yet expired: only `iat` is too old."""
    now = int(time.time())
    issued = now - minutes * 60
    return {**claims, "iat": issued, "nbf": issued, "exp": now + 600}


class OidcIssuer(LocalServer):
    """An OpenID issuer on 127.0.0.1 that mints CI-shaped ID tokens with keys made per run."""

    def __init__(
        self, *, audience: str = "keyward", algorithms: tuple[str, ...] = SIGNING_ALGORITHMS
    ):
        super().__init__()
        self.audience = audience
        self.keys: dict[str, RSAKey | ECKey] = {}
        self.hits: Counter[str] = Counter()
        for alg in algorithms:
            self.add_key(alg)

    # --- what it serves -------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The `iss` of its tokens: its URL, http://127.0.0.1:<port>."""
        return self.url

    def discovery(self) -> dict[str, Any]:
        """The discovery document, shaped like GitHub's."""
        return {
            "issuer": self.issuer,
            "jwks_uri": self.issuer + JWKS_PATH,
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref"],
            "id_token_signing_alg_values_supported": sorted(
                {str(key.alg) for key in self.keys.values()}
            ),
            "scopes_supported": ["openid"],
        }

    def jwks(self) -> dict[str, Any]:
        """The public keys as served now."""
        with self.lock:
            return {"keys": [key.as_dict(private=False) for key in self.keys.values()]}

    def handle(self, request: Request) -> Answer:
        """Serve discovery and JWKS; 404 for anything else."""
        with self.lock:
            self.hits[request.path] += 1
        if request.path == DISCOVERY_PATH:
            document = self.discovery()
        elif request.path == JWKS_PATH:
            document = self.jwks()
        else:
            return Answer(status=404, body=b"not found")
        return Answer(body=json.dumps(document).encode(), content_type="application/json")

    # --- keys -----------------------------------------------------------------------------

    def add_key(self, alg: str = "RS256") -> str:
        """Make a new key for `alg`, serve it in the JWKS, return its kid."""
        key = make_key(alg)
        with self.lock:
            self.keys[str(key.kid)] = key
        return str(key.kid)

    def remove_key(self, kid: str) -> None:
        """Stop serving (and signing with) the key `kid`."""
        with self.lock:
            del self.keys[kid]

    def rotate(self, alg: str = "RS256") -> str:
        """Replace every key for `alg` with a new one; return the new kid."""
        with self.lock:
            old = [kid for kid, key in self.keys.items() if key.alg == alg]
        new = self.add_key(alg)
        for kid in old:
            self.remove_key(kid)
        return new

    def key_for(self, alg: str = "RS256", kid: str | None = None) -> RSAKey | ECKey:
        """The key `kid`, or the newest key for `alg`."""
        with self.lock:
            if kid is not None:
                return self.keys[kid]
            matching = [key for key in self.keys.values() if key.alg == alg]
        if not matching:
            raise KeyError(f"the issuer has no {alg} key")
        return matching[-1]

    def key_set(self) -> KeySet:
        """The served JWKS as a joserfc KeySet (what a verifier would import)."""
        return KeySet.import_key_set(self.jwks())  # type: ignore[arg-type]

    # --- claims ---------------------------------------------------------------------------

    def _times(self, lifetime: int) -> Claims:
        now = int(time.time())
        return {"iat": now, "nbf": now - 5, "exp": now + lifetime, "jti": str(uuid.uuid4())}

    def github_claims(self, **overrides: Any) -> Claims:
        """GitHub Actions claims (a deployment job of octo-org/octo-repo to `prod`).

        `sub` follows the others unless given: `repo:<repository>:environment:<env>`, or
        `repo:<repository>:pull_request`, or `repo:<repository>:ref:<ref>`.
        """
        repository = overrides.get("repository", "octo-org/octo-repo")
        owner = repository.split("/")[0]
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "environment": "prod",
            "ref": "refs/heads/main",
            "ref_type": "branch",
            "ref_protected": "true",
            "sha": "d6d2a9e3c5f1b0a4e8b7c6d5e4f3a2b1c0d9e8f7",
            "repository": repository,
            "repository_id": "74",
            "repository_owner": owner,
            "repository_owner_id": "65",
            "repository_visibility": "private",
            "actor": "octocat",
            "actor_id": "12",
            "run_id": "5283741612",
            "run_number": "10",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
            "workflow": "deploy",
            "workflow_ref": f"{repository}/.github/workflows/deploy.yml@refs/heads/main",
            "workflow_sha": "d6d2a9e3c5f1b0a4e8b7c6d5e4f3a2b1c0d9e8f7",
            "job_workflow_ref": f"{repository}/.github/workflows/deploy.yml@refs/heads/main",
            "job_workflow_sha": "d6d2a9e3c5f1b0a4e8b7c6d5e4f3a2b1c0d9e8f7",
            "event_name": "workflow_dispatch",
            "head_ref": "",
            "base_ref": "",
            **self._times(lifetime=300),
        }
        claims = _apply(claims, overrides)
        if "sub" not in overrides:
            if claims.get("environment"):
                claims["sub"] = f"repo:{repository}:environment:{claims['environment']}"
            elif claims.get("event_name") in ("pull_request", "pull_request_target"):
                claims["sub"] = f"repo:{repository}:pull_request"
            else:
                claims["sub"] = f"repo:{repository}:ref:{claims.get('ref')}"
        return claims

    def gitlab_claims(self, **overrides: Any) -> Claims:
        """GitLab CI claims (a job of my-group/my-project on main, environment `production`).

        `sub` follows the others unless given: `project_path:<path>:ref_type:<type>:ref:<ref>`.
        """
        project_path = overrides.get("project_path", "my-group/my-project")
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "namespace_id": "72",
            "namespace_path": project_path.rsplit("/", 1)[0],
            "project_id": "20",
            "project_path": project_path,
            "project_visibility": "private",
            "user_id": "1",
            "user_login": "sample-user",
            "user_email": "sample-user@example.com",
            "user_access_level": "maintainer",
            "pipeline_id": "574",
            "pipeline_source": "push",
            "job_id": "302",
            "ref": "main",
            "ref_type": "branch",
            "ref_path": "refs/heads/main",
            "ref_protected": "true",
            "environment": "production",
            "environment_protected": "true",
            "deployment_tier": "production",
            "environment_action": "start",
            "runner_id": 1,
            "runner_environment": "gitlab-hosted",
            "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
            "ci_config_ref_uri": f"gitlab.com/{project_path}//.gitlab-ci.yml@refs/heads/main",
            "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
            **self._times(lifetime=3600),
        }
        claims = _apply(claims, overrides)
        if "sub" not in overrides:
            claims["sub"] = (
                f"project_path:{project_path}:ref_type:{claims.get('ref_type')}"
                f":ref:{claims.get('ref')}"
            )
        return claims

    # --- tokens ---------------------------------------------------------------------------

    def mint(
        self,
        claims: Claims,
        *,
        alg: str = "RS256",
        kid: str | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        """An ID token for `claims`, signed with the key `kid` (default: the newest for `alg`)."""
        key = self.key_for(alg, kid)
        protected = {"typ": "JWT", "alg": key.alg, "kid": key.kid, **(header or {})}
        return jwt.encode(protected, claims, key, algorithms=[str(key.alg)])

    def github_token(self, **overrides: Any) -> str:
        """A signed RS256 token with `github_claims(**overrides)`."""
        return self.mint(self.github_claims(**overrides))

    def gitlab_token(self, **overrides: Any) -> str:
        """A signed RS256 token with `gitlab_claims(**overrides)`."""
        return self.mint(self.gitlab_claims(**overrides))

    def mint_unsigned(self, claims: Claims) -> str:
        """`alg: none` and an empty signature: must be refused."""
        kid = self.key_for("RS256").kid
        return f"{_segment({'typ': 'JWT', 'alg': 'none', 'kid': kid})}.{_segment(claims)}."

    def mint_hs256_with_public_key(self, claims: Claims, *, kid: str | None = None) -> str:
        """HS256 keyed with the served RSA public key's PEM: the algorithm-confusion attack.

        joserfc itself refuses to use a public key as an HMAC secret, so the attacker's token
        is put together by hand here.
        """
        key = self.key_for("RS256", kid)
        signing_input = (
            f"{_segment({'typ': 'JWT', 'alg': 'HS256', 'kid': key.kid})}.{_segment(claims)}"
        )
        digest = hmac.new(key.as_pem(private=False), signing_input.encode(), hashlib.sha256)
        return f"{signing_input}.{_b64(digest.digest())}"

    def mint_unknown_kid(self, claims: Claims, *, alg: str = "RS256") -> str:
        """Signed properly, by a key the issuer never served (its kid is unknown to the JWKS)."""
        stranger = make_key(alg)
        header = {"typ": "JWT", "alg": alg, "kid": stranger.kid}
        return jwt.encode(header, claims, stranger, algorithms=[alg])
