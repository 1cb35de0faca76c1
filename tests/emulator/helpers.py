"""Shared steps for emulator tests, all through the official SDK."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import stripe

APRIL_1 = int(datetime(2026, 4, 1, tzinfo=UTC).timestamp())  # April has 30 days
DAY = 86400


def tag() -> str:
    return uuid.uuid4().hex[:10]


async def price(
    client: stripe.StripeClient,
    unit_amount: int | None = 1000,
    interval: str = "month",
    **extra: Any,
) -> stripe.Price:
    product = await client.v1.products.create_async(params={"name": extra.pop("name", "Seat")})
    params: dict[str, Any] = {
        "product": product.id,
        "currency": "usd",
        "recurring": {"interval": interval},
        **extra,
    }
    if unit_amount is not None:
        params["unit_amount"] = unit_amount
    return await client.v1.prices.create_async(params=params)  # type: ignore[arg-type]


async def clock_customer(
    client: stripe.StripeClient, at: int = APRIL_1
) -> tuple[stripe.test_helpers.TestClock, stripe.Customer]:
    clock = await client.v1.test_helpers.test_clocks.create_async(params={"frozen_time": at})
    customer = await client.v1.customers.create_async(
        params={"email": f"{tag()}@example.com", "test_clock": clock.id}
    )
    return clock, customer


async def complete(
    client: stripe.StripeClient, session_id: str, payment_method: str
) -> stripe.checkout.Session:
    raw = await client.raw_request_async(
        "post",
        f"/v1/test_helpers/checkout/sessions/{session_id}/complete",
        payment_method=payment_method,
    )
    session: stripe.checkout.Session = client.deserialize(raw, api_mode="V1")
    return session


async def subscribe(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    items: list[tuple[str, int]],
    payment_method: str = "pm_card_visa",
    metadata: dict[str, str] | None = None,
) -> stripe.Subscription:
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": p, "quantity": q} for p, q in items],
            "success_url": "https://example.com/ok?session={CHECKOUT_SESSION_ID}",
            "subscription_data": {"metadata": metadata or {}},
        }
    )
    done = await complete(client, session.id, payment_method)
    assert done.subscription
    return await client.v1.subscriptions.retrieve_async(str(done.subscription))


async def advance(
    client: stripe.StripeClient, clock_id: str, to: int
) -> stripe.test_helpers.TestClock:
    await client.v1.test_helpers.test_clocks.advance_async(clock_id, params={"frozen_time": to})
    for _ in range(100):
        clock = await client.v1.test_helpers.test_clocks.retrieve_async(clock_id)
        if clock.status == "ready":
            return clock
    raise AssertionError("clock never became ready")


async def events_for(client: stripe.StripeClient, object_id: str) -> list[stripe.Event]:
    """Events whose data.object is ``object_id`` (or belongs to that customer), oldest first."""
    found: list[stripe.Event] = []
    page = await client.v1.events.list_async(params={"limit": 100})
    while True:
        for event in page.data:
            obj = event.data.object.to_dict()
            if obj.get("id") == object_id or obj.get("customer") == object_id:
                found.append(event)
        if not page.has_more:
            break
        page = await client.v1.events.list_async(
            params={"limit": 100, "starting_after": page.data[-1].id}
        )
    found.reverse()
    return found


def sub_item(sub: stripe.Subscription, price_id: str) -> Any:
    return next(i for i in sub["items"].data if i.price.id == price_id)


async def save_card(
    client: stripe.StripeClient, customer_id: str, token: str = "pm_card_visa"
) -> stripe.PaymentMethod:
    """Attach a test card to the customer and make it the customer's default for invoices."""
    pm = await client.v1.payment_methods.attach_async(token, params={"customer": customer_id})
    await client.v1.customers.update_async(
        customer_id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    return pm


async def switch_card(
    client: stripe.StripeClient, sub: stripe.Subscription, token: str
) -> stripe.PaymentMethod:
    """The customer replaces their card, as a real integration does it: attach the new card,
    make it the customer's default and the subscription's (Checkout set the subscription's
    default_payment_method, which wins over the customer's)."""
    pm = await save_card(client, str(sub.customer), token)
    await client.v1.subscriptions.update_async(sub.id, params={"default_payment_method": pm.id})
    return pm
