"""Benchmark: webhook ingestion and the inbox drain on PostgreSQL, against a bare endpoint.

Run: make bench-tools && DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
     .venv/bin/python -m bench.webhooks [--events 10000] [--subscriptions 1000] [--profile DIR]

It creates a database of its own beside DATABASE_URL's (dropped afterwards), migrates it and
seeds --subscriptions workspaces, each with a mirrored `team` subscription (rows written
directly). The load is --events unique `customer.subscription.updated` events about those
subscriptions (ten rounds of one event per subscription, each round a second newer), each
body signed as Stripe signs it just before it is sent, from autocannon (node: a Python client
cannot load a 2-core server) with 20 connections. The first tenth warms the servers up and is
not timed; the rest goes to bare and to Seatbill in three parts, taking turns, so that other
load on the machine weighs on both alike.

- bare: a Starlette + asyncpg endpoint built here, served by uvicorn like `seatbill serve`,
  that verifies the signature (stripe.WebhookSignature.verify_header) and INSERTs the event id
  (ON CONFLICT DO NOTHING): the least a durable webhook endpoint does.
- seatbill: `seatbill serve` (a real uvicorn process) with WEBHOOK_PROCESSOR=external, so the
  events stay in the inbox: its ingestion rate, against bare's (target >= 0.8, no non-2xx).
- drain: then one `seatbill worker` applies that backlog; its rate (events whose outcome is
  recorded, per second, from the first to the last) against bare's ingestion rate (target
  >= 0.5). Every event must end PROCESSED or SUPERSEDED, and every subscription must hold the
  newest round's seat quantity.
- in-process: the same load against `seatbill serve` with the processor in the API process
  (the default): ingestion while applying, and when the last event is applied.

--profile DIR records py-spy profiles (collapsed stacks, for flamegraph.pl or speedscope) of
the server during ingestion and of the worker during the drain; profiling slows them, so its
figures are not the ones to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench import load
from stripe_emulator import EmulatorServer
from tests.conftest import free_socket, fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "stripe" / "fixtures3.json"
SECRET = "whsec_bench_webhooks"
JWT_SECRET = "bench-webhooks-secret-not-the-development-one"
SEAT_LOOKUP_KEY = "seatbill_team_seat_month"
ROUNDS = 10
CONNECTIONS = 20
DONE = ("PROCESSED", "IGNORED", "UNLINKED", "SUPERSEDED")


# The bare endpoint ------------------------------------------------------------------------


def bare_app() -> Starlette:
    """Verify the signature, INSERT the event id, answer 200 (uvicorn --factory)."""
    database_url = os.environ["BENCH_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    secret = os.environ["BENCH_WEBHOOK_SECRET"]
    pool: dict[str, asyncpg.Pool] = {}

    async def webhook(request: Request) -> Response:
        payload = await request.body()
        try:
            stripe.WebhookSignature.verify_header(
                payload, request.headers.get("stripe-signature", ""), secret, 300
            )
        except (stripe.SignatureVerificationError, ValueError):
            return JSONResponse({"error": "invalid signature"}, status_code=400)
        event = json.loads(payload)
        await pool["db"].execute(
            "INSERT INTO bare_webhook_event (id) VALUES ($1) ON CONFLICT DO NOTHING", event["id"]
        )
        return JSONResponse({"received": True})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The size of Tortoise's default pool (what Seatbill gets).
        pool["db"] = await asyncpg.create_pool(database_url, min_size=1, max_size=5)
        yield
        await pool["db"].close()

    return Starlette(
        routes=[Route("/webhooks/stripe", webhook, methods=["POST"])], lifespan=lifespan
    )


# Events -------------------------------------------------------------------------------------


def _fixture(kind: str) -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
    return copy.deepcopy(resources[kind])


def seats_in_round(subscription: int, round_: int) -> int:
    return 1 + (subscription + round_) % 10


class Events:
    """customer.subscription.updated events about the seeded subscriptions, in rounds."""

    def __init__(self, subscriptions: int, base_time: int) -> None:
        self.subscriptions = subscriptions
        self.base_time = base_time
        self.template = _fixture("event")
        self.subscription = _fixture("subscription")

    def body(self, n: int, round_: int) -> str:
        sub_id, item_id = f"sub_bench_{n}", f"si_bench_{n}"
        sub = copy.deepcopy(self.subscription)
        created = self.base_time + round_
        start = self.base_time - 86400
        sub.update(
            id=sub_id,
            customer=f"cus_bench_{n}",
            status="active",
            metadata={},
            created=start,
            start_date=start,
            billing_cycle_anchor=start,
            cancel_at=None,
            cancel_at_period_end=False,
            canceled_at=None,
            ended_at=None,
            trial_end=None,
            latest_invoice=None,
            schedule=None,
            test_clock=None,
        )
        item = sub["items"]["data"][0]
        item.update(
            id=item_id,
            subscription=sub_id,
            quantity=seats_in_round(n, round_),
            current_period_start=start,
            current_period_end=start + 30 * 86400,
        )
        item["price"].update(id="price_bench_team_seat", lookup_key=SEAT_LOOKUP_KEY)
        sub["items"]["data"] = [item]
        event = dict(self.template)
        event.update(
            id=f"evt_bench_{uuid.uuid4().hex}",
            type="customer.subscription.updated",
            created=created,
            data={"object": sub, "previous_attributes": {"items": {}}},
            api_version=stripe.api_version,
        )
        return json.dumps(event, separators=(",", ":"))

    def bodies(self, rounds: range) -> list[str]:
        return [self.body(n, r) for r in rounds for n in range(self.subscriptions)]


def signatures(bodies: list[str]) -> list[dict[str, str]]:
    """Each body's Stripe-Signature header, signed now."""
    t = int(time.time())
    key = SECRET.encode()
    return [
        {
            "stripe-signature": f"t={t},v1="
            + hmac.new(key, f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
        }
        for body in bodies
    ]


# Load ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingestion:
    """Autocannon runs against one server, added up."""

    requests: int
    seconds: float
    non_2xx: int
    errors: int
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, loads: list[load.Load]) -> Ingestion:
        return cls(
            requests=sum(one.requests for one in loads),
            seconds=sum(one.duration_s for one in loads),
            non_2xx=sum(one.non_2xx for one in loads),
            errors=sum(one.errors + one.timeouts for one in loads),
            p50_ms=max(one.p50_ms for one in loads),
            p99_ms=max(one.p99_ms for one in loads),
        )

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.rate:8.1f} events/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:6.1f} ms  "
            f"({self.requests} events, non-2xx {self.non_2xx}, errors {self.errors})"
        )


def send(url: str, bodies: list[str]) -> load.Load:
    """Each body once, freshly signed, over CONNECTIONS connections."""
    return load.run(
        url,
        method="POST",
        headers={"content-type": "application/json"},
        bodies=bodies,
        body_headers=signatures(bodies),
        connections=CONNECTIONS,
        amount=len(bodies),
        timeout=30,
    )


def ingest(url: str, bodies: list[str]) -> Ingestion:
    """A tenth of the bodies to warm the server up, then the rest, timed."""
    warm = len(bodies) // 10
    send(url, bodies[:warm])
    return Ingestion.of([send(url, bodies[warm:])])


def ingest_side_by_side(urls: list[str], bodies: list[str], rounds: int = 3) -> list[Ingestion]:
    """The same bodies to each server: a tenth to warm up, then the rest in ``rounds`` parts,
    the servers taking turns (who goes first alternates), so that a neighbour loading the
    machine for a while weighs on each alike. One Ingestion per server, its parts summed."""
    warm = len(bodies) // 10
    for url in urls:
        send(url, bodies[:warm])
    rest = bodies[warm:]
    size = -(-len(rest) // rounds)
    parts: list[list[load.Load]] = [[] for _ in urls]
    for n in range(rounds):
        chunk = rest[n * size : (n + 1) * size]
        order = list(range(len(urls)))
        if n % 2:
            order.reverse()
        for i in order:
            parts[i].append(send(urls[i], chunk))
    return [Ingestion.of(loads) for loads in parts]


# Processes ----------------------------------------------------------------------------------


@contextmanager
def process(
    args: list[str], env: dict[str, str], log: Path, *, profile: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    out: IO[bytes] = log.open("wb")
    command = [sys.executable, *args]
    if profile is not None:
        py_spy = str(Path(sys.executable).parent / "py-spy")
        command = [py_spy, "record", "-f", "raw", "-r", "200", "-o", str(profile), "--", *command]
    popen = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield popen
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGINT if profile is not None else signal.SIGTERM)
            try:
                popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        out.close()


def wait_up(url: str, popen: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.post(url, content=b"{}", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not start:\n{log.read_text()[-3000:]}")


def seatbill_env(database_url: str, emulator: EmulatorServer, **extra: str) -> dict[str, str]:
    keep = ("STRIPE_", "SEAT_SYNC", "WEBHOOK_", "JWT_", "DATABASE_URL", "PORT", "LOG_")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(keep)},
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "JWT_SECRET": JWT_SECRET,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_API_BASE": emulator.url,
        "SEAT_SYNC_WORKER": "external",
        "LOG_FORMAT": "json",
        **extra,
    }


def free_port() -> int:
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


# The database -------------------------------------------------------------------------------


async def connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))


async def seed(database_url: str, subscriptions: int) -> None:
    """Workspaces, each with its owner and a mirrored `team` subscription with one seat item."""
    now = datetime.now(UTC)
    start = int(time.time()) - 86400
    users, workspaces, members, subs, items = [], [], [], [], []
    for n in range(subscriptions):
        user, workspace, sub = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        users.append((user, f"bench-{n}", f"bench-{n}@example.com", now, now))
        workspaces.append((workspace, f"Bench {n}", now, f"cus_bench_{n}"))
        members.append((uuid.uuid4(), workspace, user, "OWNER", now))
        stripe_created = datetime.fromtimestamp(start, UTC)
        ids = (sub, f"sub_bench_{n}", workspace, f"cus_bench_{n}")
        subs.append(
            (*ids, "active", "team", "month", 1, False, stripe_created, 0, "SYNCED", now, now)
        )
        items.append((uuid.uuid4(), f"si_bench_{n}", sub, "price_bench_team_seat"))
    conn = await connect(database_url)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "user",
                records=users,
                columns=["id", "subject", "email", "created_at", "updated_at"],
            )
            await conn.copy_records_to_table(
                "workspace",
                records=workspaces,
                columns=["id", "name", "created_at", "stripe_customer_id"],
            )
            await conn.copy_records_to_table(
                "membership",
                records=members,
                columns=["id", "workspace_id", "user_id", "role", "joined_at"],
            )
            await conn.copy_records_to_table(
                "subscription",
                records=subs,
                columns=[
                    "id",
                    "stripe_id",
                    "workspace_id",
                    "stripe_customer_id",
                    "status",
                    "plan_key",
                    "interval",
                    "seat_quantity",
                    "cancel_at_period_end",
                    "stripe_created",
                    "snapshot_at",
                    "seat_sync_state",
                    "created_at",
                    "updated_at",
                ],
            )
            await conn.executemany(
                "INSERT INTO subscription_item (id, stripe_id, subscription_id, price_id, "
                "price_lookup_key, quantity, role) VALUES ($1, $2, $3, $4, $5, 1, 'seat')",
                [(*item, SEAT_LOOKUP_KEY) for item in items],
            )
            await conn.execute("CREATE TABLE bare_webhook_event (id TEXT PRIMARY KEY)")
    finally:
        await conn.close()


async def inbox(database_url: str) -> dict[str, int]:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch("SELECT outcome, count(*) AS n FROM webhook_event GROUP BY 1")
        return {str(r["outcome"]): int(r["n"]) for r in rows}
    finally:
        await conn.close()


async def drained_span(database_url: str) -> tuple[int, float]:
    """(events with an outcome, seconds from the first outcome recorded to the last)."""
    conn = await connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM max(processed_at) - min(processed_at)) "
            "AS span FROM webhook_event WHERE processed_at IS NOT NULL"
        )
        assert row is not None
        return int(row["n"]), float(row["span"] or 0.0)
    finally:
        await conn.close()


async def wrong_seats(database_url: str, subscriptions: int) -> int:
    """Subscriptions whose seat quantity is not the newest round's."""
    conn = await connect(database_url)
    try:
        rows = await conn.fetch("SELECT stripe_id, seat_quantity FROM subscription")
        found = {str(r["stripe_id"]): int(r["seat_quantity"]) for r in rows}
    finally:
        await conn.close()
    return sum(
        found.get(f"sub_bench_{n}") != seats_in_round(n, ROUNDS - 1) for n in range(subscriptions)
    )


async def wait_drained(database_url: str, total: int, within: float) -> float:
    """Seconds until every event has an outcome that is final."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        counts = await inbox(database_url)
        if sum(counts.get(o, 0) for o in DONE) >= total:
            return time.monotonic() - started
        if counts.get("DEAD") or counts.get("FAILED"):
            raise RuntimeError(f"events failed: {counts}")
        await asyncio.sleep(0.05)
    raise RuntimeError(f"not drained within {within} s: {await inbox(database_url)}")


# The run ------------------------------------------------------------------------------------


@asynccontextmanager
async def fresh(base_url: str, subscriptions: int) -> AsyncIterator[str]:
    """A database of the run's own, migrated and seeded; dropped afterwards."""
    async with fresh_postgres_database(base_url, "bench_webhooks") as url:
        env = {**os.environ, "DATABASE_URL": url}
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "seatbill.cli", "migrate"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        await seed(url, subscriptions)
        yield url


async def main(args: argparse.Namespace) -> None:
    base_url = args.database_url or os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("bench.webhooks runs on PostgreSQL: set DATABASE_URL=postgres://...")
    try:
        load.check_tools()
    except load.LoadToolMissing as exc:
        raise SystemExit(f"bench.webhooks: {exc}") from None
    profile_dir: Path | None = args.profile
    emulator = EmulatorServer().start()
    events = Events(args.subscriptions, int(time.time()) - 3600)
    rounds = ROUNDS * args.events // (ROUNDS * args.subscriptions)
    bodies = events.bodies(range(ROUNDS - rounds, ROUNDS))
    total = len(bodies)
    print(
        f"{total} customer.subscription.updated events about {args.subscriptions} "
        f"subscriptions, {CONNECTIONS} connections, PostgreSQL"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            async with fresh(base_url, args.subscriptions) as url:
                bare_port, port = free_port(), free_port()
                env = {**os.environ, "BENCH_DATABASE_URL": url, "BENCH_WEBHOOK_SECRET": SECRET}
                bare_cmd = ["-m", "uvicorn", "bench.webhooks:bare_app", "--factory"]
                bare_cmd += ["--host", "127.0.0.1", "--port", str(bare_port)]
                serve_env = seatbill_env(
                    url, emulator, PORT=str(port), WEBHOOK_PROCESSOR="external"
                )
                profile = profile_dir / "serve-ingestion.folded" if profile_dir else None
                log = tmp / "serve.log"
                with (
                    process(bare_cmd, env, tmp / "bare.log") as bare_popen,
                    process(
                        ["-m", "seatbill.cli", "serve", "--no-migrate"],
                        serve_env,
                        log,
                        profile=profile,
                    ) as popen,
                ):
                    bare_endpoint = f"http://127.0.0.1:{bare_port}/webhooks/stripe"
                    endpoint = f"http://127.0.0.1:{port}/webhooks/stripe"
                    wait_up(bare_endpoint, bare_popen, tmp / "bare.log")
                    wait_up(endpoint, popen, log)
                    bare, ours = ingest_side_by_side([bare_endpoint, endpoint], bodies)
                print(f"bare      ingestion {bare.line()}")
                print(f"seatbill  ingestion {ours.line()}")
                print(f"          seatbill/bare {ours.rate / bare.rate:.2f} (target >= 0.8)")
                counts = await inbox(url)
                assert counts == {"RECEIVED": total}, counts

                profile = profile_dir / "worker-drain.folded" if profile_dir else None
                started = time.monotonic()
                with process(
                    ["-m", "seatbill.cli", "worker"],
                    seatbill_env(url, emulator),
                    tmp / "worker.log",
                    profile=profile,
                ):
                    wall = await wait_drained(url, total, within=600)
                handled, span = await drained_span(url)
                counts = await inbox(url)
                wrong = await wrong_seats(url, args.subscriptions)
                rate = handled / span if span else float("inf")
                print(
                    f"drain     {rate:8.1f} events/s  ({handled} events in {span:.2f} s from "
                    f"the first outcome to the last; {wall:.2f} s from the worker's start, "
                    f"{time.monotonic() - started:.2f} s with its shutdown)"
                )
                print(f"          outcomes {dict(sorted(counts.items()))}")
                print(f"          drain/bare ingestion {rate / bare.rate:.2f} (target >= 0.5)")
                print(f"          subscriptions not at the newest snapshot: {wrong}")

            async with fresh(base_url, args.subscriptions) as url:
                port = free_port()
                log = tmp / "serve-in-process.log"
                with process(
                    ["-m", "seatbill.cli", "serve", "--no-migrate"],
                    seatbill_env(url, emulator, PORT=str(port)),
                    log,
                ) as popen:
                    endpoint = f"http://127.0.0.1:{port}/webhooks/stripe"
                    wait_up(endpoint, popen, log)
                    fresh_bodies = events.bodies(range(ROUNDS - rounds, ROUNDS))
                    started = time.monotonic()
                    both = ingest(endpoint, fresh_bodies)
                    after = await wait_drained(url, total, within=600)
                wrong = await wrong_seats(url, args.subscriptions)
                print(f"in-process ingestion {both.line()} while applying")
                print(
                    f"          every event applied {after:.2f} s after the last was "
                    f"acknowledged ({time.monotonic() - started:.1f} s in all); outcomes "
                    f"{dict(sorted((await inbox(url)).items()))}; wrong subscriptions {wrong}"
                )
    finally:
        emulator.stop()
    if profile_dir is not None:
        print(f"profiles in {profile_dir}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=1_000)
    parser.add_argument("--database-url", help="PostgreSQL (default: DATABASE_URL)")
    parser.add_argument("--profile", type=Path, help="a directory for py-spy profiles")
    args = parser.parse_args()
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
