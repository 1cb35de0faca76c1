"""Authentication through the real GraphQL endpoint: HS256 with JWT_SECRET, RS256 from a JWKS
URL, the user upsert from token claims, and the `seatbill token` development command."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from seatbill.auth import MAX_TOKEN_BYTES
from seatbill.config import DEV_JWT_SECRET, Settings
from seatbill.models import User
from tests.conftest import REPO, Api, serve

ME = "{ me { id email name } }"
OTHER_SECRET = "another-secret-that-is-long-enough"
AUDIENCE = "seatbill"
ISSUER = "https://issuer.test"
KID = "test-key"


def subject(label: str = "auth") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def claims(sub: str | None, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    payload: dict[str, Any] = {"iat": now, "exp": now + 600, **extra}
    if sub is not None:
        payload["sub"] = sub
    return payload


def hs256(payload: dict[str, Any], secret: str = DEV_JWT_SECRET, **headers: Any) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any]) -> str:
    """An `alg: none` token, as an attacker would hand-craft it."""
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."


async def user_count(sub: str) -> int:
    count: int = await User.filter(subject=sub).count()
    return count


def assert_unauthenticated(response: httpx.Response, *secrets: str) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED", body
    for secret in secrets:
        if secret:
            assert secret not in response.text
    message: str = error["message"]
    return message


def _bad_credentials() -> list[tuple[str, str | None, str | None]]:
    """(case id, Authorization header, subject the token would carry)."""
    other = subject("other-secret")
    alg_none = subject("alg-none")
    expired = subject("expired")
    now = int(time.time())
    big = subject("big")
    big_token = hs256(claims(big, name="x" * 10_240))
    assert len(big_token) > MAX_TOKEN_BYTES
    return [
        ("no header", None, None),
        ("empty header", "", None),
        ("basic scheme", "Basic " + base64.b64encode(b"user:password").decode(), None),
        ("bearer without token", "Bearer", None),
        ("garbage token", "Bearer not.a.jwt", None),
        ("random bytes token", "Bearer " + base64.urlsafe_b64encode(os.urandom(48)).decode(), None),
        ("other secret", "Bearer " + hs256(claims(other), OTHER_SECRET), other),
        ("alg none", "Bearer " + unsigned(claims(alg_none)), alg_none),
        ("alg none via pyjwt", "Bearer " + jwt.encode(claims(alg_none), None, "none"), alg_none),
        ("no sub", "Bearer " + hs256(claims(None, email="nosub@example.com")), None),
        ("empty sub", "Bearer " + hs256(claims("")), ""),
        ("blank sub", "Bearer " + hs256(claims("   ")), "   "),
        ("non-string sub", "Bearer " + hs256(claims(None) | {"sub": 12345}), "12345"),
        ("expired", "Bearer " + hs256(claims(expired, iat=now - 7200, exp=now - 3600)), expired),
        ("10 KB token", "Bearer " + big_token, big),
        ("10 KB garbage", "Bearer " + "a" * 10_240, None),
    ]


BAD_CREDENTIALS = _bad_credentials()


@pytest.mark.parametrize(
    ("authorization", "sub"),
    [(header, sub) for _, header, sub in BAD_CREDENTIALS],
    ids=[case for case, _, _ in BAD_CREDENTIALS],
)
async def test_bad_credentials_are_unauthenticated_and_create_no_user(
    api: Api, authorization: str | None, sub: str | None
) -> None:
    response = await api.post(ME, who=authorization)
    token = (authorization or "").partition(" ")[2].strip()
    message = assert_unauthenticated(response, token, DEV_JWT_SECRET, OTHER_SECRET)
    assert message
    if sub is not None:
        assert await user_count(sub) == 0


async def test_expired_token_says_so(api: Api) -> None:
    now = int(time.time())
    token = hs256(claims(subject("expired"), exp=now - 60, iat=now - 120))
    message = assert_unauthenticated(await api.post(ME, who=f"Bearer {token}"), token)
    assert "expired" in message.lower()


async def test_token_not_yet_valid_is_refused(api: Api) -> None:
    sub = subject("nbf")
    token = hs256(claims(sub, nbf=int(time.time()) + 3600))
    assert_unauthenticated(await api.post(ME, who=f"Bearer {token}"), token)
    assert await user_count(sub) == 0


async def test_valid_token_creates_then_updates_the_user(api: Api) -> None:
    sub = subject("upsert")
    first = hs256(claims(sub, email="  First@Example.COM ", name=" First Name "))
    me = (await api.data(ME, who=f"bearer {first}"))["me"]  # the scheme is case-insensitive
    assert me["email"] == "first@example.com"
    assert me["name"] == "First Name"
    assert await user_count(sub) == 1

    second = hs256(claims(sub, email="second@example.com", name="Second"))
    again = (await api.data(ME, who=f"Bearer {second}"))["me"]
    assert again == {"id": me["id"], "email": "second@example.com", "name": "Second"}
    stored = await User.get(subject=sub)
    assert (str(stored.id), stored.email, stored.name) == (me["id"], "second@example.com", "Second")
    assert await user_count(sub) == 1

    # Claims that disappear are cleared, not kept stale.
    bare = (await api.data(ME, who=f"Bearer {hs256(claims(sub))}"))["me"]
    assert bare == {"id": me["id"], "email": None, "name": None}


async def test_fixture_person_token_works(api: Api) -> None:
    person = api.person("ann")
    me = (await api.data(ME, who=person))["me"]
    assert (me["email"], me["name"]) == (person.email, person.name)


async def test_plans_are_public(api: Api) -> None:
    plans = (await api.data("{ plans { id } }"))["plans"]
    assert plans and all(plan["id"] for plan in plans)
    # A bad token does not break a public field that never asks who the viewer is.
    assert (await api.data("{ plans { id } }", who="Bearer garbage"))["plans"] == plans


# RS256 via JWKS ---------------------------------------------------------------------------


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@contextmanager
def jwks_server(document: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """Serves `document` as JSON on a free loopback port; yields its URL and the paths hit."""
    hits: list[str] = []
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def test_rs256_tokens_verified_with_keys_from_jwks(api: Api, settings: Settings) -> None:
    key, stranger = rsa_key(), rsa_key()
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {
        "kid": KID,
        "use": "sig",
        "alg": "RS256",
    }

    def rs256(
        payload: dict[str, Any], signer: rsa.RSAPrivateKey = key, kid: str | None = KID
    ) -> str:
        return jwt.encode(payload, signer, algorithm="RS256", headers={"kid": kid} if kid else None)

    sub = subject("rs256")
    good = {"aud": AUDIENCE, "iss": ISSUER}
    with jwks_server({"keys": [jwk]}) as (jwks_url, hits):
        rs_settings = replace(
            settings, jwt_jwks_url=jwks_url, jwt_audience=AUDIENCE, jwt_issuer=ISSUER
        )
        async with (
            serve(rs_settings, manage_orm=False) as url,
            httpx.AsyncClient(timeout=30) as http,
        ):
            rs_api = Api(url, rs_settings, http)

            token = rs256(claims(sub, email="rs@example.com", name="Rs", **good))
            me = (await rs_api.data(ME, who=f"Bearer {token}"))["me"]
            assert (me["email"], me["name"]) == ("rs@example.com", "Rs")
            assert hits, "the key set was fetched from JWT_JWKS_URL"

            rejected = {
                "wrong audience": rs256(claims(sub, aud="someone-else", iss=ISSUER)),
                "no audience": rs256(claims(sub, iss=ISSUER)),
                "wrong issuer": rs256(claims(sub, aud=AUDIENCE, iss="https://evil.test")),
                "no issuer": rs256(claims(sub, aud=AUDIENCE)),
                "expired": rs256(claims(sub, exp=int(time.time()) - 60, **good)),
                "other rsa key, same kid": rs256(claims(sub, **good), signer=stranger),
                "unknown kid": rs256(claims(sub, **good), kid="not-ours"),
                "no kid": rs256(claims(sub, **good), kid=None),
                # Algorithm confusion: HS256 with the default secret, or keyed with the
                # public key's own bytes, must not pass where RS256 is configured.
                "hs256 default secret": hs256(claims(sub, **good), kid=KID),
                "hs256 default secret, no kid": hs256(claims(sub, **good)),
                "hs256 keyed with jwk n": hs256(claims(sub, **good), jwk["n"] * 2, kid=KID),
                "alg none": unsigned(claims(sub, **good)),
            }
            for case, bad in rejected.items():
                response = await rs_api.post(ME, who=f"Bearer {bad}")
                try:
                    assert_unauthenticated(response, bad)
                except AssertionError as exc:
                    raise AssertionError(f"{case}: {response.text}") from exc

            # None of the refused tokens touched the user the good token created.
            stored = await User.get(subject=sub)
            assert (stored.email, stored.name) == ("rs@example.com", "Rs")


async def test_session_server_still_works_after_second_instance(api: Api) -> None:
    person = api.person("after-jwks")
    assert (await api.data(ME, who=person))["me"]["email"] == person.email


async def test_jwks_url_unreachable_is_unauthenticated(api: Api, settings: Settings) -> None:
    """A dead key endpoint is a refused token, not an internal error."""
    with jwks_server({"keys": []}) as (jwks_url, _):
        pass  # started and stopped: nothing listens on that port any more
    dead = replace(settings, jwt_jwks_url=jwks_url, jwt_audience=AUDIENCE, jwt_issuer=ISSUER)
    async with serve(dead, manage_orm=False) as url, httpx.AsyncClient(timeout=30) as http:
        token = jwt.encode(
            claims(subject("dead"), aud=AUDIENCE, iss=ISSUER),
            rsa_key(),
            algorithm="RS256",
            headers={"kid": KID},
        )
        response = await Api(url, dead, http).post(ME, who=f"Bearer {token}")
        assert_unauthenticated(response, token)


# The `seatbill token` command ------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_token() -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    result = subprocess.run(
        [sys.executable, "-m", "seatbill.cli", "token", "--sub", "cli-user",
         "--email", "cli@example.com", "--name", "Cli"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


async def test_cli_token_works_against_the_server(api: Api, cli_token: str) -> None:
    header = jwt.get_unverified_header(cli_token)
    assert header["alg"] == "HS256"
    me = (await api.data(ME, who="Bearer " + cli_token))["me"]
    assert (me["email"], me["name"]) == ("cli@example.com", "Cli")
    assert await user_count("cli-user") == 1
