"""Stripe's protocol: auth, errors, idempotency, expand, pagination, bracket forms."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import stripe

from stripe_emulator import EmulatorServer
from stripe_emulator.protocol import parse_form
from tests.emulator.helpers import clock_customer, price, subscribe


def test_bracket_forms_become_nested_lists_and_dicts() -> None:
    parsed = parse_form(
        [
            ("items[0][price]", "price_a"),
            ("items[0][quantity]", "2"),
            ("items[1][id]", "si_b"),
            ("items[1][deleted]", "true"),
            ("expand[0]", "latest_invoice"),
            ("lookup_keys[]", "a"),
            ("lookup_keys[]", "b"),
            ("metadata[workspace_id]", "w1"),
        ]
    )
    assert parsed == {
        "items": [{"price": "price_a", "quantity": "2"}, {"id": "si_b", "deleted": "true"}],
        "expand": ["latest_invoice"],
        "lookup_keys": ["a", "b"],
        "metadata": {"workspace_id": "w1"},
    }


async def test_other_keys_get_401_in_stripe_shape(emulator: EmulatorServer) -> None:
    bad = stripe.StripeClient(
        "sk_live_123456789", base_addresses={"api": emulator.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as err:
        await bad.v1.customers.list_async()
    assert err.value.http_status == 401
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{emulator.url}/v1/customers")
    assert answer.status_code == 401
    assert set(answer.json()["error"]) >= {"type", "code", "message", "param"}
    assert answer.json()["error"]["type"] == "invalid_request_error"


async def test_missing_object_is_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.customers.retrieve_async("cus_nope")
    assert err.value.http_status == 404
    assert err.value.code == "resource_missing"
    assert err.value.param == "id"
    assert err.value.json_body["error"]["message"] == "No such customer: 'cus_nope'"


async def test_missing_param_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.checkout.sessions.create_async(
            params={"mode": "subscription", "success_url": "https://x"}
        )
    assert err.value.http_status == 400
    assert (err.value.code, err.value.param) == ("parameter_missing", "line_items")


async def test_declined_pay_is_402_card_error(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 1)], payment_method="pm_card_chargeDeclined")
    with pytest.raises(stripe.CardError) as err:
        await client.v1.invoices.pay_async(str(sub.latest_invoice))
    assert err.value.http_status == 402 and err.value.code == "card_declined"
    paid = await client.v1.invoices.pay_async(
        str(sub.latest_invoice), params={"payment_method": "pm_card_visa"}
    )
    assert paid.status == "paid"
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "active"


async def test_idempotent_replay_and_conflict(client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    first = await client.v1.customers.create_async(
        params={"email": "i@example.com"}, options={"idempotency_key": key}
    )
    again = await client.v1.customers.create_async(
        params={"email": "i@example.com"}, options={"idempotency_key": key}
    )
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    with pytest.raises(stripe.IdempotencyError) as err:
        await client.v1.customers.create_async(
            params={"email": "other@example.com"}, options={"idempotency_key": key}
        )
    assert err.value.http_status == 400
    assert err.value.json_body["error"]["type"] == "idempotency_error"


async def test_concurrent_same_key_is_409(emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        await http.post(
            "/_emulator/faults", json={"delay_ms": 300, "path_prefix": "/v1/products", "count": 1}
        )
        try:
            headers = {"Authorization": "Bearer sk_test_1", "Idempotency-Key": str(uuid.uuid4())}
            slow = asyncio.create_task(
                http.post("/v1/products", data={"name": "A"}, headers=headers)
            )
            await asyncio.sleep(0.1)
            fast = await http.post("/v1/products", data={"name": "A"}, headers=headers)
            assert (await slow).status_code == 200
            assert fast.status_code == 409
            assert fast.json()["error"]["type"] == "idempotency_error"
        finally:
            await http.delete("/_emulator/faults")


async def test_expand(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    full = await client.v1.subscriptions.retrieve_async(
        sub.id, params={"expand": ["latest_invoice", "customer", "items.data.price.product"]}
    )
    assert full.latest_invoice.object == "invoice"
    assert full.customer.id == customer.id
    assert full["items"].data[0].price.product.object == "product"
    listed = await client.v1.subscriptions.list_async(
        params={"customer": customer.id, "expand": ["data.customer"]}
    )
    assert listed.data[0].customer.email == customer.email


async def test_pagination(client: stripe.StripeClient) -> None:
    email = f"{uuid.uuid4().hex[:8]}@page.example"
    made = [(await client.v1.customers.create_async(params={"email": email})).id for _ in range(5)]
    page = await client.v1.customers.list_async(params={"email": email, "limit": 2})
    assert page.object == "list" and page.url == "/v1/customers" and page.has_more
    seen = [c.id for c in page.data]
    while page.has_more:
        page = await client.v1.customers.list_async(
            params={"email": email, "limit": 2, "starting_after": page.data[-1].id}
        )
        seen += [c.id for c in page.data]
    assert seen == list(reversed(made))  # newest first
    everything = [
        c.id
        async for c in (
            await client.v1.customers.list_async(params={"email": email, "limit": 2})
        ).auto_paging_iter()
    ]
    assert everything == seen


async def test_customer_lifecycle(client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async(
        params={"email": "l@example.com", "metadata": {"workspace_id": "w1"}}
    )
    updated = await client.v1.customers.update_async(
        customer.id, params={"name": "L", "metadata": {"x": "1"}}
    )
    assert updated.metadata.to_dict() == {"workspace_id": "w1", "x": "1"}
    deleted = await client.v1.customers.delete_async(customer.id)
    assert deleted.deleted is True
    again = await client.v1.customers.retrieve_async(customer.id)
    assert again.deleted is True


async def test_lookup_keys_and_active_filters(client: stripe.StripeClient) -> None:
    key = f"seat_{uuid.uuid4().hex[:6]}"
    first = await price(client, 1000, lookup_key=key)
    with pytest.raises(stripe.InvalidRequestError):
        await price(client, 1100, lookup_key=key)
    second = await price(client, 1200, lookup_key=key, transfer_lookup_key=True)
    found = await client.v1.prices.list_async(params={"lookup_keys": [key]})
    assert [p.id for p in found.data] == [second.id]
    await client.v1.prices.update_async(first.id, params={"active": False})
    inactive = await client.v1.prices.list_async(params={"active": False, "product": first.product})
    assert [p.id for p in inactive.data] == [first.id]
