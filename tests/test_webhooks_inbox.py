"""The webhook inbox: an acknowledged event is never lost, events about one object coalesce,
and an event that keeps failing ends DEAD, listed and retried with `seatbill events`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from seatbill.metrics import STRIPE_REQUESTS
from seatbill.models import AuditLog, EventOutcome, Subscription, WebhookEvent
from seatbill.services.seat_sync import Backoff
from seatbill.webhooks import handlers
from seatbill.webhooks.processor import ProcessorConfig, WebhookProcessor
from tests.billing_support import billing, subscribe
from tests.conftest import REPO, Api, Stack, drain_webhooks, processors_paused
from tests.test_seat_sync import eventually
from tests.test_webhooks_delivery import linked_workspace, post, seats_of
from tests.test_webhooks_helpers import catalog, event, outcome, subscription_object, tag

__all__ = ["billing"]


async def test_events_acknowledged_while_no_processor_runs_are_applied_once_one_starts(
    api: Api, stack: Stack
) -> None:
    """The process dies after the 200 (or before it applied what it claimed): the events are in
    the inbox, and the next processor applies them."""
    owner, ws, customer = await linked_workspace(api)
    sub_id = f"sub_{tag()}"
    t0 = int(time.time()) - 100
    created = event(
        "customer.subscription.created",
        subscription_object(customer, sub_id=sub_id, seats=3),
        created=t0,
    )
    cancel = event(
        "customer.subscription.updated",
        subscription_object(customer, sub_id=sub_id, seats=3, cancel_at_period_end=True),
        created=t0 + 10,
    )
    async with processors_paused():
        for evt in (created, cancel):
            assert (await post(api, stack, evt)).status_code == 200
        recorded = await WebhookEvent.get(id=created["id"])
        assert recorded.outcome == EventOutcome.RECEIVED and recorded.payload is not None
        # The second was claimed by a process that died: its lease has passed.
        await WebhookEvent.filter(id=cancel["id"]).update(
            attempts=1, next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)
        )
        await asyncio.sleep(0.1)
        assert await seats_of(api, owner, ws) is None  # nothing applied meanwhile
    await drain_webhooks()
    sub = await seats_of(api, owner, ws)
    assert sub is not None and (sub["seats"], sub["cancelAtPeriodEnd"]) == (3, True)
    assert [await outcome(created), await outcome(cancel)] == ["PROCESSED", "PROCESSED"]
    assert (await WebhookEvent.get(id=cancel["id"])).attempts == 2


async def test_an_event_whose_processor_died_every_time_ends_dead(api: Api, stack: Stack) -> None:
    """An event that takes its process down whenever it is applied is not claimed for ever."""
    _, _, customer = await linked_workspace(api)
    evt = event("customer.subscription.created", subscription_object(customer))
    async with processors_paused():
        assert (await post(api, stack, evt)).status_code == 200
        # Claimed WEBHOOK_MAX_ATTEMPTS times, and each claim's lease ran out without an outcome.
        await WebhookEvent.filter(id=evt["id"]).update(
            attempts=stack.settings.webhook_max_attempts,
            next_attempt_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    await drain_webhooks()
    row = await WebhookEvent.get(id=evt["id"])
    assert (row.outcome, row.error) == (EventOutcome.DEAD, "claimed without an outcome every time")
    assert not await Subscription.exists(stripe_id=evt["data"]["object"]["id"])


async def test_updates_of_one_subscription_in_a_backlog_apply_only_the_newest(
    api: Api, stack: Stack
) -> None:
    owner, ws, customer = await linked_workspace(api)
    sub_id = f"sub_{tag()}"
    t0 = int(time.time()) - 100
    created = event(
        "customer.subscription.created",
        subscription_object(customer, sub_id=sub_id, seats=2),
        created=t0,
    )
    updates = [
        event(
            "customer.subscription.updated",
            subscription_object(customer, sub_id=sub_id, seats=seats),
            created=t0 + seats,
        )
        for seats in (5, 3, 4)  # delivered out of order: the newest says 5 seats
    ]
    async with processors_paused():
        for evt in (*updates, created):
            assert (await post(api, stack, evt)).status_code == 200
    await drain_webhooks()
    assert (await seats_of(api, owner, ws) or {})["seats"] == 5
    assert await outcome(created) == "PROCESSED"  # not a snapshot only: it checks duplicates
    assert [await outcome(evt) for evt in updates] == ["PROCESSED", "SUPERSEDED", "SUPERSEDED"]
    row = await Subscription.get(stripe_id=sub_id)
    assert row.snapshot_at == t0 + 5
    # The superseded snapshots changed nothing.
    changed_by = await AuditLog.filter(workspace_id=ws).values_list("event_id", flat=True)
    assert set(changed_by) == {created["id"], updates[0]["id"]}


def _retrieved_subscriptions() -> float:
    return float(STRIPE_REQUESTS.labels("retrieve_subscription", "200")._value.get())


async def test_updates_of_one_second_are_served_by_one_refetch(api: Api, billing: Stack) -> None:
    """Three snapshots of one second: which is newest is unknown, so Stripe's current object is
    read, once for the three."""
    paid = await subscribe(api, billing, "team", seats=2)
    stripe_sub = await billing.gateway.retrieve_subscription(paid.subscription_id)
    same_second = int(time.time()) + 5
    updates = []
    for seats in (3, 4, 5):
        snapshot = stripe_sub.to_dict(recursive=True, for_json=True)
        snapshot["schedule"] = None
        snapshot["items"]["data"][0]["quantity"] = seats  # none of them what Stripe says now
        updates.append(event("customer.subscription.updated", snapshot, created=same_second))
    before = _retrieved_subscriptions()
    async with processors_paused():
        for evt in updates:
            assert (await post(api, billing, evt)).status_code == 200
    await drain_webhooks()
    assert _retrieved_subscriptions() - before == 1
    assert (await Subscription.get(stripe_id=paid.subscription_id)).seat_quantity == 2
    assert sorted([await outcome(evt) for evt in updates]) == [
        "PROCESSED",
        "SUPERSEDED",
        "SUPERSEDED",
    ]


@pytest.fixture
async def impatient(stack: Stack) -> AsyncIterator[WebhookProcessor]:
    """The only processor running: one that gives up after two quick attempts."""
    processor = WebhookProcessor(
        stack.settings,
        catalog(),
        stack.gateway,
        config=ProcessorConfig(
            max_attempts=2, backoff=Backoff(0.01, 0.01), poll_seconds=0.05, lease_seconds=5
        ),
    )
    async with processors_paused():
        await processor.start()
        try:
            yield processor
        finally:
            await processor.stop()


def seatbill(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STRIPE_", "JWT_", "DATABASE_URL", "HOST", "WEBHOOK_"))
    }
    env["DATABASE_URL"] = stack.settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "seatbill.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_an_event_that_keeps_failing_ends_dead_and_is_retried_from_the_command_line(
    api: Api,
    stack: Stack,
    impatient: WebhookProcessor,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner, ws, customer = await linked_workspace(api)
    real = handlers.HANDLERS["customer.subscription.created"]

    async def broken(delivery: handlers.Delivery) -> EventOutcome:
        raise RuntimeError("a bug, with a secret sk_test_123")

    monkeypatch.setitem(handlers.HANDLERS, "customer.subscription.created", broken)
    evt = event("customer.subscription.created", subscription_object(customer, seats=7))
    assert (await post(api, stack, evt)).status_code == 200

    async def dead() -> WebhookEvent | None:
        row = await WebhookEvent.get(id=evt["id"])
        return row if row.outcome == EventOutcome.DEAD else None

    row = await eventually(dead, within=10)
    assert (row.attempts, row.error, row.next_attempt_at) == (2, "RuntimeError", None)
    dead_lines = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "ERROR" and "DEAD" in r.getMessage() and evt["id"] in r.getMessage()
    ]
    assert dead_lines and "sk_test" not in dead_lines[0]
    assert await seats_of(api, owner, ws) is None

    listed = await asyncio.to_thread(seatbill, stack, "events", "list", "--dead", "--limit", "500")
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith(evt["id"]))
    assert "customer.subscription.created\tDEAD\tattempts=2" in line
    assert "error=RuntimeError" in line

    unknown = await asyncio.to_thread(seatbill, stack, "events", "retry", "evt_not_recorded")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "seatbill: no webhook event evt_not_recorded in the inbox"

    monkeypatch.setitem(handlers.HANDLERS, "customer.subscription.created", real)  # fixed
    retried = await asyncio.to_thread(seatbill, stack, "events", "retry", evt["id"])
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.strip() == f"{evt['id']}: queued to be applied again ({evt['type']})"

    async def applied() -> bool:
        return (await WebhookEvent.get(id=evt["id"])).outcome == EventOutcome.PROCESSED

    await eventually(applied, within=10)
    assert (await seats_of(api, owner, ws) or {})["seats"] == 7
    dead_now = await asyncio.to_thread(seatbill, stack, "events", "list", "--dead")
    assert evt["id"] not in dead_now.stdout
    recent = await asyncio.to_thread(seatbill, stack, "events", "list", "--limit", "500")
    line = next(line for line in recent.stdout.splitlines() if line.startswith(evt["id"]))
    assert "\tPROCESSED\tattempts=1\t" in line
