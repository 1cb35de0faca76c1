"""Scale-out: two API processes and two `seatbill worker` processes on one PostgreSQL database
end exact under 100 concurrent accepts; the workers' event processors apply the webhooks the
APIs record. Real subprocesses, each on its own free port."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import stripe

from seatbill.catalog import default_catalog_path, load_catalog
from seatbill.config import Settings
from seatbill.services.catalog_sync import sync_catalog
from seatbill.services.stripe_gateway import StripeGateway
from stripe_emulator import EmulatorServer
from tests.conftest import REPO, Api, free_socket, fresh_postgres_database
from tests.test_seat_sync import eventually

POSTGRES_URL = os.environ.get("DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL.startswith("postgres"),
    reason="SQLite is one process by design; the multi-process test runs on PostgreSQL (CI)",
)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
async def scale_out_database() -> AsyncIterator[str]:
    """A database of this test's own: the in-process test API's worker must not see it."""
    async with fresh_postgres_database(POSTGRES_URL, "scale") as url:
        yield url


def free_port() -> int:
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@contextmanager
def processes(tmp_path: Path) -> Iterator[list[Process]]:
    started: list[Process] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        for proc in started:
            try:
                proc.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()


def spawn(
    started: list[Process], tmp_path: Path, name: str, args: list[str], env: dict[str, str]
) -> Process:
    log = tmp_path / f"{name}.log"
    out: IO[bytes] = log.open("wb")
    popen = subprocess.Popen(
        [sys.executable, "-m", "seatbill.cli", *args],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    proc = Process(name, popen, log)
    started.append(proc)
    return proc


async def wait_healthy(http: httpx.AsyncClient, url: str, proc: Process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.popen.poll() is None, f"{proc.name} exited:\n{proc.output()}"
        try:
            if (await http.get(f"{url}/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{proc.name} did not start:\n{proc.output()}")


async def customers_of(client: stripe.StripeClient, workspace_id: str) -> list[str]:
    found = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = await client.v1.customers.list_async(params=params)
        found += [
            c.id
            for c in page.data
            if c.to_dict().get("metadata", {}).get("workspace_id") == workspace_id
        ]
        if not page.has_more:
            return found
        params = {"limit": 100, "starting_after": page.data[-1].id}


async def outbox_backlog(database_url: str, workspace_id: str) -> tuple[int, int]:
    """(rows for joins, rows not processed yet) of the workspace."""
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE reason = 'member_joined') AS total, "
            "count(*) FILTER (WHERE processed_at IS NULL) AS open "
            "FROM seat_outbox WHERE workspace_id = $1",
            uuid.UUID(workspace_id),
        )
        assert row is not None
        return int(row["total"]), int(row["open"])
    finally:
        await conn.close()


SCALE_JWT_SECRET = "scale-out-test-secret-not-the-development-one"


def checkout_input(workspace_id: str) -> dict[str, Any]:
    return {
        "workspaceId": workspace_id,
        "planId": "pro",
        "interval": "MONTH",
        "successUrl": "https://app.example.com/done?session={CHECKOUT_SESSION_ID}",
        "cancelUrl": "https://app.example.com/billing",
    }


SEATS = """query($id: ID!) { workspace(id: $id) {
  seats { billable }
  subscription { id status seats seatSync { state lastError } } } }"""


def process_env(
    database_url: str, stripe_api_base: str, webhook_secret: str, **extra: str
) -> dict[str, str]:
    """The environment of API and worker processes against one PostgreSQL database and the
    emulator (as Stripe: a key, so the development JWT secret is refused and ours is used)."""
    return {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("STRIPE_", "SEAT_SYNC", "WEBHOOK_"))
        },
        "DATABASE_URL": database_url,
        "JWT_SECRET": SCALE_JWT_SECRET,
        "STRIPE_SECRET_KEY": "sk_test_x",
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_API_BASE": stripe_api_base,
        "HOST": "127.0.0.1",
        **extra,
    }


async def migrate_once(env: dict[str, str]) -> None:
    """Migrate up front: several `serve` processes must not race to create the tables."""
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "seatbill.cli", "migrate"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )


async def test_two_apis_and_two_workers_end_with_the_exact_quantity(
    scale_out_database: str, tmp_path: Path
) -> None:
    api_ports = [free_port(), free_port()]
    webhook_secret = f"whsec_scale_{uuid.uuid4().hex}"
    emulator = EmulatorServer(
        webhook_url=f"http://127.0.0.1:{api_ports[0]}/webhooks/stripe",
        webhook_secret=webhook_secret,
    ).start()
    env = process_env(
        scale_out_database,
        emulator.url,
        webhook_secret,
        ALLOWED_REDIRECT_ORIGINS="https://app.example.com",
        # The owner invites a hundred people at once: beyond a person's default rate limit.
        RATE_LIMIT_PER_USER="1000/minute",
        RATE_LIMIT_PER_WORKSPACE="1000/minute",
    )
    try:
        await migrate_once(env)
        with processes(tmp_path) as started:
            apis = [
                spawn(
                    started,
                    tmp_path,
                    f"api{n}",
                    ["serve"],
                    {
                        **env,
                        "PORT": str(port),
                        "PUBLIC_URL": f"http://127.0.0.1:{port}",
                        "SEAT_SYNC_WORKER": "external",
                        "WEBHOOK_PROCESSOR": "external",
                    },
                )
                for n, port in enumerate(api_ports)
            ]
            workers = [spawn(started, tmp_path, f"worker{n}", ["worker"], env) for n in (0, 1)]
            async with httpx.AsyncClient(timeout=30) as http:
                urls = [f"http://127.0.0.1:{port}" for port in api_ports]
                for url, proc in zip(urls, apis, strict=True):
                    await wait_healthy(http, url, proc)
                settings = Settings(jwt_secret=SCALE_JWT_SECRET)  # tokens signed as above
                one, two = (Api(url, settings, http) for url in urls)
                await _scenario(one, two, emulator, scale_out_database)
                for worker in workers:
                    assert worker.popen.poll() is None, worker.output()
            # SIGTERM stops every process cleanly (uvicorn re-raises the signal once done).
            for proc in started:
                proc.popen.send_signal(signal.SIGTERM)
            for proc in apis:
                code = await asyncio.to_thread(proc.popen.wait, 15)
                assert code in (0, -signal.SIGTERM), proc.output()
                assert "Application shutdown complete" in proc.output()
            for proc in workers:
                assert await asyncio.to_thread(proc.popen.wait, 15) == 0, proc.output()
                assert "seat-sync worker and webhook event processor stopping" in proc.output()
    finally:
        emulator.stop()


async def _scenario(one: Api, two: Api, emulator: EmulatorServer, database_url: str) -> None:
    gateway = StripeGateway("sk_test_x", api_base=emulator.url)
    client = gateway.client
    await sync_catalog(gateway, load_catalog(default_catalog_path()))
    owner = one.person("owner")
    ws = await one.create_workspace(owner, "Scale Co")
    # The owner's checkout reaches both APIs twice at once: one customer, one session.
    started = await asyncio.gather(
        *(
            api.mutate("startCheckout", checkout_input(ws), owner, "sessionId")
            for api in (one, two, one, two)
        )
    )
    assert all(s["userErrors"] == [] for s in started), started
    assert len({s["sessionId"] for s in started}) == 1
    raw = await client.raw_request_async(
        "post",
        f"/v1/test_helpers/checkout/sessions/{started[0]['sessionId']}/complete",
        payment_method="pm_card_visa",
    )
    session: stripe.checkout.Session = client.deserialize(raw, api_mode="V1")

    async def active() -> bool:
        sub = (await two.data(SEATS, {"id": ws}, owner))["workspace"]["subscription"]
        return bool(sub and sub["status"] == "ACTIVE")

    await eventually(active, within=15)

    people = [one.person(f"p{i}") for i in range(100)]
    apis = [one, two]
    invited = await asyncio.gather(
        *(apis[n % 2].invite(owner, ws, p.email) for n, p in enumerate(people))
    )
    assert all(i["userErrors"] == [] for i in invited), invited
    accepted = await asyncio.gather(
        *(
            apis[n % 2].accept(p, i["token"])
            for n, (p, i) in enumerate(zip(people, invited, strict=True))
        )
    )
    assert all(a["userErrors"] == [] for a in accepted), accepted

    async def exact() -> bool:
        sub = await client.v1.subscriptions.retrieve_async(str(session.subscription))
        seats = max(item.quantity or 0 for item in sub["items"].data)
        return seats == 101 and (await outbox_backlog(database_url, ws))[1] == 0

    await eventually(exact, within=30)
    assert await outbox_backlog(database_url, ws) == (100, 0)

    async def synced() -> dict[str, Any] | None:
        found: dict[str, Any] = (await one.data(SEATS, {"id": ws}, owner))["workspace"]
        sub = found["subscription"]
        return found if sub["seatSync"]["state"] == "SYNCED" and sub["seats"] == 101 else None

    workspace = await eventually(synced, within=15)
    assert workspace["seats"]["billable"] == 101
    # One customer and one subscription for the workspace, however many processes.
    customers = await customers_of(client, ws)
    assert customers == [session.customer]
    subs = await client.v1.subscriptions.list_async(
        params={"customer": customers[0], "status": "all"}
    )
    assert [s.id for s in subs.data] == [session.subscription]
    # Every webhook the APIs recorded is applied by the workers' processors.

    async def drained() -> bool:
        return await waiting_events(database_url) == 0

    await eventually(drained, within=15)


async def waiting_events(database_url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM webhook_event WHERE outcome NOT IN "
            "('PROCESSED', 'IGNORED', 'UNLINKED', 'SUPERSEDED')"
        )
        return int(found)
    finally:
        await conn.close()
