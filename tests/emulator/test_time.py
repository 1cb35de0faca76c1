"""Test clocks: renewals, failed payments and retries, cancel at period end, schedule phases."""

from __future__ import annotations

import stripe

from tests.emulator.helpers import (
    APRIL_1,
    DAY,
    advance,
    clock_customer,
    events_for,
    price,
    sub_item,
    subscribe,
    switch_card,
)

MAY_1 = APRIL_1 + 30 * DAY


async def test_advance_answers_advancing_then_ready(client: stripe.StripeClient) -> None:
    clock, _ = await clock_customer(client)
    answer = await client.v1.test_helpers.test_clocks.advance_async(
        clock.id, params={"frozen_time": APRIL_1 + DAY}
    )
    assert answer.status == "advancing"
    later = await client.v1.test_helpers.test_clocks.retrieve_async(clock.id)
    assert later.status == "ready"
    assert later.frozen_time == APRIL_1 + DAY


async def test_renewals_for_every_period_crossed(client: stripe.StripeClient) -> None:
    seat = await price(client, 1200)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    await advance(client, clock.id, APRIL_1 + 95 * DAY)  # May 1, June 1, July 1 renewals
    invoices = await client.v1.invoices.list_async(params={"subscription": sub.id})
    assert [i.billing_reason for i in invoices.data] == ["subscription_cycle"] * 3 + [
        "subscription_create"
    ]
    assert all(i.amount_paid == 2400 and i.status == "paid" for i in invoices.data)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    item = sub_item(sub, seat.id)
    # The July 1 renewal bills the new period on its line; the invoice's own period is June
    # (the one that just ended: when invoice items could join it).
    line = invoices.data[0].lines.data[0]
    assert (item.current_period_start, item.current_period_end) == (
        line.period.start,
        line.period.end,
    )
    assert invoices.data[0].period_end == item.current_period_start
    assert invoices.data[0].period_start == invoices.data[1].lines.data[0].period.start
    types = [e.type for e in await events_for(client, sub.id)]
    assert types.count("customer.subscription.updated") >= 3


async def test_declined_first_payment_leaves_subscription_incomplete(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 1)], payment_method="pm_card_chargeDeclined")
    assert sub.status == "incomplete"
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert invoice.status == "open" and invoice.attempt_count == 1
    types = [e.type for e in await events_for(client, customer.id)]
    assert "invoice.payment_failed" in types and "invoice.paid" not in types


async def test_failed_renewals_retry_then_cancel(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 1)])
    assert sub.status == "active"
    await switch_card(client, sub, "pm_card_chargeCustomerFail")
    await advance(client, clock.id, MAY_1)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.status == "past_due"
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert invoice.attempt_count == 1
    assert invoice.next_payment_attempt == MAY_1 + 3 * DAY
    await advance(client, clock.id, MAY_1 + 3 * DAY)
    invoice = await client.v1.invoices.retrieve_async(invoice.id)
    assert invoice.attempt_count == 2 and invoice.next_payment_attempt == MAY_1 + 8 * DAY
    await advance(client, clock.id, MAY_1 + 15 * DAY)
    invoice = await client.v1.invoices.retrieve_async(invoice.id)
    assert invoice.attempt_count == 4 and invoice.next_payment_attempt is None
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.status == "canceled"
    assert sub.cancellation_details.reason == "payment_failed"
    types = [e.type for e in await events_for(client, customer.id)]
    assert types.count("invoice.payment_failed") == 4
    assert types[-1] == "customer.subscription.deleted"


async def test_retry_succeeds_after_card_update(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 1)])
    await switch_card(client, sub, "pm_card_chargeCustomerFail")
    await advance(client, clock.id, MAY_1)
    await switch_card(client, sub, "pm_card_visa")
    await advance(client, clock.id, MAY_1 + 3 * DAY)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.status == "active"
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert invoice.status == "paid" and invoice.attempt_count == 2


async def test_cancel_at_period_end(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 1)])
    updated = await client.v1.subscriptions.update_async(
        sub.id, params={"cancel_at_period_end": True}
    )
    assert updated.cancel_at_period_end and updated.cancel_at == MAY_1
    await advance(client, clock.id, MAY_1 + DAY)
    ended = await client.v1.subscriptions.retrieve_async(sub.id)
    assert ended.status == "canceled" and ended.ended_at == MAY_1
    invoices = await client.v1.invoices.list_async(params={"subscription": sub.id})
    assert len(invoices.data) == 1
    deleted = [
        e for e in await events_for(client, sub.id) if e.type == "customer.subscription.deleted"
    ]
    assert len(deleted) == 1 and deleted[0].created == MAY_1


async def test_cancel_now(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 1)])
    canceled = await client.v1.subscriptions.cancel_async(sub.id)
    assert canceled.status == "canceled"
    listed = await client.v1.subscriptions.list_async(params={"customer": customer.id})
    assert listed.data == []
    listed = await client.v1.subscriptions.list_async(
        params={"customer": customer.id, "status": "all"}
    )
    assert [s.id for s in listed.data] == [sub.id]


async def test_schedule_phase_takes_effect_when_clock_crosses_it(
    client: stripe.StripeClient,
) -> None:
    base = await price(client, 5000, name="Base")
    seat = await price(client, 1000, name="Seat")
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(base.id, 1), (seat.id, 5)])
    sched = await client.v1.subscription_schedules.create_async(
        params={"from_subscription": sub.id}
    )
    assert sched.status == "active" and sched.subscription == sub.id
    assert sched.phases[0].start_date == APRIL_1 and sched.phases[0].end_date == MAY_1
    sched = await client.v1.subscription_schedules.update_async(
        sched.id,
        params={
            "end_behavior": "release",
            "phases": [
                {
                    "items": [{"price": base.id, "quantity": 1}, {"price": seat.id, "quantity": 5}],
                    "start_date": APRIL_1,
                    "end_date": MAY_1,
                },
                {
                    "items": [{"price": base.id, "quantity": 1}, {"price": seat.id, "quantity": 2}],
                    "duration": {"interval": "month"},
                },
            ],
        },
    )
    assert len(sched.phases) == 2
    await advance(client, clock.id, MAY_1 + DAY)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub_item(sub, seat.id).quantity == 2
    renewal = (await client.v1.invoices.list_async(params={"subscription": sub.id})).data[0]
    assert renewal.amount_due == 5000 + 2 * 1000
    await advance(client, clock.id, MAY_1 + 32 * DAY)
    sched = await client.v1.subscription_schedules.retrieve_async(sched.id)
    assert sched.status == "released" and sched.released_subscription == sub.id
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.schedule is None and sub.status == "active"
    types = [e.type for e in await events_for(client, sched.id)]
    assert types[0] == "subscription_schedule.created"
    assert (
        "subscription_schedule.updated" in types and types[-1] == "subscription_schedule.released"
    )


async def test_schedule_release_and_cancel(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 1)])
    sched = await client.v1.subscription_schedules.create_async(
        params={"from_subscription": sub.id}
    )
    released = await client.v1.subscription_schedules.release_async(sched.id)
    assert released.status == "released"
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).schedule is None
    sched = await client.v1.subscription_schedules.create_async(
        params={"from_subscription": sub.id}
    )
    canceled = await client.v1.subscription_schedules.cancel_async(sched.id)
    assert canceled.status == "canceled"
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "canceled"
