"""Bearer-token verification: HS256 with JWT_SECRET, or RS256 keys from JWT_JWKS_URL.

Every token carries `sub` and `exp`; `exp` may lie at most JWT_MAX_TTL ahead; `nbf` and `iat`
are honoured. Clocks may disagree by LEEWAY_SECONDS."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from seatbill.config import Settings
from seatbill.services.validation import ascii_lower
from seatbill.ttl_cache import ExpiringCache

log = logging.getLogger("seatbill.auth")

MAX_TOKEN_BYTES = 8192
LEEWAY_SECONDS = 30
# The key set: refetched for an unknown `kid` at most once a minute, and refreshed after ten
# minutes even when every `kid` is known (so a withdrawn key stops working).
JWKS_MIN_REFETCH_SECONDS = 60.0
JWKS_MAX_AGE_SECONDS = 600.0
MAX_JWKS_BYTES = 512 * 1024
# Verified tokens are remembered (by their whole text, signature included) so that a client's
# next request with the same token skips the signature check: at most this long, never past the
# token's own exp (plus the leeway), for this many tokens (least recently used out first).
VERIFIED_TOKEN_SECONDS = 60.0
VERIFIED_TOKENS_MAX = 10_000


class AuthError(Exception):
    """The request carries no usable credentials. The message is safe to show."""


@dataclass(frozen=True)
class Claims:
    subject: str
    email: str | None
    name: str | None
    # The identity provider's `email_verified`; None when the token does not say.
    email_verified: bool | None = None


def _flag(value: object) -> bool | None:
    """A boolean claim; some providers send it as the string "true" or "false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


class JwksCache:
    """The identity provider's signing keys by `kid`, fetched without blocking the event loop.

    One fetch runs at a time and concurrent logins wait for it (at most ``timeout`` seconds);
    a failed fetch keeps the keys already known. Fetches start at most once per
    JWKS_MIN_REFETCH_SECONDS, so tokens with made-up `kid`s cannot hammer the provider."""

    def __init__(
        self, url: str, timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._pending: asyncio.Task[None] | None = None
        self.fetches = 0

    def _wants_fetch(self, kid: str) -> bool:
        now = self._clock()
        if self._attempted_at is not None and now - self._attempted_at < JWKS_MIN_REFETCH_SECONDS:
            return False
        stale = self._loaded_at is None or now - self._loaded_at >= JWKS_MAX_AGE_SECONDS
        return stale or kid not in self._keys

    async def signing_key(self, kid: str) -> jwt.PyJWK | None:
        if self._pending is None and self._wants_fetch(kid):
            self._attempted_at = self._clock()
            self._pending = asyncio.create_task(self._fetch(), name="jwks-fetch")
        if self._pending is not None:
            # Shielded: a caller that goes away does not cancel the fetch the others wait for.
            await asyncio.shield(self._pending)
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        self.fetches += 1
        try:
            async with asyncio.timeout(self._timeout):
                document = await self._download()
            keys = {
                key.key_id: key
                for key in jwt.PyJWKSet.from_dict(document).keys
                if key.key_id and key.public_key_use in (None, "sig")
            }
        except TimeoutError:
            log.warning("JWKS fetch from %s: no answer within %ss", self._url, self._timeout)
        except Exception as exc:  # a bad key set is refused tokens, never a failed request
            log.warning("JWKS fetch from %s failed: %s", self._url, type(exc).__name__)
        else:
            self._keys = keys
            self._loaded_at = self._clock()
        finally:
            self._pending = None

    async def _download(self) -> dict[str, Any]:
        async with (
            httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client,
            client.stream("GET", self._url, headers={"Accept": "application/json"}) as response,
        ):
            response.raise_for_status()
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("JWKS document too large")
        document = json.loads(bytes(body))
        if not isinstance(document, dict):
            raise ValueError("JWKS document is not an object")
        return document


class TokenVerifier:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._jwks: JwksCache | None = None
        self._wall_clock = wall_clock
        # token -> its claims, until (by ``clock``, as the key set's age) they may be reused:
        # VERIFIED_TOKEN_SECONDS, or less when the token expires sooner.
        self._verified: ExpiringCache[str, Claims] = ExpiringCache(VERIFIED_TOKENS_MAX, clock)
        if settings.jwt_jwks_url:
            if not settings.jwt_audience or not settings.jwt_issuer:
                # Settings.from_env refuses this too: a key set alone accepts tokens the same
                # identity provider minted for other APIs.
                raise ValueError("JWT_JWKS_URL needs JWT_AUDIENCE and JWT_ISSUER")
            self._jwks = JwksCache(
                settings.jwt_jwks_url, settings.jwt_jwks_timeout_seconds, clock=clock
            )

    @property
    def jwks(self) -> JwksCache | None:
        return self._jwks

    async def verify(self, authorization: str | None) -> Claims:
        if not authorization:
            raise AuthError("Authentication required: send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("Authorization header must be 'Bearer <token>'")
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthError("Token is too large")
        known = self._verified.get(token)
        if known is not None:
            return known
        claims, expires = await self._verify(token)  # again once expired: it may be by now
        lifetime = min(VERIFIED_TOKEN_SECONDS, expires + LEEWAY_SECONDS - self._wall_clock())
        self._verified.put(token, claims, self._verified.clock() + lifetime)
        return claims

    async def _verify(self, token: str) -> tuple[Claims, float]:
        """The token's claims and its exp, or AuthError."""
        try:
            key: Any
            if self._jwks is not None:
                algorithms = ["RS256"]
                header = jwt.get_unverified_header(token)
                kid = header.get("kid")
                if header.get("alg") not in algorithms or not isinstance(kid, str) or not kid:
                    raise AuthError("Token is invalid")
                found = await self._jwks.signing_key(kid[:200])
                if found is None:
                    raise AuthError("Token is invalid")
                key = found.key
            else:
                key = self._settings.jwt_secret
                algorithms = ["HS256"]
            payload = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self._settings.jwt_audience is not None,
                },
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("Token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("Token is not valid yet (nbf or iat lies in the future)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"Token has no {exc.claim!r} claim") from None
        except (jwt.PyJWTError, ValueError):
            raise AuthError("Token is invalid") from None
        expires = payload.get("exp")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise AuthError("Token is invalid")
        max_ttl = self._settings.jwt_max_ttl_seconds
        if expires - time.time() > max_ttl + LEEWAY_SECONDS:
            raise AuthError(f"Token lives too long: exp may lie at most {max_ttl} seconds ahead")
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
            raise AuthError("Token is invalid")
        email = payload.get("email")
        name = payload.get("name")
        claims = Claims(
            subject=subject,
            email=ascii_lower(email.strip())[:320]
            if isinstance(email, str) and email.strip()
            else None,
            name=name.strip()[:200] if isinstance(name, str) and name.strip() else None,
            email_verified=_flag(payload.get("email_verified")),
        )
        return claims, float(expires)


def issue_development_token(
    settings: Settings,
    subject: str,
    email: str | None = None,
    name: str | None = None,
    ttl_seconds: int | None = None,
) -> str:
    """An HS256 token signed with JWT_SECRET, for development and tests. It lives
    ``ttl_seconds`` (default and at most JWT_MAX_TTL)."""
    now = int(time.time())
    ttl = settings.jwt_max_ttl_seconds
    if ttl_seconds is not None:
        ttl = max(1, min(ttl_seconds, ttl))
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + ttl}
    if email:
        claims["email"] = email
    if name:
        claims["name"] = name
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
