"""CPU per request of the workspace read with no HTTP and no load generator: the ASGI app
called directly, ``--concurrency`` requests at a time, against fresh PostgreSQL rows (the
same seed and query as bench.reads). For comparing changes and for profiling (run it under
py-spy); bench.reads remains the measure of record.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.inprocess [--app seatbill|bare] [--query '{ __typename }']

Prints the CPU time per request (this process only: PostgreSQL is another) of each round,
the lowest and the median; the machine's speed changes from minute to minute, so compare
runs made one after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bench.reads import JWT_SECRET, QUERY, seed, token

Message = MutableMapping[str, Any]
App = Callable[..., Awaitable[None]]


async def call(app: App, body: bytes, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    out: list[Message] = []

    async def send(message: Message) -> None:
        out.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return out


async def main(args: argparse.Namespace, url: str) -> None:
    from seatbill.db import migrate
    from tests.conftest import fresh_postgres_database

    async with fresh_postgres_database(url, "inprocess") as database_url:
        await migrate(database_url)
        workspace_id = await seed(database_url, args.members, 10)
        os.environ["DATABASE_URL"] = database_url
        os.environ["JWT_SECRET"] = JWT_SECRET
        app: App
        if args.app == "bare":
            from bench.bare import create_app as bare_app

            app = bare_app()
        else:
            from seatbill.app import create_app
            from seatbill.config import Settings

            app = create_app(
                Settings.from_env({"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET})
            )
        startup: asyncio.Queue[Message] = asyncio.Queue()
        replies: asyncio.Queue[Message] = asyncio.Queue()
        await startup.put({"type": "lifespan.startup"})
        lifespan = asyncio.ensure_future(
            app(
                {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                startup.get,
                replies.put,
            )
        )
        assert (await replies.get())["type"] == "lifespan.startup.complete"
        gc.collect()
        gc.freeze()  # as `seatbill serve` does once started
        body = json.dumps({"query": args.query, "variables": {"id": workspace_id}}).encode()
        headers = [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token()}".encode()),
        ]
        answer = json.loads((await call(app, body, headers))[-1]["body"])
        if answer.get("errors"):
            raise SystemExit(f"the read failed: {answer['errors']}")

        async def client(requests: int) -> None:
            for _ in range(requests):
                await call(app, body, headers)

        each = max(1, args.requests // args.concurrency)
        await asyncio.gather(*(client(each) for _ in range(args.concurrency)))  # warm-up
        rounds: list[float] = []
        for _ in range(args.rounds):
            started = time.process_time()
            await asyncio.gather(*(client(each) for _ in range(args.concurrency)))
            rounds.append(1000 * (time.process_time() - started) / (each * args.concurrency))
        print(
            f"{args.app}: CPU per request (ms) " + " ".join(f"{r:.3f}" for r in rounds),
            f"\n  lowest {min(rounds):.3f}, median {statistics.median(rounds):.3f}",
        )
        await startup.put({"type": "lifespan.shutdown"})
        await replies.get()
        await lifespan


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--app", choices=("seatbill", "bare"), default="seatbill")
    parser.add_argument("--query", default=QUERY)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000, help="per round")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("bench.inprocess runs on PostgreSQL: set DATABASE_URL=postgres://...")
    uvloop.run(main(parser.parse_args(), url))
