"""Events and signed, retried webhook deliveries, checked with the official SDK."""

from __future__ import annotations

import httpx
import stripe

from stripe_emulator import EmulatorServer
from tests.emulator.conftest import Receiver
from tests.emulator.helpers import APRIL_1, DAY, advance, clock_customer, price, sub_item, subscribe


async def endpoint(
    client: stripe.StripeClient, url: str, events: list[str]
) -> stripe.WebhookEndpoint:
    return await client.v1.webhook_endpoints.create_async(
        params={"url": url, "enabled_events": events}
    )


def verified(receiver: Receiver, secret: str) -> list[stripe.Event]:
    return [
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], secret)
        for r in receiver.received
    ]


async def test_checkout_events_are_delivered_signed(
    client: stripe.StripeClient, emulator: EmulatorServer, receiver: Receiver
) -> None:
    hook = await endpoint(client, receiver.url + "/hooks", ["*"])
    try:
        seat = await price(client, 1000)
        clock, customer = await clock_customer(client)
        sub = await subscribe(client, customer, [(seat.id, 3)])
        assert emulator.wait_for_webhooks(10)
        events = [
            e
            for e in verified(receiver, str(hook.secret))
            if customer.id in (e.data.object.to_dict().get("customer"), e.data.object.id)
        ]
        types = [e.type for e in events]
        for expected in (
            "customer.subscription.created",
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "checkout.session.completed",
        ):
            assert expected in types
        completed = next(e for e in events if e.type == "checkout.session.completed")
        assert completed.data.object.subscription == sub.id
        assert completed.api_version and completed.livemode is False
        assert completed.request.id is not None and completed.request.idempotency_key is not None
        stored = await client.v1.events.retrieve_async(completed.id)
        assert stored.type == "checkout.session.completed"
        assert stored.pending_webhooks == 0
        # a quantity change: customer.subscription.updated with previous_attributes
        receiver.received.clear()
        await advance(client, clock.id, APRIL_1 + 10 * DAY)
        await client.v1.subscriptions.update_async(
            sub.id, params={"items": [{"id": sub_item(sub, seat.id).id, "quantity": 5}]}
        )
        assert emulator.wait_for_webhooks(10)
        updated = [
            e
            for e in verified(receiver, str(hook.secret))
            if e.type == "customer.subscription.updated"
        ]
        assert len(updated) == 1
        previous = updated[0].data.previous_attributes
        assert [i["quantity"] for i in previous["items"]["data"]] == [3]
        assert sub_item(updated[0].data.object, seat.id).quantity == 5
        created = [
            e for e in verified(receiver, str(hook.secret)) if e.type == "invoiceitem.created"
        ]
        assert len(created) == 2
    finally:
        await client.v1.webhook_endpoints.delete_async(hook.id)


async def test_enabled_events_filter(
    client: stripe.StripeClient, emulator: EmulatorServer, receiver: Receiver
) -> None:
    hook = await endpoint(client, receiver.url, ["customer.created"])
    try:
        customer = await client.v1.customers.create_async(params={"email": "f@example.com"})
        await client.v1.customers.update_async(customer.id, params={"name": "F"})
        assert emulator.wait_for_webhooks(10)
        mine = [e for e in verified(receiver, str(hook.secret)) if e.data.object.id == customer.id]
        assert [e.type for e in mine] == ["customer.created"]
        listed = await client.v1.webhook_endpoints.list_async()
        assert hook.id in [h.id for h in listed.data]
    finally:
        await client.v1.webhook_endpoints.delete_async(hook.id)


async def test_retry_after_receiver_500(
    client: stripe.StripeClient, emulator: EmulatorServer, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    hook = await endpoint(client, receiver.url, ["customer.created"])
    try:
        customer = await client.v1.customers.create_async(params={"email": "r@example.com"})
        assert emulator.wait_for_webhooks(10)
        mine = [e for e in verified(receiver, str(hook.secret)) if e.data.object.id == customer.id]
        assert len(mine) == 3 and len({e.id for e in mine}) == 1
        async with httpx.AsyncClient() as http:
            answer = await http.get(
                f"{emulator.url}/_emulator/webhooks/deliveries", params={"event": mine[0].id}
            )
        delivery = answer.json()["data"][0]
        assert delivery["status"] == "succeeded" and delivery["responses"] == [500, 503, 200]
    finally:
        await client.v1.webhook_endpoints.delete_async(hook.id)


async def test_startup_endpoint_and_duplicates(receiver: Receiver) -> None:
    secret = "whsec_test_startup"
    with EmulatorServer(
        webhook_url=receiver.url,
        webhook_secret=secret,
        shuffle_webhooks=True,
        duplicate_webhooks=1.0,
        seed=7,
    ) as emu:
        client = stripe.StripeClient(
            "sk_test_1", base_addresses={"api": emu.url}, max_network_retries=0
        )
        ids = [
            (await client.v1.customers.create_async(params={"email": f"{n}@d.example"})).id
            for n in range(4)
        ]
        async with httpx.AsyncClient() as http:
            idle = await http.post(f"{emu.url}/_emulator/webhooks/wait", params={"timeout": 10})
        assert idle.json() == {"idle": True}
        events = verified(receiver, secret)
        assert len(events) == 8  # every event twice
        assert sorted({e.data.object.id for e in events}) == sorted(ids)


async def test_events_list_filters(client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async(params={"email": "e@example.com"})
    page = await client.v1.events.list_async(params={"type": "customer.created", "limit": 5})
    assert all(e.type == "customer.created" for e in page.data)
    assert page.data[0].data.object.id == customer.id
