"""The webhook endpoint as Stripe meets it: signatures, size, duplicates, order, failures.

Events are built from fixtures3.json shapes (ids and values changed) and signed as Stripe
signs them, then POSTed to the live API.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from seatbill.models import AuditLog, EventOutcome, Invoice, Subscription, WebhookEvent, Workspace
from seatbill.webhooks import handlers
from tests.conftest import Api, Person, Stack, drain_webhooks
from tests.test_seat_sync import eventually
from tests.test_webhooks_helpers import (
    deliver,
    event,
    invoice_object,
    outcome,
    sign,
    subscription_object,
    tag,
)

REPO = Path(__file__).resolve().parents[1]
SEATS_QUERY = (
    "query($id: ID!) { workspace(id: $id) { billingState "
    "subscription { id status seats cancelAtPeriodEnd currentPeriodEnd } } }"
)


async def linked_workspace(api: Api) -> tuple[Person, str, str]:
    """A workspace whose Stripe customer is known (as after a checkout)."""
    owner = api.person("owner")
    ws = await api.create_workspace(owner, f"WS {tag()}")
    customer = f"cus_{tag()}"
    await Workspace.filter(id=ws).update(stripe_customer_id=customer)
    return owner, ws, customer


def secret(stack: Stack) -> str:
    assert stack.settings.stripe_webhook_secret
    return stack.settings.stripe_webhook_secret


async def post(api: Api, stack: Stack, evt: dict[str, Any], **kw: Any) -> httpx.Response:
    return await deliver(api.http, stack.url, secret(stack), evt, **kw)


async def seats_of(api: Api, owner: Person, ws: str) -> dict[str, Any] | None:
    data = await api.data(SEATS_QUERY, {"id": ws}, owner)
    found: dict[str, Any] | None = data["workspace"]["subscription"]
    return found


# Verification ------------------------------------------------------------------------------


async def test_forged_signature_gets_400_and_writes_nothing(api: Api, stack: Stack) -> None:
    _, _, customer = await linked_workspace(api)
    evt = event("customer.subscription.created", subscription_object(customer))
    body = json.dumps(evt).encode()
    forged = sign(body, "whsec_not_the_secret")
    response = await api.http.post(
        f"{stack.url}/webhooks/stripe", content=body, headers={"Stripe-Signature": forged}
    )
    assert response.status_code == 400
    # A valid signature over other bytes does not verify either.
    tampered = body.replace(b'"quantity": 3', b'"quantity": 300')
    response = await api.http.post(
        f"{stack.url}/webhooks/stripe",
        content=tampered,
        headers={"Stripe-Signature": sign(body, secret(stack))},
    )
    assert response.status_code == 400
    assert await WebhookEvent.get_or_none(id=evt["id"]) is None
    assert not await Subscription.exists(stripe_id=evt["data"]["object"]["id"])


async def test_missing_signature_gets_400(api: Api, stack: Stack) -> None:
    evt = event("customer.subscription.created", subscription_object("cus_x"))
    response = await api.http.post(f"{stack.url}/webhooks/stripe", json=evt)
    assert response.status_code == 400
    assert await WebhookEvent.get_or_none(id=evt["id"]) is None


async def test_replayed_old_signature_gets_400(api: Api, stack: Stack) -> None:
    _, _, customer = await linked_workspace(api)
    evt = event("customer.subscription.created", subscription_object(customer))
    stale = await post(api, stack, evt, at=int(time.time()) - 301)
    assert stale.status_code == 400
    assert await WebhookEvent.get_or_none(id=evt["id"]) is None
    # Four minutes late is within Stripe's tolerance.
    late = await post(api, stack, evt, at=int(time.time()) - 240)
    assert late.status_code == 200


async def test_body_over_one_megabyte_gets_413_and_writes_nothing(api: Api, stack: Stack) -> None:
    _, _, customer = await linked_workspace(api)
    sub = subscription_object(customer)
    sub["metadata"] = {"padding": "x" * 1_000_001}
    evt = event("customer.subscription.created", sub)
    response = await post(api, stack, evt)
    assert response.status_code == 413
    assert await WebhookEvent.get_or_none(id=evt["id"]) is None

    async def chunks():  # type: ignore[no-untyped-def]
        body = json.dumps(evt).encode()
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    body = json.dumps(evt).encode()
    response = await api.http.post(
        f"{stack.url}/webhooks/stripe",
        content=chunks(),
        headers={"Stripe-Signature": sign(body, secret(stack))},
    )
    assert response.status_code == 413
    assert await WebhookEvent.get_or_none(id=evt["id"]) is None


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"not json",
        b'{"id": 1, "type": "invoice.paid", "created": 1}',
        b'{"id": "evt_no_type", "created": 1}',
        b'{"id": "evt_no_created", "type": "invoice.paid"}',
        b'{"id": "evt_bad_created", "type": "invoice.paid", "created": "yesterday"}',
    ],
)
async def test_signed_body_that_is_not_an_event_gets_400_and_writes_nothing(
    api: Api, stack: Stack, body: bytes
) -> None:
    response = await deliver(api.http, stack.url, secret(stack), body)
    assert response.status_code == 400
    assert response.json() == {"error": "not an event"}
    for event_id in ("evt_no_type", "evt_no_created", "evt_bad_created"):
        assert await WebhookEvent.get_or_none(id=event_id) is None


# Recording, duplicates, unknown types --------------------------------------------------------


async def test_unknown_event_type_is_recorded_and_acknowledged(api: Api, stack: Stack) -> None:
    evt = event("customer.tax_id.created", {"id": f"txi_{tag()}", "object": "tax_id"})
    response = await post(api, stack, evt)
    assert response.status_code == 200
    recorded = await WebhookEvent.get(id=evt["id"])
    assert recorded.type == "customer.tax_id.created"
    assert recorded.outcome == EventOutcome.IGNORED
    assert recorded.processed_at is not None


async def test_duplicate_delivery_is_acknowledged_and_not_applied_again(
    api: Api, stack: Stack
) -> None:
    owner, ws, customer = await linked_workspace(api)
    evt = event("customer.subscription.created", subscription_object(customer, seats=4))
    first = await post(api, stack, evt)
    assert first.status_code == 200
    audits = await AuditLog.filter(workspace_id=ws).count()
    # Someone changes the row meanwhile; a replay of the same event must not touch it.
    await Subscription.filter(workspace_id=ws).update(seat_quantity=9)
    for _ in range(3):
        again = await post(api, stack, evt)
        # The same answer however many times it arrives.
        assert (again.status_code, again.content) == (first.status_code, first.content)
    assert (await seats_of(api, owner, ws) or {})["seats"] == 9
    assert await AuditLog.filter(workspace_id=ws).count() == audits
    recorded = await WebhookEvent.get(id=evt["id"])
    assert (recorded.outcome, recorded.attempts) == (EventOutcome.PROCESSED, 1)


async def test_subscription_nobody_claims_is_recorded_as_unlinked(api: Api, stack: Stack) -> None:
    evt = event("customer.subscription.created", subscription_object(f"cus_{tag()}"))
    response = await post(api, stack, evt)
    assert response.status_code == 200
    assert (await WebhookEvent.get(id=evt["id"])).outcome == EventOutcome.UNLINKED
    assert not await Subscription.exists(stripe_id=evt["data"]["object"]["id"])


async def test_subscription_made_in_the_dashboard_with_workspace_metadata_is_linked(
    api: Api, stack: Stack
) -> None:
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Dashboard Co")
    customer = f"cus_{tag()}"
    sub = subscription_object(customer, seats=7, metadata={"workspace_id": ws})
    response = await post(api, stack, event("customer.subscription.created", sub))
    assert response.status_code == 200
    assert (await seats_of(api, owner, ws) or {})["seats"] == 7
    assert (await Workspace.get(id=ws)).stripe_customer_id == customer


# Order ----------------------------------------------------------------------------------------


async def test_an_older_update_delivered_after_a_newer_one_changes_nothing(
    api: Api, stack: Stack
) -> None:
    owner, ws, customer = await linked_workspace(api)
    sub_id = f"sub_{tag()}"
    t0 = int(time.time()) - 200
    created = event(
        "customer.subscription.created",
        subscription_object(customer, sub_id=sub_id, seats=3),
        created=t0,
    )
    newer = event(
        "customer.subscription.updated",
        subscription_object(customer, sub_id=sub_id, seats=5, cancel_at_period_end=True),
        created=t0 + 100,
    )
    older = event(
        "customer.subscription.updated",
        subscription_object(customer, sub_id=sub_id, seats=4),
        created=t0 + 50,
    )
    for evt in (newer, created, older):
        assert (await post(api, stack, evt)).status_code == 200
    sub = await seats_of(api, owner, ws)
    assert sub is not None
    assert (sub["seats"], sub["cancelAtPeriodEnd"]) == (5, True)
    row = await Subscription.get(stripe_id=sub_id)
    assert row.snapshot_at == t0 + 100
    # Only the newer snapshot changed anything.
    actions = await AuditLog.filter(workspace_id=ws).values_list("event_id", flat=True)
    assert set(actions) == {newer["id"]}


async def test_deleted_subscription_shows_canceled(api: Api, stack: Stack) -> None:
    owner, ws, customer = await linked_workspace(api)
    sub_id = f"sub_{tag()}"
    t0 = int(time.time()) - 100
    live = subscription_object(customer, sub_id=sub_id)
    ended = subscription_object(customer, sub_id=sub_id, status="canceled")
    ended.update(canceled_at=t0 + 10, ended_at=t0 + 10)
    await post(api, stack, event("customer.subscription.created", live, created=t0))
    await post(api, stack, event("customer.subscription.deleted", ended, created=t0 + 10))
    data = await api.data(SEATS_QUERY, {"id": ws}, owner)
    assert data["workspace"]["subscription"]["status"] == "CANCELED"
    assert data["workspace"]["billingState"] == "CANCELED"


# Failures -------------------------------------------------------------------------------------


async def test_handler_failing_once_rolls_back_and_is_retried(
    api: Api, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, ws, customer = await linked_workspace(api)
    real = handlers.HANDLERS["customer.subscription.created"]
    calls = 0

    async def fails_once(delivery: handlers.Delivery) -> EventOutcome:
        nonlocal calls
        calls += 1
        result = await real(delivery)  # writes the rows, then crashes: all must roll back
        if calls == 1:
            raise RuntimeError("boom with a secret sk_test_123")
        return result

    monkeypatch.setitem(handlers.HANDLERS, "customer.subscription.created", fails_once)
    evt = event("customer.subscription.created", subscription_object(customer, seats=6))
    accepted = await post(api, stack, evt)
    assert accepted.status_code == 200  # recorded: Stripe need not deliver it again
    recorded = await WebhookEvent.get(id=evt["id"])
    assert (recorded.outcome, recorded.attempts) == (EventOutcome.FAILED, 1)
    assert recorded.error == "RuntimeError"
    assert recorded.next_attempt_at is not None
    assert await Subscription.filter(workspace_id=ws).count() == 0
    assert await AuditLog.filter(workspace_id=ws).count() == 0

    # The processor retries it once the backoff (about a second) passes.
    async def applied() -> bool:
        row = await WebhookEvent.get(id=evt["id"])
        return row.outcome == EventOutcome.PROCESSED

    await eventually(applied, within=10)
    recorded = await WebhookEvent.get(id=evt["id"])
    assert (recorded.attempts, recorded.error) == (2, None)
    assert (await seats_of(api, owner, ws) or {})["seats"] == 6


_BROKEN_APP = """
import sys
from dataclasses import replace
import uvicorn
from seatbill.app import create_app
from seatbill.config import Settings
settings = replace(Settings(), database_url=sys.argv[1], stripe_webhook_secret=sys.argv[2])
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="critical")
"""


def _unreachable_database(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("postgres"):
        parts = urlsplit(database_url)
        return urlunsplit(parts._replace(path=f"/seatbill_missing_{uuid.uuid4().hex[:8]}"))
    return f"sqlite://{tmp_path / 'no-such-directory' / 'seatbill.sqlite3'}"


async def test_database_down_during_delivery_gets_5xx_then_redelivery_loses_nothing(
    api: Api, stack: Stack, tmp_path: Path
) -> None:
    """A second API process whose database is unreachable answers 5xx (Stripe retries); the
    same delivery to a working instance is then applied in full."""
    owner, ws, customer = await linked_workspace(api)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _BROKEN_APP,
        _unreachable_database(stack.settings.database_url, tmp_path),
        secret(stack),
        str(port),
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        broken = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if (await api.http.get(f"{broken}/healthz", timeout=1)).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.returncode is None, "broken app exited"
            assert time.monotonic() < deadline, "broken app did not start"
            await asyncio.sleep(0.1)
        evt = event("customer.subscription.created", subscription_object(customer, seats=8))
        body = json.dumps(evt).encode()
        headers = {"Stripe-Signature": sign(body, secret(stack))}
        down = await api.http.post(f"{broken}/webhooks/stripe", content=body, headers=headers)
        assert down.status_code >= 500
        assert "postgres" not in down.text and "sqlite" not in down.text
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
    assert await WebhookEvent.get_or_none(id=evt["id"]) is None
    up = await api.http.post(f"{stack.url}/webhooks/stripe", content=body, headers=headers)
    assert up.status_code == 200
    await drain_webhooks()
    assert (await seats_of(api, owner, ws) or {})["seats"] == 8


# Customers and invoices ----------------------------------------------------------------------


async def test_deleted_customer_is_unlinked(api: Api, stack: Stack) -> None:
    _, ws, customer = await linked_workspace(api)
    deleted = {"id": customer, "object": "customer", "deleted": True}
    response = await post(api, stack, event("customer.deleted", deleted))
    assert response.status_code == 200
    assert (await Workspace.get(id=ws)).stripe_customer_id is None
    audit = await AuditLog.get(workspace_id=ws, action="customer.unlinked")
    assert audit.before == {"stripe_customer_id": customer}


async def test_invoice_delivered_before_its_customer_is_linked_is_kept_and_claimed(
    api: Api, stack: Stack
) -> None:
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Early Invoice Co")
    customer, sub_id = f"cus_{tag()}", f"sub_{tag()}"
    t0 = int(time.time()) - 100
    inv = invoice_object(
        customer, subscription=sub_id, status="paid", amount_due=3000, amount_paid=3000
    )
    paid = event("invoice.paid", inv, created=t0)
    early = await post(api, stack, paid)
    assert early.status_code == 200 and await outcome(paid) == "UNLINKED"
    sub = subscription_object(customer, sub_id=sub_id, metadata={"workspace_id": ws})
    sub["latest_invoice"] = inv["id"]
    await post(api, stack, event("customer.subscription.created", sub, created=t0 + 1))
    row = await Invoice.get(stripe_id=inv["id"])
    assert str(row.workspace_id) == ws
    data = await api.data(
        "query($id: ID!) { workspace(id: $id) { subscription { latestInvoice { id amountPaid } }"
        " invoices { nodes { id status amountDue amountPaid currency } } } }",
        {"id": ws},
        owner,
    )
    workspace = data["workspace"]
    assert workspace["subscription"]["latestInvoice"] == {"id": inv["id"], "amountPaid": 3000}
    assert workspace["invoices"]["nodes"] == [
        {
            "id": inv["id"],
            "status": "paid",
            "amountDue": 3000,
            "amountPaid": 3000,
            "currency": "usd",
        }
    ]


async def test_an_older_invoice_snapshot_never_overwrites_a_newer_one(
    api: Api, stack: Stack
) -> None:
    _, ws, customer = await linked_workspace(api)
    inv_id = f"in_{tag()}"
    t0 = int(time.time()) - 100
    paid = invoice_object(
        customer, subscription=None, invoice_id=inv_id, status="paid", amount_paid=3000
    )
    opened = invoice_object(customer, subscription=None, invoice_id=inv_id, status="open")
    await post(api, stack, event("invoice.paid", paid, created=t0 + 5))
    await post(api, stack, event("invoice.finalized", opened, created=t0))
    row = await Invoice.get(stripe_id=inv_id)
    assert (row.status, row.amount_paid, str(row.workspace_id)) == ("paid", 3000, ws)


async def test_same_second_event_for_an_object_stripe_no_longer_has_keeps_the_event_data(
    api: Api, stack: Stack
) -> None:
    """Two events of one second make the snapshot unsure; the re-fetch finds nothing (the
    object is gone from Stripe), so the event's own data is applied instead of failing."""
    owner, ws, customer = await linked_workspace(api)
    sub_id = f"sub_{tag()}"
    t0 = int(time.time()) - 50
    first = event(
        "customer.subscription.created", subscription_object(customer, sub_id=sub_id), created=t0
    )
    second = event(
        "customer.subscription.updated",
        subscription_object(customer, sub_id=sub_id, seats=2),
        created=t0,
    )
    assert (await post(api, stack, first)).status_code == 200
    response = await post(api, stack, second)
    assert response.status_code == 200, response.text
    assert (await seats_of(api, owner, ws) or {})["seats"] == 2
