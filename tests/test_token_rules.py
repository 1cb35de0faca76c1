"""What a bearer token must be, through the real GraphQL endpoint: signed with the server's own
secret (never the published development one once billing is real), carrying `exp` no further
ahead than JWT_MAX_TTL, with `nbf`/`iat` honoured; under JWKS, minted for this API's audience,
with keys fetched briefly, off the event loop, and refetched for unknown `kid`s at most once
a minute."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from seatbill.auth import LEEWAY_SECONDS, AuthError, TokenVerifier, issue_development_token
from seatbill.config import DEV_JWT_SECRET, ConfigError, Settings
from seatbill.models import User
from tests.conftest import REPO, Api, Stack, serve

ME = "{ me { email } }"
AUDIENCE = "https://seatbill.example/api"
ISSUER = "https://idp.example/"
REAL_SECRET = "a-production-secret-nobody-published"
HOUR = 3600


def subject(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def claims(sub: str, ttl: int | None = 600, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    payload: dict[str, Any] = {"sub": sub, "iat": now, **extra}
    if ttl is not None:
        payload["exp"] = now + ttl
    return payload


def hs256(payload: dict[str, Any], secret: str = DEV_JWT_SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def error_of(response: httpx.Response) -> dict[str, Any] | None:
    assert response.status_code == 200, response.text
    body = response.json()
    if not body.get("errors"):
        return None
    error: dict[str, Any] = body["errors"][0]
    assert body["data"] is None, body
    return error


async def refused(api: Api, token: str) -> str:
    error = error_of(await api.post(ME, who=f"Bearer {token}"))
    assert error is not None, "the token was accepted"
    assert error["extensions"]["code"] == "UNAUTHENTICATED", error
    message: str = error["message"]
    return message


async def accepted(api: Api, token: str) -> None:
    error = error_of(await api.post(ME, who=f"Bearer {token}"))
    assert error is None, error


@pytest.fixture
def base(stack: Stack) -> Settings:
    """The session's settings, once the session's server (and so the ORM) is up: the servers
    these tests start beside it share its database."""
    return stack.settings


@asynccontextmanager
async def second_api(settings: Settings) -> AsyncIterator[Api]:
    async with serve(settings, manage_orm=False) as url, httpx.AsyncClient(timeout=30) as http:
        yield Api(url, settings, http)


# Item 1: the published development secret ------------------------------------------------


async def test_a_token_forged_with_the_development_secret_is_refused_in_production(
    base: Settings,
) -> None:
    """With a Stripe key the server needs a secret of its own; what was signed with the
    published one does not sign anyone in."""
    production = {"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"}
    with pytest.raises(ConfigError, match=r"^JWT_SECRET: .*JWT_JWKS_URL"):
        Settings.from_env(production)

    configured = Settings.from_env({**production, "JWT_SECRET": REAL_SECRET})
    configured = replace(configured, database_url=base.database_url)
    async with second_api(configured) as api:
        forged = subject("forged")
        await refused(api, hs256(claims(forged, email="boss@example.com")))
        assert await User.filter(subject=forged).count() == 0
        await accepted(api, hs256(claims(subject("own")), REAL_SECRET))


# Item 2: token lifetime with HS256 -------------------------------------------------------


async def test_a_token_without_exp_is_refused(api: Api) -> None:
    sub = subject("no-exp")
    message = await refused(api, hs256(claims(sub, ttl=None)))
    assert "exp" in message
    assert await User.filter(subject=sub).count() == 0


async def test_a_token_living_longer_than_jwt_max_ttl_is_refused(api: Api) -> None:
    assert api.settings.jwt_max_ttl_seconds == 24 * HOUR
    message = await refused(api, hs256(claims(subject("long"), ttl=25 * HOUR)))
    assert "86400" in message
    await refused(api, hs256(claims(subject("decade"), ttl=10 * 365 * 24 * HOUR)))
    await accepted(api, hs256(claims(subject("day"), ttl=24 * HOUR)))


async def test_jwt_max_ttl_is_configurable(base: Settings) -> None:
    async with second_api(replace(base, jwt_max_ttl_seconds=HOUR)) as api:
        await refused(api, hs256(claims(subject("2h"), ttl=2 * HOUR)))
        await accepted(api, hs256(claims(subject("50m"), ttl=50 * 60)))


async def test_nbf_and_iat_are_honoured_with_a_small_leeway(api: Api) -> None:
    now = int(time.time())
    later = now + LEEWAY_SECONDS + 90
    assert "not valid yet" in await refused(api, hs256(claims(subject("nbf"), nbf=later)))
    assert "not valid yet" in await refused(api, hs256(claims(subject("iat"), iat=later)))
    # A clock a few seconds ahead of ours is no reason to refuse.
    await accepted(api, hs256(claims(subject("skew"), nbf=now + 10, iat=now + 10)))
    # Expired a few seconds ago by our clock: still within the leeway.
    await accepted(api, hs256(claims(subject("just"), ttl=-10)))
    await refused(api, hs256(claims(subject("gone"), ttl=-(LEEWAY_SECONDS + 30))))


def cli_token(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "STRIPE_"))}
    return subprocess.run(
        [sys.executable, "-m", "seatbill.cli", "token", "--sub", subject("cli"), *args],
        env=environ | env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_seatbill_token_mints_tokens_the_server_accepts(api: Api) -> None:
    """Its default lifetime is JWT_MAX_TTL, and a longer --ttl is capped (said on stderr)."""
    for args in [(), ("--ttl", str(30 * 24 * HOUR))]:
        result = cli_token(*args)
        assert result.returncode == 0, result.stderr
        token = result.stdout.strip()
        payload = jwt.decode(token, options={"verify_signature": False})
        assert payload["exp"] - payload["iat"] == 24 * HOUR
        await accepted(api, token)
    assert "capped at JWT_MAX_TTL" in result.stderr

    short = cli_token("--ttl", "120", JWT_MAX_TTL="1h")
    payload = jwt.decode(short.stdout.strip(), options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 120 and short.stderr == ""


# JWKS ------------------------------------------------------------------------------------


@dataclass
class IdentityProvider:
    """A JWKS endpoint on a free loopback port whose key set and speed a test can change."""

    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    delay: float = 0.0
    hits: int = 0
    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def document(self) -> bytes:
        keys = [
            RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            | {"kid": kid, "use": "sig", "alg": "RS256"}
            for kid, key in self.keys.items()
        ]
        return json.dumps({"keys": keys}).encode()

    def token(self, payload: dict[str, Any], kid: str = "k1") -> str:
        signer = self.keys.get(kid) or next(iter(self.keys.values()))
        return jwt.encode(payload, signer, algorithm="RS256", headers={"kid": kid})


@contextmanager
def identity_provider(*kids: str) -> Iterator[IdentityProvider]:
    idp = IdentityProvider()
    for kid in kids:
        idp.add_key(kid)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            idp.hits += 1
            if idp.delay:
                idp.release.wait(idp.delay)
            body = idp.document()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    idp.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield idp
    finally:
        idp.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def jwks_settings(settings: Settings, idp: IdentityProvider, **changes: Any) -> Settings:
    return replace(
        settings, jwt_jwks_url=idp.url, jwt_audience=AUDIENCE, jwt_issuer=ISSUER, **changes
    )


def ours(sub: str, ttl: int | None = 600, **extra: Any) -> dict[str, Any]:
    return claims(sub, ttl, aud=AUDIENCE, iss=ISSUER, **extra)


async def test_jwks_tokens_need_exp_and_a_bounded_lifetime(base: Settings) -> None:
    with identity_provider("k1") as idp:
        async with second_api(jwks_settings(base, idp)) as api:
            await accepted(api, idp.token(ours(subject("rs-ok"))))
            assert "exp" in await refused(api, idp.token(ours(subject("rs-no-exp"), ttl=None)))
            await refused(api, idp.token(ours(subject("rs-long"), ttl=25 * HOUR)))
            await refused(api, idp.token(ours(subject("rs-iat"), iat=int(time.time()) + 600)))


async def test_jwks_token_for_a_foreign_audience_is_refused(base: Settings) -> None:
    """Same identity provider, same keys, minted for another API: refused."""
    with identity_provider("k1") as idp:
        async with second_api(jwks_settings(base, idp)) as api:
            sub = subject("foreign")
            other_api = claims(sub, aud="https://other-api.example", iss=ISSUER)
            await refused(api, idp.token(other_api))
            no_audience = claims(sub, iss=ISSUER)
            await refused(api, idp.token(no_audience))
            assert await User.filter(subject=sub).count() == 0
            await accepted(api, idp.token(ours(sub)))


def test_jwks_without_audience_or_issuer_cannot_be_built(base: Settings) -> None:
    url = "http://127.0.0.1:9/jwks.json"
    for missing in ({"jwt_audience": None}, {"jwt_issuer": None}):
        partial = replace(
            base,
            **({"jwt_jwks_url": url, "jwt_audience": AUDIENCE, "jwt_issuer": ISSUER} | missing),
        )
        with pytest.raises(ValueError, match="JWT_AUDIENCE and JWT_ISSUER"):
            TokenVerifier(partial)


async def test_a_slow_jwks_endpoint_stalls_neither_the_server_nor_logins(base: Settings) -> None:
    """The provider takes 20 s to answer: other requests are served meanwhile, and the logins
    waiting for keys fail as UNAUTHENTICATED after JWT_JWKS_TIMEOUT (1 s here), with one
    fetch for all of them."""
    with identity_provider("k1") as idp:
        idp.delay = 20.0
        async with second_api(jwks_settings(base, idp, jwt_jwks_timeout_seconds=1)) as api:
            started = time.monotonic()
            logins = [
                asyncio.create_task(api.post(ME, who=f"Bearer {idp.token(ours(subject('slow')))}"))
                for _ in range(3)
            ]
            for _ in range(150):  # the logins reach the provider (slower on a loaded machine)
                if idp.hits:
                    break
                await asyncio.sleep(0.02)
            assert idp.hits == 1
            # While the key set is on its way, what needs no login answers at once.
            for _ in range(3):
                before = time.monotonic()
                health = await api.http.get(f"{api.url}/healthz")
                plans = await api.data("{ plans { id } }")
                assert health.status_code == 200 and plans["plans"]
                assert time.monotonic() - before < 0.5
                assert not any(login.done() for login in logins)
            for response in await asyncio.gather(*logins):
                error = error_of(response)
                assert error is not None and error["extensions"]["code"] == "UNAUTHENTICATED"
            assert time.monotonic() - started < 5, "logins waited longer than the JWKS timeout"
            assert idp.hits == 1


async def test_unknown_kid_refetches_the_key_set_at_most_once_a_minute(base: Settings) -> None:
    with identity_provider("k1") as idp:
        async with second_api(jwks_settings(base, idp)) as api:
            await accepted(api, idp.token(ours(subject("kid"))))
            assert idp.hits == 1
            for n in range(5):
                await refused(api, idp.token(ours(subject("kid")), kid=f"made-up-{n}"))
            assert idp.hits == 1, "made-up kids made the server refetch the key set"


async def test_a_rotated_key_is_picked_up_within_a_minute() -> None:
    """With a clock the test moves: a new `kid` is fetched once the minute is over; a key set
    older than ten minutes is refreshed, so a withdrawn key stops working."""
    now = [1000.0]
    with identity_provider("k1") as idp:
        settings = replace(Settings(), jwt_jwks_url=idp.url, jwt_audience=AUDIENCE)
        verifier = TokenVerifier(replace(settings, jwt_issuer=ISSUER), clock=lambda: now[0])
        header = "Bearer " + idp.token(ours("rotating"), kid="k1")
        assert (await verifier.verify(header)).subject == "rotating"
        assert idp.hits == 1

        idp.add_key("k2")
        rotated = "Bearer " + idp.token(ours("rotating"), kid="k2")
        now[0] += 30
        with pytest.raises(AuthError):
            await verifier.verify(rotated)
        assert idp.hits == 1  # within the minute: no refetch
        now[0] += 31
        assert (await verifier.verify(rotated)).subject == "rotating"
        assert idp.hits == 2
        for _ in range(3):
            await verifier.verify(header)  # known kids need no fetch
        assert idp.hits == 2

        del idp.keys["k1"]
        now[0] += 601
        with pytest.raises(AuthError):
            await verifier.verify(header)
        assert idp.hits == 3


async def test_a_verified_token_is_reused_for_a_minute_at_most() -> None:
    """The signature check runs once per token and minute, and again sooner when the token
    expires sooner (its exp plus the leeway); another token is checked on its own."""
    now = [1000.0]
    verifier = TokenVerifier(Settings(), clock=lambda: now[0])
    checks: list[str] = []
    check = verifier._verify

    async def counted(token: str) -> Any:
        checks.append(token)
        return await check(token)

    verifier._verify = counted  # type: ignore[method-assign]
    long = issue_development_token(Settings(), "cached", ttl_seconds=600)
    for _ in range(3):
        assert (await verifier.verify(f"Bearer {long}")).subject == "cached"
    assert len(checks) == 1
    now[0] += 59
    await verifier.verify(f"Bearer {long}")
    assert len(checks) == 1
    now[0] += 2
    await verifier.verify(f"Bearer {long}")
    assert len(checks) == 2

    # Expired ten seconds ago, inside the leeway: reusable for the 20 seconds left of it.
    claims = {"sub": "short", "exp": int(time.time()) - 10}
    short = jwt.encode(claims, Settings().jwt_secret, algorithm="HS256")
    await verifier.verify(f"Bearer {short}")
    now[0] += 15
    await verifier.verify(f"Bearer {short}")
    assert checks.count(short) == 1
    now[0] += 10
    await verifier.verify(f"Bearer {short}")
    assert checks.count(short) == 2
    with pytest.raises(AuthError):
        await verifier.verify(f"Bearer {long[:-4]}AAAA")  # tampered: never from the cache
