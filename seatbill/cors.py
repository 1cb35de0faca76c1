"""CORS for the origins in CORS_ORIGINS only: any other origin gets no CORS headers at all."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

# What browser GraphQL clients send (Apollo Client's operation-name and client headers too).
ALLOWED_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "apollo-require-preflight",
    "apollographql-client-name",
    "apollographql-client-version",
    "x-apollo-operation-name",
]


class ListedOriginsCORS(CORSMiddleware):
    """Starlette's CORSMiddleware adds Access-Control-Allow-Credentials (and, on a refused
    preflight, the allowed methods and headers) for any origin; here a request from an origin
    not listed passes straight through, as if CORS were off."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = Headers(scope=scope).get("origin")
            if origin is not None and not self.is_allowed_origin(origin):
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def cors_middleware(origins: tuple[str, ...]) -> list[Middleware]:
    if not origins:
        return []
    return [
        Middleware(
            ListedOriginsCORS,
            allow_origins=list(origins),
            allow_credentials=True,
            allow_methods=["GET", "POST"],
            allow_headers=ALLOWED_HEADERS,
            max_age=600,
        )
    ]
