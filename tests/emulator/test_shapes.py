"""Every field the emulator returns exists for that resource in Stripe's fixtures3.json."""

from __future__ import annotations

from typing import Any

import stripe

from tests.emulator.helpers import (
    APRIL_1,
    DAY,
    advance,
    clock_customer,
    complete,
    price,
    sub_item,
    subscribe,
)

# Fields Stripe returns that the fixture file leaves out (documented in the API reference):
# tiers only with expand[]=tiers, a webhook endpoint's secret only on creation, and the
# price a line / invoice item is for, a session's line_items only when expanded, and an
# update event's previous_attributes.
NOT_IN_FIXTURE = {
    "checkout.session:line_items",
    "event:data.previous_attributes",
    "price:tiers",
    "webhook_endpoint:secret",
    "line_item:pricing.price_details",
    "invoiceitem:pricing.price_details",
}
FREE_FORM = {"metadata", "previous_attributes", "status_details"}


def walk(
    value: Any, fixtures: dict[str, Any], ref: Any, kind: str, path: str, errors: list[str]
) -> None:
    if isinstance(value, list):
        ref_item = ref[0] if isinstance(ref, list) and ref else None
        for entry in value:
            walk(entry, fixtures, ref_item, kind, path, errors)
        return
    if not isinstance(value, dict):
        return
    obj_kind = value.get("object")
    if obj_kind == "list":
        assert set(value) <= {"object", "data", "has_more", "url"}, path
        ref_data = ref.get("data") if isinstance(ref, dict) else None
        walk(value["data"], fixtures, ref_data, kind, f"{path}.data" if path else "data", errors)
        return
    if isinstance(obj_kind, str) and (obj_kind in fixtures or f"deleted_{obj_kind}" in fixtures):
        if value.get("deleted"):
            ref, kind, path = fixtures[f"deleted_{obj_kind}"], obj_kind, ""
        else:
            ref, kind, path = fixtures[obj_kind], obj_kind, ""
    if not isinstance(ref, dict):
        return
    for key, child in value.items():
        where = f"{path}.{key}" if path else key
        if key not in ref:
            if f"{kind}:{where}" not in NOT_IN_FIXTURE:
                errors.append(f"{kind}:{where}")
            continue
        if key in FREE_FORM:
            continue
        walk(child, fixtures, ref[key], kind, where, errors)


async def test_every_field_is_in_the_fixture(
    client: stripe.StripeClient, fixtures: dict[str, Any]
) -> None:
    seen: list[Any] = []

    def keep(obj: Any) -> Any:
        seen.append(obj.to_dict() if hasattr(obj, "to_dict") else obj)
        return obj

    clock, customer = await clock_customer(client)
    keep(clock)
    keep(customer)
    base = keep(await price(client, 5000, name="Base"))
    seat = keep(await price(client, 1000, name="Seat"))
    keep(await client.v1.products.retrieve_async(str(seat.product)))
    keep(
        await price(
            client,
            None,
            billing_scheme="tiered",
            tiers_mode="volume",
            tiers=[
                {"up_to": 3, "unit_amount": 100},
                {"up_to": "inf", "unit_amount": 50, "flat_amount": 9},
            ],
        )
    )
    keep(await client.v1.prices.list_async(params={"expand": ["data.tiers"], "limit": 3}))
    hook = keep(
        await client.v1.webhook_endpoints.create_async(
            params={"url": "http://127.0.0.1:9/x", "enabled_events": ["*"]}
        )
    )
    keep(await client.v1.webhook_endpoints.delete_async(hook.id))
    session = keep(
        await client.v1.checkout.sessions.create_async(
            params={
                "mode": "subscription",
                "customer": customer.id,
                "client_reference_id": "w1",
                "line_items": [
                    {"price": base.id, "quantity": 1},
                    {"price": seat.id, "quantity": 3},
                ],
                "success_url": "https://example.com/s",
                "cancel_url": "https://example.com/c",
            }
        )
    )
    keep(
        await client.v1.checkout.sessions.retrieve_async(
            session.id, params={"expand": ["line_items"]}
        )
    )
    keep(await complete(client, session.id, "pm_card_visa"))
    sub = keep(
        await client.v1.subscriptions.retrieve_async(
            str((await client.v1.checkout.sessions.retrieve_async(session.id)).subscription),
            params={"expand": ["latest_invoice", "customer"]},
        )
    )
    keep(await client.v1.subscription_items.list_async(params={"subscription": sub.id}))
    await advance(client, clock.id, APRIL_1 + 5 * DAY)
    keep(
        await client.v1.subscription_items.update_async(
            sub_item(sub, seat.id).id, params={"quantity": 4}
        )
    )
    keep(await client.v1.invoice_items.list_async(params={"customer": customer.id}))
    keep(
        await client.v1.invoices.create_preview_async(
            params={"customer": customer.id, "subscription": sub.id}
        )
    )
    sched = keep(
        await client.v1.subscription_schedules.create_async(params={"from_subscription": sub.id})
    )
    keep(await client.v1.subscription_schedules.release_async(sched.id))
    config = keep(
        await client.v1.billing_portal.configurations.create_async(
            params={
                "features": {
                    "invoice_history": {"enabled": True},
                    "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
                },
                "metadata": {"k": "v"},
            }
        )
    )
    keep(
        await client.v1.billing_portal.sessions.create_async(
            params={
                "customer": customer.id,
                "return_url": "https://example.com",
                "configuration": config.id,
            }
        )
    )
    await advance(client, clock.id, APRIL_1 + 31 * DAY)
    invoices = keep(await client.v1.invoices.list_async(params={"customer": customer.id}))
    keep(await client.v1.invoices.line_items.list_async(invoices.data[0].id))
    other = await subscribe(client, customer, [(seat.id, 1)])
    keep(
        await client.v1.subscription_items.delete_async(
            sub_item(
                await client.v1.subscriptions.update_async(
                    other.id, params={"items": [{"price": base.id}]}
                ),
                seat.id,
            ).id
        )
    )
    keep(await client.v1.subscriptions.cancel_async(other.id))
    keep(await client.v1.customers.delete_async(customer.id))
    keep(await client.v1.test_helpers.test_clocks.delete_async(clock.id))
    keep(await client.v1.events.list_async(params={"limit": 100}))

    errors: list[str] = []
    for obj in seen:
        walk(obj, fixtures, None, "", "", errors)
    assert sorted(set(errors)) == []
    kinds = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("object"), str):
                kinds.add(value["object"])
            for child in value.values():
                collect(child)
        elif isinstance(value, list):
            for child in value:
                collect(child)

    collect(seen)
    assert kinds >= {
        "customer",
        "product",
        "price",
        "plan",
        "checkout.session",
        "item",
        "subscription",
        "subscription_item",
        "subscription_schedule",
        "invoice",
        "line_item",
        "invoiceitem",
        "event",
        "webhook_endpoint",
        "test_helpers.test_clock",
        "billing_portal.session",
        "billing_portal.configuration",
    }
