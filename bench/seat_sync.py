"""Benchmark: automatic seat sync, as ratios against baselines measured in the same process.

Run: .venv/bin/python -m bench.seat_sync [--rounds 30] [--burst 100]
(uses a temporary SQLite database; set DATABASE_URL for PostgreSQL).

It serves the app in-process on a free loopback port beside the offline Stripe emulator,
with a `pro` subscription, and reports:

- accept / me: `acceptInvitation` (membership + outbox row in one transaction) against
  `{ me { id } }` (auth + one request), over real HTTP: what the outbox adds to a member
  operation (nothing waits for Stripe);
- sync / stripe: from the accept's response until its outbox row is processed (the worker
  woke, counted the members, updated Stripe, recorded it), with the debounce set to 0, against
  one direct seat quantity update through the gateway: the worker's overhead;
- a burst of --burst concurrent accepts with the default debounce: Stripe updates sent per
  accept, and the time from the burst's end until Stripe bills the exact quantity.
Only ratios and counts are reported, so the figures compare across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx

from seatbill.auth import issue_development_token
from seatbill.catalog import default_catalog_path, load_catalog
from seatbill.config import Settings
from seatbill.db import migrate
from seatbill.models import SeatOutbox
from seatbill.services import mirror, seat_sync
from seatbill.services.catalog_sync import sync_catalog
from seatbill.services.stripe_gateway import StripeGateway
from stripe_emulator import EmulatorServer
from tests.conftest import free_socket, serve
from tests.test_seat_sync import seat_sync_updates


class Client:
    def __init__(self, http: httpx.AsyncClient, url: str, settings: Settings) -> None:
        self.http, self.url, self.settings = http, f"{url}/graphql", settings

    def token(self, email: str) -> str:
        return issue_development_token(self.settings, f"bench-{uuid.uuid4().hex}", email)

    async def gql(self, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, response.text
        return body["data"]

    async def invite(self, owner: str, ws: str, email: str) -> str:
        data = await self.gql(
            owner,
            "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token userErrors { code } } }",
            {"i": {"workspaceId": ws, "email": email, "role": "MEMBER"}},
        )
        assert data["inviteMember"]["userErrors"] == [], data
        return str(data["inviteMember"]["token"])

    async def accept(self, who: str, token: str) -> None:
        data = await self.gql(
            who,
            "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { userErrors { code } } }",
            {"i": {"token": token}},
        )
        assert data["acceptInvitation"]["userErrors"] == [], data

    async def newcomer(self, owner: str, ws: str) -> tuple[str, str]:
        """A signed-up person with an invitation: (their token, the invitation token)."""
        email = f"{uuid.uuid4().hex}@bench.example"
        person = self.token(email)
        await self.gql(person, "{ me { id } }")
        return person, await self.invite(owner, ws, email)


async def poll(check: Callable[[], Awaitable[bool]], interval: float, within: float = 30) -> None:
    for _ in range(int(within / interval)):
        if await check():
            return
        await asyncio.sleep(interval)
    raise TimeoutError("the benchmark's condition never held")


async def until_processed(ws: str, after: float) -> float:
    """Seconds from ``after`` until the workspace has no unprocessed outbox row."""

    async def processed() -> bool:
        return not await SeatOutbox.filter(workspace_id=ws, processed_at__isnull=True).exists()

    await poll(processed, 0.001)
    return time.perf_counter() - after


async def main(rounds: int, burst: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite://{tmp}/bench.sqlite3"
        sock = free_socket()
        secret = f"whsec_bench_{uuid.uuid4().hex}"
        emulator = EmulatorServer(
            webhook_url=f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/stripe",
            webhook_secret=secret,
        ).start()
        try:
            # Rate limits are off: one owner invites a burst of people, and limits are not what
            # this measures. The checkout returns to the bench's own (made-up) client app.
            settings = Settings.from_env(
                {
                    "DATABASE_URL": url,
                    "RATE_LIMIT_PER_USER": "off",
                    "RATE_LIMIT_PER_WORKSPACE": "off",
                    "ALLOWED_REDIRECT_ORIGINS": "https://bench.example",
                }
            )
            settings = replace(settings, stripe_webhook_secret=secret, stripe_api_base=emulator.url)
            await migrate(settings.database_url)
            gateway = StripeGateway("sk_test_bench", api_base=emulator.url)
            async with (
                serve(settings, gateway=gateway, sock=sock) as base,
                httpx.AsyncClient(timeout=30) as http,
            ):
                await run(Client(http, base, settings), gateway, rounds, burst)
        finally:
            emulator.stop()


async def run(api: Client, gateway: StripeGateway, rounds: int, burst: int) -> None:
    worker = seat_sync.running_workers()[0]
    owner = api.token("owner@bench.example")
    ws = (
        await api.gql(
            owner, 'mutation { createWorkspace(input: {name: "B"}) { workspace { id } } }'
        )
    )["createWorkspace"]["workspace"]["id"]
    catalog = load_catalog(default_catalog_path())
    await sync_catalog(gateway, catalog)
    started = await api.gql(
        owner,
        "mutation($i: StartCheckoutInput!) { startCheckout(input: $i) { sessionId } }",
        {
            "i": {
                "workspaceId": ws,
                "planId": "pro",
                "interval": "MONTH",
                "successUrl": "https://bench.example/done",
                "cancelUrl": "https://bench.example/billing",
            }
        },
    )
    raw = await gateway.client.raw_request_async(
        "post",
        f"/v1/test_helpers/checkout/sessions/{started['startCheckout']['sessionId']}/complete",
        payment_method="pm_card_visa",
    )
    session = gateway.client.deserialize(raw, api_mode="V1")
    subscription = await gateway.retrieve_subscription(str(session.subscription))
    seat_item = next(
        item
        for item in subscription["items"].data
        if (match := catalog.match_price(lookup_key=item.price.lookup_key)) is not None
        and match.role == "seat"
    )

    async def live() -> bool:
        return await mirror.live_subscription(uuid.UUID(ws)) is not None

    await poll(live, 0.01)

    # Baselines: a trivial authenticated request, and one direct Stripe quantity update.
    me = []
    for _ in range(rounds):
        start = time.perf_counter()
        await api.gql(owner, "{ me { id } }")
        me.append(time.perf_counter() - start)
    stripe_update = []
    for n in range(rounds):
        start = time.perf_counter()
        await gateway.update_seat_quantity(
            subscription.id, seat_item.id, 1 + n % 2, covered_change=-(n + 1), attempt=0
        )
        stripe_update.append(time.perf_counter() - start)
    await gateway.update_seat_quantity(subscription.id, seat_item.id, 1, covered_change=-(10**6))

    # One accept at a time, the worker without debounce: accept latency and sync latency.
    saved = worker.config
    worker.config = replace(saved, debounce_seconds=0.0)
    accepts, syncs = [], []
    for _ in range(rounds):
        person, invitation = await api.newcomer(owner, ws)
        start = time.perf_counter()
        await api.accept(person, invitation)
        done = time.perf_counter()
        accepts.append(done - start)
        syncs.append(await until_processed(ws, done))
    worker.config = saved

    # A burst with the default debounce: how many Stripe updates, how long until exact.
    people = [await api.newcomer(owner, ws) for _ in range(burst)]
    before = await seat_sync_updates(gateway.client, subscription.id)
    start = time.perf_counter()
    await asyncio.gather(*(api.accept(p, i) for p, i in people))
    burst_end = time.perf_counter()
    settle = await until_processed(ws, burst_end)
    sent = await seat_sync_updates(gateway.client, subscription.id) - before
    final = await gateway.retrieve_subscription(subscription.id)
    quantity = next(i.quantity for i in final["items"].data if i.id == seat_item.id)
    assert quantity == 1 + rounds + burst, quantity

    med = statistics.median
    print(f"rounds={rounds} burst={burst} (medians)")
    print(f"accept / me                   = {med(accepts) / med(me):.2f}")
    print(f"sync (debounce 0) / stripe    = {med(syncs) / med(stripe_update):.2f}")
    print(f"burst: stripe updates/accepts = {sent}/{burst}")
    print(f"burst: exact after / burst    = {settle / (burst_end - start):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--burst", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.burst))
