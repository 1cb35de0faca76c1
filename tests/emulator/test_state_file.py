"""The optional state file: an emulator started again on the same file carries on where the
last one stopped (objects, events, test clocks, idempotent replays, webhook endpoints)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
import stripe

from stripe_emulator import EmulatorServer, StateFileError
from tests.emulator.helpers import APRIL_1, DAY, advance, clock_customer, price, subscribe


def _client(emulator: EmulatorServer) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_state", base_addresses={"api": emulator.url}, max_network_retries=0
    )


async def test_a_restarted_emulator_knows_what_the_last_one_made(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3.stripe-emulator.json"
    with EmulatorServer(state_path=str(path)) as first:
        client = _client(first)
        seat = await price(client, 1500)
        clock, customer = await clock_customer(client)
        sub = await subscribe(client, customer, [(seat.id, 3)])
        endpoint = await client.v1.webhook_endpoints.create_async(
            params={"url": "http://127.0.0.1:9/webhooks", "enabled_events": ["invoice.paid"]},
            options={"idempotency_key": "endpoint-once"},
        )
        events_before = (await client.v1.events.list_async(params={"limit": 100})).data
    # Written at stop, atomically: the file and nothing else beside it.
    assert os.listdir(tmp_path) == [path.name]

    with EmulatorServer(state_path=str(path)) as second:
        client = _client(second)
        again = await client.v1.subscriptions.retrieve_async(sub.id)
        assert again.status == "active"
        assert again["items"].data[0].quantity == 3
        assert again["items"].data[0].price.unit_amount == 1500
        assert (await client.v1.customers.retrieve_async(customer.id)).test_clock == clock.id
        events_after = (await client.v1.events.list_async(params={"limit": 100})).data
        assert [e.id for e in events_after] == [e.id for e in events_before]
        # The same idempotency key replays the first answer, signing secret included.
        replay = await client.v1.webhook_endpoints.create_async(
            params={"url": "http://127.0.0.1:9/webhooks", "enabled_events": ["invoice.paid"]},
            options={"idempotency_key": "endpoint-once"},
        )
        assert (replay.id, replay.secret) == (endpoint.id, endpoint.secret)
        assert len((await client.v1.webhook_endpoints.list_async()).data) == 1
        # The test clock carries on: the renewal a month later bills 3 x 15.00.
        await advance(client, clock.id, APRIL_1 + 31 * DAY)
        invoices = await client.v1.invoices.list_async(params={"subscription": sub.id})
        assert [i.amount_due for i in invoices.data] == [4500, 4500]


async def test_changes_are_written_shortly_after_each_request(tmp_path: Path) -> None:
    """A process that dies without stopping the emulator loses at most the last moment."""
    path = tmp_path / "state.json"
    with EmulatorServer(state_path=str(path)) as emulator:
        customer = await _client(emulator).v1.customers.create_async(
            params={"email": "kept@example.com"}
        )
        deadline = time.monotonic() + 5
        while not path.exists() or customer.id not in path.read_text():
            assert time.monotonic() < deadline, "the state file was not written"
            await asyncio.sleep(0.05)
        assert json.loads(path.read_text())["objects"][customer.id]["email"] == "kept@example.com"


async def test_reset_empties_the_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with EmulatorServer(state_path=str(path)) as emulator:
        await _client(emulator).v1.customers.create_async(params={"email": "gone@example.com"})
        emulator.emulator.reset()
    assert json.loads(path.read_text())["objects"] == {}


def test_an_unreadable_state_file_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(StateFileError, match=r"state\.json is not readable"):
        EmulatorServer(state_path=str(path))
