"""Bearer-token verification: HS256 with JWT_SECRET, or RS256 keys from JWT_JWKS_URL."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import jwt

from seatbill.config import Settings

MAX_TOKEN_BYTES = 8192


class AuthError(Exception):
    """The request carries no usable credentials. The message is safe to show."""


@dataclass(frozen=True)
class Claims:
    subject: str
    email: str | None
    name: str | None


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None

    async def verify(self, authorization: str | None) -> Claims:
        if not authorization:
            raise AuthError("Authentication required: send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("Authorization header must be 'Bearer <token>'")
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthError("Token is too large")
        try:
            if self._jwks is not None:
                jwks = self._jwks
                # PyJWKClient fetches with blocking I/O (and caches the key set).
                signing_key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)
                key: Any = signing_key.key
                algorithms = ["RS256"]
            else:
                key = self._settings.jwt_secret
                algorithms = ["HS256"]
            payload = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={
                    "require": ["sub"],
                    "verify_aud": self._settings.jwt_audience is not None,
                },
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("Token has expired") from None
        except (jwt.PyJWTError, ValueError):
            raise AuthError("Token is invalid") from None
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
            raise AuthError("Token is invalid")
        email = payload.get("email")
        name = payload.get("name")
        return Claims(
            subject=subject,
            email=email.strip().lower()[:320] if isinstance(email, str) and email.strip() else None,
            name=name.strip()[:200] if isinstance(name, str) and name.strip() else None,
        )


def issue_development_token(
    settings: Settings,
    subject: str,
    email: str | None = None,
    name: str | None = None,
    ttl_seconds: int = 7 * 24 * 3600,
) -> str:
    """An HS256 token signed with JWT_SECRET, for development and tests."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + ttl_seconds}
    if email:
        claims["email"] = email
    if name:
        claims["name"] = name
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
