"""Embedded lists hold the first page only, as Stripe's do: an invoice's ``lines`` and a
subscription's ``items`` show 10 entries, ``has_more`` and the ``url`` to page on. Code that
ignores ``has_more`` misses entries; the totals always cover every line."""

from __future__ import annotations

import stripe

from stripe_emulator import EmulatorServer
from tests.emulator.conftest import Receiver
from tests.emulator.helpers import APRIL_1, DAY, advance, clock_customer, price, subscribe

ITEMS = 12  # amounts 100, 200, ... 1200 cents: $78.00 a month in all
MONTHLY = sum(100 * n for n in range(1, ITEMS + 1))


async def _twelve_item_subscription(
    client: stripe.StripeClient,
) -> tuple[stripe.test_helpers.TestClock, stripe.Customer, stripe.Subscription]:
    prices = [await price(client, 100 * n, name=f"Part {n}") for n in range(1, ITEMS + 1)]
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(p.id, 1) for p in prices])
    return clock, customer, sub


async def test_invoice_lines_hold_the_first_ten_and_paging_gets_them_all(
    client: stripe.StripeClient,
) -> None:
    _, _, sub = await _twelve_item_subscription(client)
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert len(invoice.lines.data) == 10 and invoice.lines.has_more is True
    assert invoice.lines.url == f"/v1/invoices/{invoice.id}/lines"
    # Totals are over all 12 lines; adding up the embedded page falls short.
    assert invoice.total == invoice.subtotal == invoice.amount_due == MONTHLY == 7800
    assert sum(line.amount for line in invoice.lines.data) < invoice.total
    every = [
        line
        async for line in (
            await client.v1.invoices.line_items.list_async(invoice.id, params={"limit": 5})
        ).auto_paging_iter()
    ]
    assert len(every) == ITEMS and sum(line.amount for line in every) == invoice.total
    assert [line.id for line in every[:10]] == [line.id for line in invoice.lines.data]
    listed = await client.v1.invoices.list_async(params={"subscription": sub.id})
    assert len(listed.data[0].lines.data) == 10 and listed.data[0].lines.has_more


async def test_subscription_items_hold_the_first_ten(client: stripe.StripeClient) -> None:
    _, _, sub = await _twelve_item_subscription(client)
    assert len(sub["items"].data) == 10 and sub["items"].has_more is True
    assert sub["items"].url == f"/v1/subscription_items?subscription={sub.id}"
    every = [
        item
        async for item in (
            await client.v1.subscription_items.list_async(params={"subscription": sub.id})
        ).auto_paging_iter()
    ]
    assert len(every) == ITEMS
    assert sum(int(i.price.unit_amount or 0) * int(i.quantity or 0) for i in every) == MONTHLY


async def test_webhook_payloads_carry_the_same_first_page(
    client: stripe.StripeClient, emulator: EmulatorServer, receiver: Receiver
) -> None:
    hook = await client.v1.webhook_endpoints.create_async(
        params={"url": receiver.url + "/lines", "enabled_events": ["invoice.paid"]}
    )
    try:
        _, customer, _ = await _twelve_item_subscription(client)
        assert emulator.wait_for_webhooks(10)
        paid = [e for e in receiver.events() if e["data"]["object"]["customer"] == customer.id]
        assert len(paid) == 1
        lines = paid[0]["data"]["object"]["lines"]
        assert len(lines["data"]) == 10 and lines["has_more"] is True
        assert paid[0]["data"]["object"]["amount_paid"] == MONTHLY
    finally:
        await client.v1.webhook_endpoints.delete_async(hook.id)


async def test_a_preview_pages_its_lines_by_its_upcoming_in_id(
    client: stripe.StripeClient,
) -> None:
    clock, _, sub = await _twelve_item_subscription(client)
    await advance(client, clock.id, APRIL_1 + 15 * DAY)  # half of April left (30 days)
    first = next(i for i in sub["items"].data if i.price.unit_amount == 100)
    preview = await client.v1.invoices.create_preview_async(
        params={
            "subscription": sub.id,
            "subscription_details": {"items": [{"id": first.id, "quantity": 3}]},
        }
    )
    assert preview.id.startswith("upcoming_in_")
    assert len(preview.lines.data) == 10 and preview.lines.has_more is True
    assert preview.lines.url == f"/v1/invoices/{preview.id}/lines"
    # Stripe's order: the pending prorations first (newest first: the change's credit, then
    # its charge), then the items.
    assert [line.amount for line in preview.lines.data[:2]] == [-50, 150]
    every = [
        line
        async for line in (
            await client.v1.invoices.line_items.list_async(preview.id)
        ).auto_paging_iter()
    ]
    assert len(every) == ITEMS + 2  # +$1.50 for 3 units half a month, -$0.50 unused of 1
    assert sum(line.amount for line in every) == preview.total == MONTHLY + 200 + 150 - 50
    assert preview.amount_due == preview.subtotal == preview.total
    assert sum(line.amount for line in preview.lines.data) != preview.total
