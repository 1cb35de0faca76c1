"""Trials on test clocks, SetupIntents, and confirming a default_incomplete subscription's
first PaymentIntent (3D Secure included), all through the official SDK."""

from __future__ import annotations

import httpx
import pytest
import stripe

from tests.emulator.helpers import (
    APRIL_1,
    DAY,
    advance,
    clock_customer,
    complete,
    events_for,
    price,
    save_card,
)


async def _types(client: stripe.StripeClient, object_id: str) -> list[str]:
    return [e.type for e in await events_for(client, object_id)]


async def test_a_trial_with_a_card_starts_trialing_with_a_zero_invoice_then_charges(
    client: stripe.StripeClient,
) -> None:
    clock, customer = await clock_customer(client)
    seat = await price(client, 1000, name="Seat")
    await save_card(client, customer.id)
    sub = await client.v1.subscriptions.create_async(
        params={
            "customer": customer.id,
            "items": [{"price": seat.id, "quantity": 2}],
            "trial_period_days": 14,
            "expand": ["latest_invoice"],
        }
    )
    assert sub.status == "trialing"
    assert (sub.trial_start, sub.trial_end) == (APRIL_1, APRIL_1 + 14 * DAY)
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (APRIL_1, APRIL_1 + 14 * DAY)
    first = sub.latest_invoice
    assert isinstance(first, stripe.Invoice)
    assert (first.amount_due, first.status, first.billing_reason) == (
        0,
        "paid",
        "subscription_create",
    )
    assert first.lines.data[0].description == "Trial period for Seat"

    await advance(client, clock.id, APRIL_1 + 11 * DAY - 1)
    assert "customer.subscription.trial_will_end" not in await _types(client, sub.id)
    await advance(client, clock.id, APRIL_1 + 11 * DAY)
    assert (await _types(client, sub.id)).count("customer.subscription.trial_will_end") == 1

    await advance(client, clock.id, APRIL_1 + 15 * DAY)
    after = await client.v1.subscriptions.retrieve_async(
        sub.id, params={"expand": ["latest_invoice"]}
    )
    assert after.status == "active"
    paid = after.latest_invoice
    assert isinstance(paid, stripe.Invoice)
    assert (paid.amount_paid, paid.billing_reason) == (2000, "subscription_cycle")
    item = after["items"].data[0]
    assert item.current_period_start == APRIL_1 + 14 * DAY
    assert (await _types(client, sub.id)).count("customer.subscription.trial_will_end") == 1


@pytest.mark.parametrize(
    ("behavior", "status", "invoices"),
    [("cancel", "canceled", 1), ("pause", "paused", 1), ("create_invoice", "past_due", 2)],
)
async def test_a_trial_without_a_card_ends_by_its_missing_payment_method_setting(
    client: stripe.StripeClient, behavior: str, status: str, invoices: int
) -> None:
    clock, customer = await clock_customer(client)
    seat = await price(client, 1000)
    sub = await client.v1.subscriptions.create_async(
        params={
            "customer": customer.id,
            "items": [{"price": seat.id}],
            "trial_end": APRIL_1 + 7 * DAY,
            "trial_settings": {"end_behavior": {"missing_payment_method": behavior}},  # type: ignore[typeddict-item]
        }
    )
    assert sub.status == "trialing"
    assert sub.trial_settings.end_behavior.missing_payment_method == behavior
    await advance(client, clock.id, APRIL_1 + 8 * DAY)
    after = await client.v1.subscriptions.retrieve_async(sub.id)
    assert after.status == status
    listed = await client.v1.invoices.list_async(params={"subscription": sub.id})
    assert len(listed.data) == invoices
    types = await _types(client, sub.id)
    assert types.count("customer.subscription.trial_will_end") == 1
    if behavior == "cancel":
        assert "customer.subscription.deleted" in types
    if behavior == "pause":
        assert "customer.subscription.paused" in types


async def test_checkout_with_a_trial_and_if_required_collects_no_card(
    client: stripe.StripeClient,
) -> None:
    clock, customer = await clock_customer(client)
    seat = await price(client, 1000)
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": seat.id, "quantity": 1}],
            "success_url": "https://example.com/ok",
            "payment_method_collection": "if_required",
            "subscription_data": {
                "trial_period_days": 14,
                "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
            },
        }
    )
    assert (session.amount_total, session.payment_method_collection) == (0, "if_required")
    async with httpx.AsyncClient() as http:  # the hosted page asks for no card
        page = (await http.get(str(session.url))).text
    assert "Free trial, due today" in page and "Test card" not in page
    raw = await client.raw_request_async(
        "post", f"/v1/test_helpers/checkout/sessions/{session.id}/complete"
    )
    done: stripe.checkout.Session = client.deserialize(raw, api_mode="V1")
    sub = await client.v1.subscriptions.retrieve_async(str(done.subscription))
    assert (sub.status, sub.default_payment_method) == ("trialing", None)
    methods = await client.v1.customers.payment_methods.list_async(customer.id)
    assert methods.data == []
    await advance(client, clock.id, APRIL_1 + 15 * DAY)
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "canceled"


async def test_trial_parameters_are_checked(client: stripe.StripeClient) -> None:
    _, customer = await clock_customer(client)
    seat = await price(client, 1000)
    for params, param in (
        ({"trial_period_days": 731}, "trial_period_days"),
        ({"trial_end": APRIL_1 - 1}, "trial_end"),
        ({"trial_end": APRIL_1 + DAY, "trial_period_days": 3}, "trial_end"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            await client.v1.subscriptions.create_async(
                params={"customer": customer.id, "items": [{"price": seat.id}], **params}  # type: ignore[typeddict-item]
            )
        assert caught.value.param == param


async def _incomplete(
    client: stripe.StripeClient, card: str
) -> tuple[stripe.Subscription, stripe.Invoice, str]:
    _, customer = await clock_customer(client)
    seat = await price(client, 1500)
    pm = await save_card(client, customer.id, card)
    sub = await client.v1.subscriptions.create_async(
        params={
            "customer": customer.id,
            "items": [{"price": seat.id}],
            "payment_behavior": "default_incomplete",
            "expand": ["latest_invoice.confirmation_secret"],
        }
    )
    invoice = sub.latest_invoice
    assert isinstance(invoice, stripe.Invoice)
    return sub, invoice, pm.id


async def test_default_incomplete_leaves_an_open_payment_intent_with_a_confirmation_secret(
    client: stripe.StripeClient,
) -> None:
    sub, invoice, pm_id = await _incomplete(client, "pm_card_visa")
    assert (sub.status, invoice.status, invoice.amount_paid) == ("incomplete", "open", 0)
    assert invoice.confirmation_secret is not None
    assert invoice.confirmation_secret.type == "payment_intent"
    payments = await client.v1.invoice_payments.list_async(params={"invoice": invoice.id})
    (payment,) = payments.data
    assert payment.status == "open"
    intent_id = str(payment.payment.payment_intent)
    intent = await client.v1.payment_intents.retrieve_async(intent_id)
    assert intent.client_secret == invoice.confirmation_secret.client_secret
    assert intent.status == "requires_confirmation"
    plain = await client.v1.invoices.retrieve_async(invoice.id)
    assert "confirmation_secret" not in plain  # only when expanded

    confirmed = await client.v1.payment_intents.confirm_async(
        intent_id, params={"payment_method": pm_id}
    )
    assert confirmed.status == "succeeded"
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "active"
    assert (await client.v1.invoices.retrieve_async(invoice.id)).status == "paid"
    (payment,) = (await client.v1.invoice_payments.list_async(params={"invoice": invoice.id})).data
    assert (payment.status, payment.amount_paid) == ("paid", 1500)


async def test_a_3ds_card_requires_action_until_the_helper_authenticates(
    client: stripe.StripeClient,
) -> None:
    sub, invoice, pm_id = await _incomplete(client, "pm_card_threeDSecure2Required")
    (payment,) = (await client.v1.invoice_payments.list_async(params={"invoice": invoice.id})).data
    intent_id = str(payment.payment.payment_intent)
    intent = await client.v1.payment_intents.confirm_async(
        intent_id, params={"payment_method": pm_id}
    )
    assert intent.status == "requires_action"
    assert intent.next_action is not None and intent.next_action.type == "use_stripe_sdk"
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "incomplete"
    raw = await client.raw_request_async(
        "post", f"/v1/test_helpers/payment_intents/{intent_id}/authenticate"
    )
    done: stripe.PaymentIntent = client.deserialize(raw, api_mode="V1")
    assert done.status == "succeeded"
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "active"
    assert "invoice.payment_action_required" in await _types(client, invoice.id)


async def test_a_declined_card_is_a_402_and_the_intent_wants_another_method(
    client: stripe.StripeClient,
) -> None:
    _, customer = await clock_customer(client)
    seat = await price(client, 1500)
    sub = await client.v1.subscriptions.create_async(
        params={
            "customer": customer.id,
            "items": [{"price": seat.id}],
            "payment_behavior": "default_incomplete",
        }
    )
    (payment,) = (
        await client.v1.invoice_payments.list_async(params={"invoice": str(sub.latest_invoice)})
    ).data
    intent_id = str(payment.payment.payment_intent)
    with pytest.raises(stripe.CardError) as caught:
        await client.v1.payment_intents.confirm_async(
            intent_id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    assert caught.value.code == "card_declined"
    intent = await client.v1.payment_intents.retrieve_async(intent_id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error is not None
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "incomplete"


async def test_setup_intents_save_a_card_for_off_session_use(client: stripe.StripeClient) -> None:
    _, customer = await clock_customer(client)
    seti = await client.v1.setup_intents.create_async(
        params={"customer": customer.id, "usage": "off_session"}
    )
    assert (seti.status, seti.usage) == ("requires_payment_method", "off_session")
    assert seti.client_secret and seti.client_secret.startswith(f"{seti.id}_secret_")
    done = await client.v1.setup_intents.confirm_async(
        seti.id, params={"payment_method": "pm_card_visa"}
    )
    assert done.status == "succeeded"
    methods = await client.v1.customers.payment_methods.list_async(customer.id)
    assert [m.id for m in methods.data] == [done.payment_method]
    assert (await client.v1.setup_intents.retrieve_async(seti.id)).status == "succeeded"

    declined = await client.v1.setup_intents.create_async(params={"customer": customer.id})
    with pytest.raises(stripe.CardError):
        await client.v1.setup_intents.confirm_async(
            declined.id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    again = await client.v1.setup_intents.retrieve_async(declined.id)
    assert again.status == "requires_payment_method"

    secure = await client.v1.setup_intents.create_async(
        params={
            "customer": customer.id,
            "payment_method": "pm_card_threeDSecure2Required",
            "confirm": True,
        }
    )
    assert secure.status == "requires_action"
    raw = await client.raw_request_async(
        "post", f"/v1/test_helpers/setup_intents/{secure.id}/authenticate"
    )
    passed: stripe.SetupIntent = client.deserialize(raw, api_mode="V1")
    assert passed.status == "succeeded"
    assert len((await client.v1.customers.payment_methods.list_async(customer.id)).data) == 2


async def test_checkout_trial_end_in_session_events(client: stripe.StripeClient) -> None:
    """The hosted page's helper still defaults to a card when one is required."""
    _, customer = await clock_customer(client)
    seat = await price(client, 1000)
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": seat.id, "quantity": 1}],
            "success_url": "https://example.com/ok",
            "subscription_data": {"trial_period_days": 3},
        }
    )
    done = await complete(client, session.id, "pm_card_visa")
    sub = await client.v1.subscriptions.retrieve_async(str(done.subscription))
    assert sub.status == "trialing" and sub.default_payment_method
