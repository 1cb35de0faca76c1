"""The Stripe gateway: every write carries an idempotency key derived from its intent, the same
intent never creates a second object, and Stripe's errors reach clients only as safe text."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from seatbill.catalog import default_catalog_path, load_catalog
from seatbill.services.catalog_sync import sync_catalog
from seatbill.services.stripe_gateway import GatewayError, StripeGateway, intent_key
from stripe_emulator import EmulatorServer

SECRET = "sk_test_gateway_secret_value"


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


def gateway_for(server: EmulatorServer, retries: int = 0) -> StripeGateway:
    return StripeGateway(SECRET, api_base=server.url, max_network_retries=retries)


def idempotency_keys(server: EmulatorServer) -> list[str]:
    return [key for _, key in server.emulator.state.idempotency]


async def test_every_write_carries_a_key_derived_from_its_intent(emulator: EmulatorServer) -> None:
    gateway = gateway_for(emulator)
    await sync_catalog(gateway, load_catalog(default_catalog_path()))
    customer = await gateway.create_customer("ws-1")
    prices = await gateway.find_prices(["seatbill_team_seat_month"])
    session = await gateway.create_checkout_session(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": prices["seatbill_team_seat_month"].id, "quantity": 2}],
            "success_url": "https://app.example.com/ok",
        },
        idempotency_key=intent_key("checkout", "ws-1", "test"),
    )
    # Paying is the buyer's part (the emulator's test helper, sent without a key).
    async with httpx.AsyncClient() as http:
        paid = await http.post(
            f"{emulator.url}/v1/test_helpers/checkout/sessions/{session.id}/complete",
            headers={"Authorization": f"Bearer {SECRET}"},
            data={"payment_method": "pm_card_visa"},
        )
    subscription_id = paid.json()["subscription"]
    sub = await gateway.retrieve_subscription(subscription_id)
    seat_item = sub["items"].data[0].id
    await gateway.preview_invoice(
        {"subscription": subscription_id}, idempotency_key=intent_key("preview", "test")
    )
    await gateway.update_subscription(
        subscription_id,
        {"items": [{"id": seat_item, "quantity": 3}], "proration_behavior": "always_invoice"},
        idempotency_key=intent_key("subscription", subscription_id, "seats=3"),
    )
    schedule = await gateway.create_subscription_schedule(
        subscription_id, idempotency_key=intent_key("schedule", subscription_id)
    )
    await gateway.release_subscription_schedule(
        schedule.id, idempotency_key=intent_key("schedule-release", schedule.id)
    )
    await gateway.create_portal_session(
        customer.id, "https://app.example.com", idempotency_key=intent_key("portal", "test")
    )
    await gateway.create_webhook_endpoint("https://api.example.com/webhooks/stripe")

    keys = idempotency_keys(emulator)
    assert len(keys) == 20  # 4 products, 8 prices, and the 8 writes above
    assert all(key.startswith("seatbill:") for key in keys), keys
    assert "seatbill:customer:ws-1" in keys


async def test_the_same_intent_returns_the_same_customer(emulator: EmulatorServer) -> None:
    gateway = gateway_for(emulator)
    first = await gateway.create_customer("ws-7")
    again = await gateway.create_customer("ws-7")
    assert again.id == first.id
    assert first.metadata.to_dict() == {"workspace_id": "ws-7"}
    assert len(emulator.emulator.state.all("customer")) == 1
    # Only a customer Stripe lost is replaced, once.
    replacement = await gateway.create_customer("ws-7", replaces=first.id)
    assert replacement.id != first.id
    assert (await gateway.create_customer("ws-7", replaces=first.id)).id == replacement.id


async def test_stripe_errors_become_safe_messages_and_logs_hold_no_secret(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = gateway_for(emulator)
    caplog.set_level(logging.WARNING, logger="seatbill.stripe")
    with pytest.raises(GatewayError) as missing:
        await gateway.retrieve_subscription("sub_does_not_exist")
    assert missing.value.message == "The billing provider refused the request"
    assert missing.value.missing and not missing.value.retryable
    assert "sub_does_not_exist" not in missing.value.message

    async with httpx.AsyncClient() as http:
        await http.post(f"{emulator.url}/_emulator/faults", json={"status": 500, "count": 1})
    with pytest.raises(GatewayError) as down:
        await gateway.create_customer("ws-9")
    assert down.value.retryable and down.value.status == 500
    assert down.value.message == "The billing provider is unavailable; try again shortly"
    # Retried, the same intent still makes exactly one customer.
    await gateway.create_customer("ws-9")
    await gateway.create_customer("ws-9")
    assert len(emulator.emulator.state.all("customer")) == 1

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "resource_missing" in logged and "req_" in logged  # enough for an operator
    assert SECRET not in logged


def test_long_intents_are_hashed_to_a_stable_short_key() -> None:
    url = "https://app.example.com/" + "x" * 500
    key = intent_key("checkout", "ws", url)
    assert key == intent_key("checkout", "ws", url)
    assert key.startswith("seatbill:checkout:") and len(key) < 100
    assert url not in key
    assert intent_key("customer", "ws-1") == "seatbill:customer:ws-1"
