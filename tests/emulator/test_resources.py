"""Smaller resources: session expiry, invoice items, subscriptions created over the API."""

from __future__ import annotations

import pytest
import stripe

from tests.emulator.helpers import clock_customer, complete, price, save_card, sub_item


async def test_checkout_session_expire(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "line_items": [{"price": seat.id, "quantity": 2}],
            "success_url": "https://example.com/ok",
        }
    )
    assert session.status == "open" and session.amount_total == 2000 and session.url
    expired = await client.v1.checkout.sessions.expire_async(session.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        await complete(client, session.id, "pm_card_visa")


async def test_manual_invoice_item_joins_next_invoice(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    ii = await client.v1.invoice_items.create_async(
        params={"customer": customer.id, "amount": 250, "currency": "usd", "description": "Setup"}
    )
    assert ii.invoice is None and ii.proration is False
    gone = await client.v1.invoice_items.delete_async(ii.id)
    assert gone.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.invoice_items.retrieve_async(ii.id)
    sub = await client.v1.subscriptions.create_async(
        params={
            "customer": customer.id,
            "items": [{"price": seat.id, "quantity": 3}],
            "default_payment_method": (await save_card(client, customer.id)).id,
            "metadata": {"workspace_id": "w9"},
        }
    )
    assert sub.status == "active" and sub.metadata.to_dict() == {"workspace_id": "w9"}
    assert sub_item(sub, seat.id).quantity == 3


async def test_subscription_without_payment_method_is_incomplete(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await client.v1.subscriptions.create_async(
        params={"customer": customer.id, "items": [{"price": seat.id}]}
    )
    assert sub.status == "incomplete"


async def test_items_added_and_removed(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    extra = await price(client, 300, name="Extra")
    _, customer = await clock_customer(client)
    sub = await client.v1.subscriptions.create_async(
        params={
            "customer": customer.id,
            "items": [{"price": seat.id}],
            "default_payment_method": (await save_card(client, customer.id)).id,
        }
    )
    added = await client.v1.subscription_items.create_async(
        params={
            "subscription": sub.id,
            "price": extra.id,
            "quantity": 2,
            "proration_behavior": "none",
        }
    )
    assert added.quantity == 2 and added.subscription == sub.id
    listed = await client.v1.subscription_items.list_async(params={"subscription": sub.id})
    assert {i.price.id for i in listed.data} == {seat.id, extra.id}
    await client.v1.subscriptions.update_async(
        sub.id, params={"items": [{"id": added.id, "deleted": True}], "proration_behavior": "none"}
    )
    after = await client.v1.subscriptions.retrieve_async(sub.id)
    assert [i.price.id for i in after["items"].data] == [seat.id]
