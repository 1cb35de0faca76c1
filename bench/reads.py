"""Benchmark: the workspace read over GraphQL against a bare endpoint serving the same rows.

Run (PostgreSQL; `make bench-tools` first for autocannon):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.reads
    ... -m bench.reads --workers 2              # both servers with two worker processes
    ... -m bench.reads --scale                  # p99 at 10,000 workspaces / p99 at 10
    ... -m bench.reads --memory                 # RSS after 50,000 requests / after 1,000
    ... -m bench.reads --profile reads.txt      # and py-spy's profile of seatbill serve

It makes a fresh database beside DATABASE_URL's (dropped afterwards), seeds a workspace of
50 members with a subscription (and other workspaces beside it), then serves

- the real `seatbill serve` process (emulated billing, JWT_SECRET set), and
- bench/bare.py: Starlette + asyncpg, the same token check (HS256 JWT) and the same rows,

under the same uvicorn with the same worker count, and loads each with autocannon
(20 connections, 10 s, rounds interleaved so both see the same machine). Reported: req/s,
p50, p99 of each and the ratio seatbill / bare (the target is at least 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.load import Load, check_tools, run
from seatbill.auth import issue_development_token
from seatbill.config import Settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

QUERY = (
    "query($id: ID!) { workspace(id: $id) { id name members { role user { email name } } "
    "seats { billable purchased } subscription { status seats } } }"
)
JWT_SECRET = "bench-reads-secret-" + "x" * 24
VIEWER = "bench-viewer"


@dataclass
class Seeded:
    database_url: str
    workspace_id: str
    token: str
    workspaces: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(database_url: str, members: int, workspaces: int, *, first: bool = True) -> str:
    """``workspaces`` workspaces (two members and a subscription each); with ``first``, the
    first is the viewer's, with ``members`` members. Returns the viewer's workspace id."""
    from tortoise import Tortoise

    from seatbill.db import quiet_shutdown_line, tortoise_config
    from seatbill.models import Membership, Role, Subscription, User, Workspace

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        now = datetime.now(UTC)
        target = ""
        users: list[User] = []
        spaces: list[Workspace] = []
        memberships: list[Membership] = []
        subscriptions: list[Subscription] = []
        for n in range(workspaces):
            ws = Workspace(id=uuid.uuid4(), name=f"Workspace {n}")
            spaces.append(ws)
            size = members if first and n == 0 else 2
            for m in range(size):
                if first and n == 0 and m == 0:
                    user = User(id=uuid.uuid4(), subject=VIEWER, email="viewer@bench.example")
                    target = str(ws.id)
                else:
                    tag = uuid.uuid4().hex
                    user = User(id=uuid.uuid4(), subject=tag, email=f"{tag}@bench.example")
                    user.name = f"Member {m}"
                users.append(user)
                memberships.append(
                    Membership(
                        id=uuid.uuid4(),
                        workspace_id=ws.id,
                        user_id=user.id,
                        role=Role.OWNER if m == 0 else Role.MEMBER,
                    )
                )
            subscriptions.append(
                Subscription(
                    id=uuid.uuid4(),
                    stripe_id=f"sub_bench{uuid.uuid4().hex[:16]}",
                    workspace_id=ws.id,
                    stripe_customer_id=f"cus_bench{uuid.uuid4().hex[:16]}",
                    status="active",
                    plan_key="team",
                    interval="month",
                    seat_quantity=size,
                    current_period_start=now,
                    current_period_end=now + timedelta(days=30),
                    stripe_created=now,
                )
            )
        await User.bulk_create(users, batch_size=2000)
        await Workspace.bulk_create(spaces, batch_size=2000)
        await Membership.bulk_create(memberships, batch_size=2000)
        await Subscription.bulk_create(subscriptions, batch_size=2000)
        conn = Tortoise.get_connection("default")
        # VACUUM too: autovacuum would otherwise visit the fresh rows during the measurement
        await conn.execute_script("VACUUM ANALYZE")
        return target
    finally:
        with quiet_shutdown_line():
            await Tortoise.close_connections()


@contextmanager
def process(args: list[str], env: dict[str, str], url: str, log: Path) -> Iterator[int]:
    """A server process, ready once ``url`` answers; stopped (SIGTERM) afterwards."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited: see {log}\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(url, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args[0]} did not start: see {log}")
            time.sleep(0.2)
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def seatbill_server(
    database_url: str, workers: int, port: int, logs: Path
) -> AbstractContextManager[int]:
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "STRIPE_EMULATOR_PORT": str(free_port()),
        "WEB_CONCURRENCY": str(workers),
    }
    for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET"):
        env[name] = ""
    return process(
        [str(BIN / "seatbill"), "serve"],
        env,
        f"http://127.0.0.1:{port}/healthz",
        logs / "seatbill.log",
    )


def bare_server(
    database_url: str, workers: int, port: int, logs: Path
) -> AbstractContextManager[int]:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}
    args = [str(BIN / "uvicorn"), "--factory", "bench.bare:create_app", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    return process(args, env, f"http://127.0.0.1:{port}/graphql", logs / "bare.log")


def load(port: int, seeded: Seeded, connections: int, duration: float, **kw: int) -> Load:
    body = json.dumps({"query": QUERY, "variables": {"id": seeded.workspace_id}})
    return run(
        f"http://127.0.0.1:{port}/graphql",
        method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {seeded.token}"},
        body=body,
        connections=connections,
        duration=duration,
        forbid='"errors"',
        **kw,
    )


def check_same_answer(seatbill_port: int, bare_port: int, seeded: Seeded) -> None:
    body = {"query": QUERY, "variables": {"id": seeded.workspace_id}}
    headers = {"authorization": f"Bearer {seeded.token}"}
    ours = httpx.post(f"http://127.0.0.1:{seatbill_port}/graphql", json=body, headers=headers)
    bare = httpx.post(f"http://127.0.0.1:{bare_port}/graphql", json=body, headers=headers)
    if ours.json() != bare.json():
        raise SystemExit(f"the two servers disagree:\n{ours.text[:600]}\n{bare.text[:600]}")


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (the workers), in KiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def summary(name: str, loads: list[Load]) -> tuple[float, float, float]:
    rps = statistics.median(x.rps for x in loads)
    p50 = statistics.median(x.p50_ms for x in loads)
    p99 = statistics.median(x.p99_ms for x in loads)
    bad = sum(x.non_2xx + x.errors + x.timeouts + x.mismatches for x in loads)
    print(f"  {name:9} {rps:8.1f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  failures {bad}")
    return rps, p50, p99


def compare(args: argparse.Namespace, seeded: Seeded, logs: Path) -> None:
    ours_port, bare_port = free_port(), free_port()
    with (
        seatbill_server(seeded.database_url, args.workers, ours_port, logs) as ours_pid,
        bare_server(seeded.database_url, args.workers, bare_port, logs),
    ):
        check_same_answer(ours_port, bare_port, seeded)
        for port in (ours_port, bare_port):  # warm-up: connections, caches, JIT-free paths
            load(port, seeded, args.connections, 2)
        ours: list[Load] = []
        bare: list[Load] = []
        for _ in range(args.rounds):
            bare.append(load(bare_port, seeded, args.connections, args.duration))
            ours.append(load(ours_port, seeded, args.connections, args.duration))
        if args.profile is not None:
            profile(args, seeded, ours_port, ours_pid)
    print(
        f"workspace read, {args.members} members, {seeded.workspaces} workspaces, "
        f"{args.workers} worker(s), {args.connections} connections, {args.rounds} x "
        f"{args.duration:g} s (medians):"
    )
    ours_rps, _, _ = summary("seatbill", ours)
    bare_rps, _, _ = summary("bare", bare)
    print(f"  seatbill / bare = {ours_rps / bare_rps:.2f} (target >= 0.5)")


def profile(args: argparse.Namespace, seeded: Seeded, port: int, pid: int) -> None:
    """py-spy samples `seatbill serve` (its first worker with --workers) under the same load
    and writes collapsed stacks (flamegraph.pl's input) to args.profile."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    target = children[0] if args.workers > 1 and children else str(pid)
    seconds = max(5, int(args.duration))
    spy = subprocess.Popen(
        [
            str(BIN / "py-spy"),
            "record",
            "--pid",
            target,
            "--duration",
            str(seconds + 2),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(args.profile),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    load(port, seeded, args.connections, seconds)
    if spy.wait() != 0:
        print("  py-spy could not sample the server (ptrace not permitted?)")
        return
    print(f"  profile of seatbill serve under load: {args.profile} (collapsed stacks)")


async def scale(args: argparse.Namespace, database_url: str, logs: Path) -> None:
    """p99 of the read with 10 workspaces, then with 10,000 (same server, same workspace)."""
    target = await seed(database_url, args.members, 10)
    seeded = Seeded(database_url, target, token(), 10)
    port = free_port()
    p99: dict[int, float] = {}
    rps: dict[int, float] = {}
    with seatbill_server(database_url, args.workers, port, logs):
        for workspaces in (10, 10_000):
            if workspaces > 10:
                await seed(database_url, args.members, workspaces - 10, first=False)
            load(port, seeded, args.connections, 2)
            runs = [load(port, seeded, args.connections, args.duration) for _ in range(args.rounds)]
            p99[workspaces] = statistics.median(run.p99_ms for run in runs)
            rps[workspaces] = statistics.median(run.rps for run in runs)
    print(
        f"p99 at 10 workspaces {p99[10]:.1f} ms ({rps[10]:.1f} req/s), "
        f"at 10,000 {p99[10_000]:.1f} ms ({rps[10_000]:.1f} req/s)"
    )
    print(f"  p99(10,000) / p99(10) = {p99[10_000] / p99[10]:.2f} (target <= 1.2)")


def memory(args: argparse.Namespace, seeded: Seeded, logs: Path) -> None:
    port = free_port()
    with seatbill_server(seeded.database_url, args.workers, port, logs) as pid:
        load(port, seeded, args.connections, 0, amount=1_000)
        after_1k = rss_kib(pid)
        load(port, seeded, args.connections, 0, amount=49_000)
        after_50k = rss_kib(pid)
    print(
        f"RSS of seatbill serve ({args.workers} worker(s)): after 1,000 requests "
        f"{after_1k / 1024:.1f} MiB, after 50,000 {after_50k / 1024:.1f} MiB"
    )
    print(f"  RSS(50,000) / RSS(1,000) = {after_50k / after_1k:.3f} (target <= 1.2)")


def token() -> str:
    settings = Settings.from_env({"JWT_SECRET": JWT_SECRET})
    return issue_development_token(settings, VIEWER, "viewer@bench.example")


async def main(args: argparse.Namespace, url: str) -> None:
    from seatbill.db import migrate
    from tests.conftest import fresh_postgres_database

    # The servers and autocannon are other processes: blocking this loop while they run is fine.
    async with fresh_postgres_database(url, "bench") as database_url:
        await migrate(database_url)
        if args.scale:
            await scale(args, database_url, args.logs)
            return
        target = await seed(database_url, args.members, args.workspaces)
        seeded = Seeded(database_url, target, token(), args.workspaces)
        if args.memory:
            memory(args, seeded, args.logs)
        else:
            compare(args, seeded, args.logs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--workspaces", type=int, default=10)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--scale", action="store_true", help="p99 at 10,000 workspaces vs 10")
    mode.add_argument("--memory", action="store_true", help="RSS after 50,000 vs 1,000")
    parser.add_argument("--logs", type=Path, default=Path(".bench-logs"))
    parser.add_argument("--profile", type=Path, help="also sample seatbill serve with py-spy")
    arguments = parser.parse_args()
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench.reads measures on PostgreSQL: set DATABASE_URL=postgres://...")
    check_tools()
    arguments.logs.mkdir(exist_ok=True)
    asyncio.run(main(arguments, database))
