"""Benchmark: the member list over GraphQL, as a ratio against a baseline query.

Run: .venv/bin/python -m bench.members [--rounds 200]
(uses a temporary SQLite database; set DATABASE_URL for PostgreSQL).

It serves the app in-process on a free loopback port and times, over real HTTP,
`{ me { id } }` (the baseline: auth + one request) and
`workspace { members { user { email } } }` for workspaces of 1 and 200 members.
Only ratios to the baseline are reported, so the figures compare across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import replace

import httpx

from seatbill.auth import issue_development_token
from seatbill.config import Settings
from seatbill.db import migrate
from seatbill.models import Membership, Role, User
from tests.conftest import serve

MEMBERS = "query($id: ID!) { workspace(id: $id) { members { user { email } } } }"


async def timed(
    http: httpx.AsyncClient,
    url: str,
    token: str,
    query: str,
    variables: dict[str, str],
    rounds: int,
) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = await http.post(
            url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
    return statistics.median(samples)


async def create_workspace(http: httpx.AsyncClient, url: str, token: str, members: int) -> str:
    response = await http.post(
        url,
        json={"query": 'mutation { createWorkspace(input: {name: "B"}) { workspace { id } } }'},
        headers={"Authorization": f"Bearer {token}"},
    )
    ws_id: str = response.json()["data"]["createWorkspace"]["workspace"]["id"]
    users = [
        User(id=uuid.uuid4(), subject=uuid.uuid4().hex, email=f"{uuid.uuid4().hex}@b.co")
        for _ in range(members - 1)
    ]
    await User.bulk_create(users)
    await Membership.bulk_create(
        [
            Membership(id=uuid.uuid4(), workspace_id=ws_id, user_id=u.id, role=Role.MEMBER)
            for u in users
        ]
    )
    return ws_id


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite://{tmp}/bench.sqlite3"
        settings = replace(Settings.from_env({"DATABASE_URL": url}))
        await migrate(settings.database_url)
        token = issue_development_token(settings, f"bench-{uuid.uuid4().hex}", "b@b.co")
        async with serve(settings) as base, httpx.AsyncClient(timeout=30) as http:
            endpoint = f"{base}/graphql"
            one = await create_workspace(http, endpoint, token, 1)
            many = await create_workspace(http, endpoint, token, 200)
            baseline = await timed(http, endpoint, token, "{ me { id } }", {}, rounds)
            t_one = await timed(http, endpoint, token, MEMBERS, {"id": one}, rounds)
            t_many = await timed(http, endpoint, token, MEMBERS, {"id": many}, rounds)
    print(f"rounds={rounds} (median per request)")
    print(f"members(1)   / baseline = {t_one / baseline:.2f}")
    print(f"members(200) / baseline = {t_many / baseline:.2f}")
    print(f"members(200) / members(1) = {t_many / t_one:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    asyncio.run(main(parser.parse_args().rounds))
