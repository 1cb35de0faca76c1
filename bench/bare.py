"""The baseline for bench.reads: the workspace read of its query, served by a bare Starlette
endpoint over asyncpg, with the same token check (an HS256 JWT with exp and sub, verified by
PyJWT against JWT_SECRET) and the same rows (the viewer by subject, the workspace through the
viewer's membership, its members with their users, the billable count, the subscriptions).
No GraphQL, no ORM: what the read costs with nothing but the essentials.

Served by uvicorn as the factory ``bench.bare:create_app`` (DATABASE_URL, JWT_SECRET in the
environment); the bench starts it with the same worker count as `seatbill serve`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ENDED = ("canceled", "incomplete_expired")
# Tortoise's asyncpg pool default: the same number of connections per process as the API.
POOL_SIZE = 5

USER = 'SELECT id FROM "user" WHERE subject = $1'
WORKSPACE = (
    "SELECT w.id, w.name FROM membership m JOIN workspace w ON w.id = m.workspace_id "
    "WHERE m.user_id = $1 AND m.workspace_id = $2 AND w.deleted_at IS NULL"
)
MEMBERS = (
    'SELECT m.role, u.email, u.name FROM membership m JOIN "user" u ON u.id = m.user_id '
    "WHERE m.workspace_id = $1 ORDER BY m.joined_at, m.id"
)
BILLABLE = "SELECT count(*) FROM membership WHERE workspace_id = $1"
SUBSCRIPTIONS = (
    "SELECT status, seat_quantity FROM subscription WHERE workspace_id = $1 "
    "ORDER BY stripe_created DESC, stripe_id DESC"
)


def create_app() -> Starlette:
    secret = os.environ["JWT_SECRET"]
    dsn = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=POOL_SIZE)
        try:
            yield
        finally:
            await pool.close()

    def refuse(message: str) -> Response:
        return Response(json.dumps({"errors": [{"message": message}]}), 200)

    async def workspace(request: Request) -> Response:
        assert pool is not None
        body = json.loads(await request.body())
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return refuse("Authentication required")
        try:
            claims = jwt.decode(
                token.strip(), secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError:
            return refuse("Token is invalid")
        workspace_id = uuid.UUID(body["variables"]["id"])
        async with pool.acquire() as conn:
            viewer = await conn.fetchval(USER, claims["sub"])
            found = await conn.fetchrow(WORKSPACE, viewer, workspace_id)
            if found is None:
                return Response('{"data":{"workspace":null}}', media_type="application/json")
            members = await conn.fetch(MEMBERS, workspace_id)
            billable = await conn.fetchval(BILLABLE, workspace_id)
            subscriptions = await conn.fetch(SUBSCRIPTIONS, workspace_id)
        current = next((s for s in subscriptions if s["status"] not in ENDED), None)
        current = current or (subscriptions[0] if subscriptions else None)
        live = current is not None and current["status"] not in ENDED
        data = {
            "workspace": {
                "id": str(found["id"]),
                "name": found["name"],
                "members": [
                    {"role": m["role"].upper(), "user": {"email": m["email"], "name": m["name"]}}
                    for m in members
                ],
                "seats": {
                    "billable": billable,
                    "purchased": current["seat_quantity"] if live and current else None,
                },
                "subscription": None
                if current is None
                else {"status": current["status"].upper(), "seats": current["seat_quantity"]},
            }
        }
        return Response(
            json.dumps({"data": data}, separators=(",", ":")), media_type="application/json"
        )

    return Starlette(routes=[Route("/graphql", workspace, methods=["POST"])], lifespan=lifespan)
