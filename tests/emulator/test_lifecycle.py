"""Lifecycle rules Stripe documents: schedules own their subscription, Checkout sessions expire,
lookup keys move, invoice periods, previews of a subscription that will not renew, and the API
version of a webhook endpoint. Each story goes through the official SDK over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator import EmulatorServer
from tests.emulator.conftest import Receiver
from tests.emulator.helpers import (
    APRIL_1,
    DAY,
    advance,
    clock_customer,
    complete,
    events_for,
    price,
    sub_item,
    subscribe,
    tag,
)

MAY_1 = APRIL_1 + 30 * DAY


async def _session(client: stripe.StripeClient, customer: str, price_id: str, **extra: Any) -> Any:
    return await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "customer": customer,
            "line_items": [{"price": price_id, "quantity": 2}],
            "success_url": "https://example.com/ok",
            **extra,
        }
    )


# ---- subscription schedules -------------------------------------------------------------


async def test_a_schedule_owns_its_subscriptions_cancellation(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 3)])
    sched = await client.v1.subscription_schedules.create_async(
        params={"from_subscription": sub.id}
    )
    # Canceling at period end, or at a date, must go through the schedule now.
    for change in ({"cancel_at_period_end": True}, {"cancel_at": MAY_1}):
        with pytest.raises(stripe.InvalidRequestError) as err:
            await client.v1.subscriptions.update_async(sub.id, params=change)  # type: ignore[arg-type]
        assert err.value.http_status == 400
        assert err.value.error is not None and err.value.error.type == "invalid_request_error"
        assert f"managed by the subscription schedule `{sched.id}`" in str(err.value.user_message)
        assert "update the schedule instead" in str(err.value.user_message)
    # Other changes are still the subscription's own.
    updated = await client.v1.subscriptions.update_async(
        sub.id, params={"metadata": {"note": "kept"}}
    )
    assert updated.metadata["note"] == "kept" and updated.cancel_at is None
    # Once released, the subscription takes cancellations again.
    await client.v1.subscription_schedules.release_async(sched.id)
    done = await client.v1.subscriptions.update_async(sub.id, params={"cancel_at_period_end": True})
    assert done.cancel_at_period_end is True and done.schedule is None


async def test_end_behavior_cancel_shows_as_cancel_at_and_release_can_keep_it(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    sched = await client.v1.subscription_schedules.create_async(
        params={"from_subscription": sub.id}
    )
    await client.v1.subscription_schedules.update_async(
        sched.id,
        params={
            "end_behavior": "cancel",
            "phases": [{"items": [{"price": seat.id, "quantity": 2}], "end_date": MAY_1}],
        },
    )
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.cancel_at == MAY_1 and sub.cancel_at_period_end is False
    assert sub.schedule == sched.id
    # Released with preserve_cancel_date: the date the schedule set stays on the subscription.
    released = await client.v1.subscription_schedules.release_async(
        sched.id, params={"preserve_cancel_date": True}
    )
    assert released.status == "released" and released.released_subscription == sub.id
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.schedule is None and sub.cancel_at == MAY_1
    await advance(client, clock.id, MAY_1 + DAY)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.status == "canceled" and sub.ended_at == MAY_1
    invoices = await client.v1.invoices.list_async(params={"subscription": sub.id})
    assert [i.billing_reason for i in invoices.data] == ["subscription_create"]


async def test_release_without_preserve_cancel_date_drops_the_schedules_cancel_date(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    sched = await client.v1.subscription_schedules.create_async(
        params={"from_subscription": sub.id}
    )
    await client.v1.subscription_schedules.update_async(sched.id, params={"end_behavior": "cancel"})
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).cancel_at == MAY_1
    await client.v1.subscription_schedules.release_async(sched.id)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.cancel_at is None and sub.schedule is None
    await advance(client, clock.id, MAY_1 + DAY)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.status == "active"  # renewed: 2 seats x $10
    assert (await client.v1.invoices.retrieve_async(str(sub.latest_invoice))).amount_paid == 2000


# ---- Checkout sessions ------------------------------------------------------------------


async def test_checkout_session_expires_24_hours_after_creation_by_default(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    session = await _session(client, customer.id, seat.id)
    assert session.status == "open" and session.expires_at == session.created + DAY
    # Expiring by hand: checkout.session.expired, the session has no url any more.
    expired = await client.v1.checkout.sessions.expire_async(session.id)
    assert expired.status == "expired" and expired.url is None
    types = [e.type for e in await events_for(client, session.id)]
    assert types == ["checkout.session.expired"]
    with pytest.raises(stripe.InvalidRequestError) as again:
        await client.v1.checkout.sessions.expire_async(session.id)
    assert again.value.http_status == 400
    assert 'status in ["open"]' in str(again.value.user_message)
    assert "status of `expired`" in str(again.value.user_message)
    with pytest.raises(stripe.InvalidRequestError):
        await complete(client, session.id, "pm_card_visa")


async def test_an_expired_session_can_no_longer_be_completed(
    client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    session = await _session(client, customer.id, seat.id, expires_at=APRIL_1 + 3600)
    assert session.expires_at == APRIL_1 + 3600
    async with httpx.AsyncClient() as web:
        assert (await web.get(str(session.url))).status_code == 200
        await advance(client, clock.id, APRIL_1 + 2 * 3600)  # past expires_at
        page = await web.get(str(session.url))
        assert page.status_code == 410 and "expired" in page.text
        submit = await web.post(str(session.url), data={"payment_method": "pm_card_visa"})
        assert submit.status_code == 400
    with pytest.raises(stripe.InvalidRequestError) as err:
        await complete(client, session.id, "pm_card_visa")
    assert "expired" in str(err.value.user_message)
    done = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert done.status == "expired" and done.subscription is None
    expired = [e for e in await events_for(client, session.id)]
    assert [e.type for e in expired] == ["checkout.session.expired"]
    assert expired[0].request.id is None  # Stripe expired it, no API call did
    subs = await client.v1.subscriptions.list_async(params={"customer": customer.id})
    assert subs.data == []
    with pytest.raises(stripe.InvalidRequestError):
        await _session(client, customer.id, seat.id, expires_at=APRIL_1 + 2 * DAY)


async def test_expiring_a_completed_session_is_refused(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    session = await _session(client, customer.id, seat.id)
    await complete(client, session.id, "pm_card_visa")
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.checkout.sessions.expire_async(session.id)
    assert "status of `complete`" in str(err.value.user_message)


async def test_each_completed_session_creates_its_own_subscription(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    first = await _session(client, customer.id, seat.id)
    second = await _session(client, customer.id, seat.id)
    one = await complete(client, first.id, "pm_card_visa")
    two = await complete(client, second.id, "pm_card_visa")
    assert one.subscription and two.subscription and one.subscription != two.subscription
    subs = await client.v1.subscriptions.list_async(params={"customer": customer.id})
    assert sorted(s.id for s in subs.data) == sorted([str(one.subscription), str(two.subscription)])
    assert all(s.status == "active" for s in subs.data)
    invoices = await client.v1.invoices.list_async(params={"customer": customer.id})
    assert [i.amount_paid for i in invoices.data] == [2000, 2000]  # the customer paid twice


# ---- prices ---------------------------------------------------------------------------------


async def test_transfer_lookup_key_takes_the_key_from_the_old_price(
    client: stripe.StripeClient,
) -> None:
    key = f"seat-{tag()}"
    old = await price(client, 1000, lookup_key=key)
    new = await price(client, 1200, lookup_key=key, transfer_lookup_key=True)
    assert new.lookup_key == key
    assert (await client.v1.prices.retrieve_async(old.id)).lookup_key is None
    found = await client.v1.prices.list_async(params={"lookup_keys": [key]})
    assert [p.id for p in found.data] == [new.id]
    updated = [e for e in await events_for(client, old.id) if e.type == "price.updated"]
    assert len(updated) == 1
    assert updated[0].data.object.lookup_key is None
    assert updated[0].data.to_dict()["previous_attributes"] == {"lookup_key": key}


# ---- invoice periods ------------------------------------------------------------------------


async def test_invoice_period_is_when_items_could_join_it_and_lines_carry_the_service_period(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    first = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert first.billing_reason == "subscription_create"
    assert first.period_start == first.period_end == first.created == APRIL_1
    assert (first.lines.data[0].period.start, first.lines.data[0].period.end) == (APRIL_1, MAY_1)
    await advance(client, clock.id, MAY_1 + DAY)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    renewal = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert renewal.billing_reason == "subscription_cycle"
    assert (renewal.period_start, renewal.period_end) == (APRIL_1, MAY_1)  # the usage period
    item = sub_item(sub, seat.id)
    line = renewal.lines.data[0]
    assert (line.period.start, line.period.end) == (
        item.current_period_start,
        item.current_period_end,
    )
    assert line.period.start == MAY_1 and renewal.amount_paid == 2000


# ---- previews of a subscription that will not renew -------------------------------------


async def test_no_upcoming_invoice_for_a_subscription_canceling_at_period_end(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    extra = await price(client, 500, name="Extra")
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    await client.v1.subscriptions.update_async(sub.id, params={"cancel_at_period_end": True})
    item = sub_item(sub, seat.id)
    for details in (
        {},
        {"items": [{"id": item.id, "quantity": 5}]},
        {"items": [{"price": extra.id, "quantity": 1}], "proration_behavior": "none"},
    ):
        with pytest.raises(stripe.InvalidRequestError) as err:
            await client.v1.invoices.create_preview_async(
                params={"subscription": sub.id, "subscription_details": details}  # type: ignore[typeddict-item]
            )
        assert err.value.http_status == 400 and err.value.code == "invoice_upcoming_none"
        assert str(err.value.user_message) == f"No upcoming invoices for customer: {customer.id}"
    # A change invoiced at once still has an invoice to preview: 3 more seats for the whole
    # remaining month (the preview runs at the clock's April 1).
    now = await client.v1.invoices.create_preview_async(
        params={
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": item.id, "quantity": 5}],
                "proration_behavior": "always_invoice",
                "proration_date": APRIL_1,
            },
        }
    )
    assert now.billing_reason == "subscription_update" and now.amount_due == 3000
    # Previewing as if the cancellation were undone shows the renewal.
    renewal = await client.v1.invoices.create_preview_async(
        params={"subscription": sub.id, "subscription_details": {"cancel_at_period_end": False}}
    )
    assert renewal.billing_reason == "subscription_cycle" and renewal.amount_due == 2000


# ---- webhook endpoints ----------------------------------------------------------------------


async def test_an_endpoints_api_version_is_on_the_events_it_receives(
    client: stripe.StripeClient, emulator: EmulatorServer, receiver: Receiver
) -> None:
    pinned = "2025-03-31.basil"
    hook = await client.v1.webhook_endpoints.create_async(
        params={
            "url": receiver.url + "/pinned",
            "enabled_events": ["customer.created"],
            "api_version": pinned,  # type: ignore[typeddict-item]
        }
    )
    try:
        assert hook.api_version == pinned
        assert (await client.v1.webhook_endpoints.retrieve_async(hook.id)).api_version == pinned
        customer = await client.v1.customers.create_async(params={"email": f"{tag()}@x.io"})
        assert emulator.wait_for_webhooks(10)
        delivered = [e for e in receiver.events() if e["data"]["object"]["id"] == customer.id]
        assert [e["api_version"] for e in delivered] == [pinned]
        stored = await client.v1.events.retrieve_async(delivered[0]["id"])
        assert stored.api_version == stripe.api_version
    finally:
        await client.v1.webhook_endpoints.delete_async(hook.id)


async def test_a_disabled_endpoint_receives_nothing_and_gets_no_backlog(
    client: stripe.StripeClient, emulator: EmulatorServer, receiver: Receiver
) -> None:
    hook = await client.v1.webhook_endpoints.create_async(
        params={"url": receiver.url + "/toggle", "enabled_events": ["customer.created"]}
    )
    try:
        off = await client.v1.webhook_endpoints.update_async(hook.id, params={"disabled": True})
        assert off.status == "disabled"
        missed = await client.v1.customers.create_async(params={"email": f"{tag()}@x.io"})
        assert emulator.wait_for_webhooks(10)
        on = await client.v1.webhook_endpoints.update_async(hook.id, params={"disabled": False})
        assert on.status == "enabled"
        seen = await client.v1.customers.create_async(params={"email": f"{tag()}@x.io"})
        assert emulator.wait_for_webhooks(10)
        ids = [e["data"]["object"]["id"] for e in receiver.events()]
        assert seen.id in ids and missed.id not in ids
        assert all(e["api_version"] == stripe.api_version for e in receiver.events())
    finally:
        await client.v1.webhook_endpoints.delete_async(hook.id)
