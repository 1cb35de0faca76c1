"""Money exactly as Stripe: tiers with flat amounts, per-second proration rounded per line."""

from __future__ import annotations

import pytest
import stripe

from tests.emulator.helpers import APRIL_1, DAY, advance, clock_customer, price, sub_item, subscribe

TIERS = [
    {"up_to": 5, "unit_amount": 1000, "flat_amount": 2000},
    {"up_to": "inf", "unit_amount": 800, "flat_amount": 500},
]


async def tiered(client: stripe.StripeClient, mode: str) -> stripe.Price:
    return await price(client, None, billing_scheme="tiered", tiers_mode=mode, tiers=TIERS)


async def test_graduated_tiers_with_flat_amounts(client: stripe.StripeClient) -> None:
    p = await tiered(client, "graduated")
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(p.id, 7)])
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    # 5 x 10.00 + 20.00 flat, then 2 x 8.00 + 5.00 flat
    assert invoice.amount_due == 5 * 1000 + 2000 + 2 * 800 + 500 == 9100
    assert invoice.lines.data[0].amount == 9100


async def test_volume_tiers_with_flat_amounts(client: stripe.StripeClient) -> None:
    p = await tiered(client, "volume")
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(p.id, 7)])
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert invoice.amount_due == 7 * 800 + 500 == 6100
    _, other = await clock_customer(client)
    sub5 = await subscribe(client, other, [(p.id, 5)])
    invoice5 = await client.v1.invoices.retrieve_async(str(sub5.latest_invoice))
    assert invoice5.amount_due == 5 * 1000 + 2000


async def test_tiers_only_when_expanded(client: stripe.StripeClient) -> None:
    p = await tiered(client, "graduated")
    assert "tiers" not in p
    full = await client.v1.prices.retrieve_async(p.id, params={"expand": ["tiers"]})
    assert [t.up_to for t in full.tiers] == [5, None]
    assert full.tiers[0].flat_amount == 2000


async def seat_plan(client: stripe.StripeClient) -> tuple[stripe.Price, stripe.Price]:
    base = await price(client, 5000, name="Base")
    seat = await price(client, 1000, name="Seat")
    return base, seat


async def test_seat_added_at_half_period_prorates_half_a_seat(client: stripe.StripeClient) -> None:
    base, seat = await seat_plan(client)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(base.id, 1), (seat.id, 3)])
    item = sub_item(sub, seat.id)
    assert item.current_period_start == APRIL_1
    assert item.current_period_end == APRIL_1 + 30 * DAY
    await advance(client, clock.id, APRIL_1 + 15 * DAY)
    await client.v1.subscriptions.update_async(
        sub.id, params={"items": [{"id": item.id, "quantity": 4}]}
    )
    pending = await client.v1.invoice_items.list_async(
        params={"customer": customer.id, "pending": True}
    )
    amounts = sorted(ii.amount for ii in pending.data)
    # unused half of 3 seats credited, remaining half of 4 seats charged: net half a seat
    assert amounts == [-1500, 2000]
    assert sum(amounts) == 1000 // 2
    assert all(ii.proration for ii in pending.data)
    assert {ii.period.start for ii in pending.data} == {APRIL_1 + 15 * DAY}
    # nothing invoiced yet with create_prorations
    invoices = await client.v1.invoices.list_async(params={"customer": customer.id})
    assert len(invoices.data) == 1


async def test_renewal_invoice_includes_pending_prorations(client: stripe.StripeClient) -> None:
    base, seat = await seat_plan(client)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(base.id, 1), (seat.id, 3)])
    item = sub_item(sub, seat.id)
    await advance(client, clock.id, APRIL_1 + 15 * DAY)
    await client.v1.subscriptions.update_async(
        sub.id, params={"items": [{"id": item.id, "quantity": 4}]}
    )
    preview = await client.v1.invoices.create_preview_async(
        params={"customer": customer.id, "subscription": sub.id}
    )
    assert preview.amount_due == -1500 + 2000 + 5000 + 4 * 1000
    await advance(client, clock.id, APRIL_1 + 30 * DAY)
    invoices = await client.v1.invoices.list_async(params={"subscription": sub.id})
    renewal = invoices.data[0]
    assert renewal.billing_reason == "subscription_cycle"
    assert renewal.status == "paid"
    assert sorted(line.amount for line in renewal.lines.data) == [-1500, 2000, 4 * 1000, 5000]
    assert renewal.amount_due == 9500 == preview.amount_due
    assert renewal.parent.subscription_details.subscription == sub.id
    cycle = [
        line for line in renewal.lines.data if not line.parent.subscription_item_details.proration
    ]
    assert {line.period.start for line in cycle} == {APRIL_1 + 30 * DAY}
    pending = await client.v1.invoice_items.list_async(
        params={"customer": customer.id, "pending": True}
    )
    assert pending.data == []


async def test_plan_swap_mid_period_rounds_each_line(client: stripe.StripeClient) -> None:
    small = await price(client, 1000, name="Small")
    large = await price(client, 2500, name="Large")
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(small.id, 1)])
    item = sub_item(sub, small.id)
    await advance(client, clock.id, APRIL_1 + 10 * DAY)  # 20 of 30 days remain
    updated = await client.v1.subscriptions.update_async(
        sub.id,
        params={
            "items": [{"id": item.id, "price": large.id}],
            "proration_behavior": "always_invoice",
        },
    )
    assert sub_item(updated, large.id).id == item.id
    invoice = await client.v1.invoices.retrieve_async(str(updated.latest_invoice))
    assert invoice.billing_reason == "subscription_update"
    lines = sorted(line.amount for line in invoice.lines.data)
    # 1000 x 20/30 = 666.67 -> 667 credited; 2500 x 20/30 = 1666.67 -> 1667 charged
    assert lines == [-667, 1667]
    assert invoice.amount_due == 1000
    assert invoice.status == "paid"


async def test_proration_date_is_honoured(client: stripe.StripeClient) -> None:
    _, seat = await seat_plan(client)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    await advance(client, clock.id, APRIL_1 + 12 * DAY)
    item = sub_item(sub, seat.id)
    await client.v1.subscriptions.update_async(
        sub.id,
        params={"items": [{"id": item.id, "quantity": 3}], "proration_date": APRIL_1 + 20 * DAY},
    )
    pending = await client.v1.invoice_items.list_async(
        params={"customer": customer.id, "pending": True}
    )
    # 10 of 30 days remain at the proration date: 2000/3 = 666.67 -> 667, 3000/3 = 1000
    assert sorted(ii.amount for ii in pending.data) == [-667, 1000]


async def test_preview_shows_change_without_applying(client: stripe.StripeClient) -> None:
    _, seat = await seat_plan(client)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    await advance(client, clock.id, APRIL_1 + 15 * DAY)
    item = sub_item(sub, seat.id)
    preview = await client.v1.invoices.create_preview_async(
        params={
            "customer": customer.id,
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": item.id, "quantity": 5}],
                "proration_behavior": "always_invoice",
                "proration_date": APRIL_1 + 15 * DAY,
            },
        }
    )
    assert sorted(line.amount for line in preview.lines.data) == [-1000, 2500]
    assert preview.amount_due == 1500
    again = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub_item(again, seat.id).quantity == 2


async def test_proration_none_changes_nothing_now(client: stripe.StripeClient) -> None:
    _, seat = await seat_plan(client)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    await advance(client, clock.id, APRIL_1 + 15 * DAY)
    item = sub_item(sub, seat.id)
    await client.v1.subscriptions.update_async(
        sub.id, params={"items": [{"id": item.id, "quantity": 6}], "proration_behavior": "none"}
    )
    pending = await client.v1.invoice_items.list_async(
        params={"customer": customer.id, "pending": True}
    )
    assert pending.data == []
    await advance(client, clock.id, APRIL_1 + 30 * DAY)
    invoices = await client.v1.invoices.list_async(params={"subscription": sub.id})
    assert invoices.data[0].amount_due == 6000


async def test_mixed_intervals_are_refused(client: stripe.StripeClient) -> None:
    monthly = await price(client, 1000)
    yearly = await price(client, 10000, interval="year")
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(monthly.id, 1)])
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.subscriptions.update_async(sub.id, params={"items": [{"price": yearly.id}]})
    assert err.value.http_status == 400
    assert "interval" in str(err.value.user_message)
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.checkout.sessions.create_async(
            params={
                "mode": "subscription",
                "line_items": [
                    {"price": monthly.id, "quantity": 1},
                    {"price": yearly.id, "quantity": 1},
                ],
                "success_url": "https://example.com/ok",
            }
        )


async def test_tiered_quantity_change_prorates_whole_amounts(client: stripe.StripeClient) -> None:
    p = await tiered(client, "graduated")
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(p.id, 7)])
    await advance(client, clock.id, APRIL_1 + 15 * DAY)
    await client.v1.subscription_items.update_async(sub_item(sub, p.id).id, params={"quantity": 8})
    pending = await client.v1.invoice_items.list_async(
        params={"customer": customer.id, "pending": True}
    )
    # 7 units cost 9100, 8 units 9900; half of each
    assert sorted(ii.amount for ii in pending.data) == [-4550, 4950]
