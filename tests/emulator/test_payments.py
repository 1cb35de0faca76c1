"""Cards and payment_behavior as Stripe documents them: payment methods are saved to customers,
a card can start failing after checkout, and an update that cannot be paid is applied, kept
pending, or refused, as the caller asked."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.emulator.helpers import (
    APRIL_1,
    DAY,
    advance,
    clock_customer,
    events_for,
    price,
    save_card,
    sub_item,
    subscribe,
    switch_card,
)
from tests.emulator.test_shapes import walk

MAY_1 = APRIL_1 + 30 * DAY
APRIL_16 = APRIL_1 + 15 * DAY  # half of April's 30 days is left
HOUR = 3600


async def test_cards_are_attached_listed_and_detached(client: stripe.StripeClient) -> None:
    _, customer = await clock_customer(client)
    visa = await client.v1.payment_methods.attach_async(
        "pm_card_visa", params={"customer": customer.id}
    )
    assert visa.id.startswith("pm_") and visa.id != "pm_card_visa"
    assert (visa.customer, visa.type, visa.card.brand, visa.card.last4) == (
        customer.id,
        "card",
        "visa",
        "4242",
    )
    another = await client.v1.payment_methods.attach_async(
        "pm_card_visa", params={"customer": customer.id}
    )
    assert another.id != visa.id  # each use of a test token is a new card
    amex = await client.v1.payment_methods.attach_async(
        "pm_card_amex", params={"customer": customer.id}
    )
    assert amex.card.brand == "amex"

    listed = await client.v1.payment_methods.list_async(
        params={"customer": customer.id, "type": "card"}
    )
    assert {pm.id for pm in listed.data} == {visa.id, another.id, amex.id}
    of_customer = await client.v1.customers.payment_methods.list_async(customer.id)
    assert {pm.id for pm in of_customer.data} == {visa.id, another.id, amex.id}
    assert (await client.v1.payment_methods.retrieve_async(visa.id)).card.last4 == "4242"

    detached = await client.v1.payment_methods.detach_async(another.id)
    assert detached.customer is None
    listed = await client.v1.customers.payment_methods.list_async(customer.id)
    assert {pm.id for pm in listed.data} == {visa.id, amex.id}
    with pytest.raises(stripe.InvalidRequestError):  # a detached card cannot be used again
        await client.v1.payment_methods.attach_async(another.id, params={"customer": customer.id})


async def test_declined_card_is_refused_but_customer_fail_card_attaches(
    client: stripe.StripeClient,
) -> None:
    _, customer = await clock_customer(client)
    with pytest.raises(stripe.CardError) as err:
        await client.v1.payment_methods.attach_async(
            "pm_card_chargeDeclined", params={"customer": customer.id}
        )
    assert (err.value.http_status, err.value.code) == (402, "card_declined")
    failing = await client.v1.payment_methods.attach_async(
        "pm_card_chargeCustomerFail", params={"customer": customer.id}
    )
    assert failing.customer == customer.id and failing.card.last4 == "0341"


async def test_default_payment_method_must_be_attached_to_the_customer(
    client: stripe.StripeClient,
) -> None:
    _, customer = await clock_customer(client)
    _, other = await clock_customer(client)
    foreign = await client.v1.payment_methods.attach_async(
        "pm_card_visa", params={"customer": other.id}
    )
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.customers.update_async(
            customer.id, params={"invoice_settings": {"default_payment_method": foreign.id}}
        )
    assert err.value.param == "invoice_settings[default_payment_method]"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.customers.update_async(
            customer.id, params={"invoice_settings": {"default_payment_method": "pm_card_visa"}}
        )

    own = await save_card(client, customer.id)
    again = await client.v1.customers.retrieve_async(customer.id)
    assert again.invoice_settings.default_payment_method == own.id
    await client.v1.payment_methods.detach_async(own.id)
    again = await client.v1.customers.retrieve_async(customer.id)
    assert again.invoice_settings.default_payment_method is None


async def test_checkout_saves_the_card_on_the_subscription(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    assert sub.status == "active" and sub.default_payment_method
    card = await client.v1.payment_methods.retrieve_async(str(sub.default_payment_method))
    assert (card.customer, card.card.last4) == (customer.id, "4242")


async def test_customer_fail_card_at_checkout_fails_the_first_payment(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(
        client, customer, [(seat.id, 1)], payment_method="pm_card_chargeCustomerFail"
    )
    assert sub.status == "incomplete"
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (invoice.status, invoice.attempt_count, invoice.amount_due) == ("open", 1, 1000)


async def test_card_switched_after_checkout_fails_the_next_renewal(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    first = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (first.status, first.amount_paid) == ("paid", 2000)

    await switch_card(client, sub, "pm_card_chargeCustomerFail")
    await advance(client, clock.id, MAY_1 + HOUR)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.status == "past_due"
    renewal = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (renewal.status, renewal.attempt_count, renewal.amount_due) == ("open", 1, 2000)
    assert renewal.next_payment_attempt == MAY_1 + 3 * DAY


# ---- payment_behavior on an always_invoice seat increase that cannot be paid ----------


async def seats_with_failing_card(
    client: stripe.StripeClient,
) -> tuple[stripe.test_helpers.TestClock, stripe.Subscription, Any]:
    """Two seats at 10.00 paid on April 1; on April 16 the card starts failing."""
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    await advance(client, clock.id, APRIL_16)
    await switch_card(client, sub, "pm_card_chargeCustomerFail")
    return clock, sub, sub_item(sub, seat.id)


def third_seat(item: Any, payment_behavior: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "items": [{"id": item.id, "quantity": 3}],
        "proration_behavior": "always_invoice",
    }
    if payment_behavior:
        params["payment_behavior"] = payment_behavior
    return params


# Half a month: 15.00 for three seats less 10.00 unused for two.
THIRD_SEAT_DUE = 1500 - 1000


async def test_allow_incomplete_applies_the_change_and_goes_past_due(
    client: stripe.StripeClient,
) -> None:
    _, sub, item = await seats_with_failing_card(client)
    updated = await client.v1.subscriptions.update_async(sub.id, params=third_seat(item, None))
    assert sub_item(updated, item.price.id).quantity == 3
    assert updated.status == "past_due" and updated.pending_update is None
    invoice = await client.v1.invoices.retrieve_async(str(updated.latest_invoice))
    assert invoice.billing_reason == "subscription_update"
    assert (invoice.status, invoice.amount_due, invoice.attempt_count) == (
        "open",
        THIRD_SEAT_DUE,
        1,
    )


async def test_pending_if_incomplete_keeps_the_seats_until_the_invoice_is_paid(
    client: stripe.StripeClient,
) -> None:
    _, sub, item = await seats_with_failing_card(client)
    updated = await client.v1.subscriptions.update_async(
        sub.id, params=third_seat(item, "pending_if_incomplete")
    )
    assert sub_item(updated, item.price.id).quantity == 2
    assert updated.status == "active"
    pending = updated.pending_update
    assert pending is not None and pending.expires_at == APRIL_16 + 23 * HOUR
    assert [(i.id, i.quantity) for i in pending.subscription_items] == [(item.id, 3)]
    invoice = await client.v1.invoices.retrieve_async(str(updated.latest_invoice))
    assert (invoice.status, invoice.amount_due) == ("open", THIRD_SEAT_DUE)

    paid = await client.v1.invoices.pay_async(invoice.id, params={"payment_method": "pm_card_visa"})
    assert (paid.status, paid.amount_paid) == ("paid", THIRD_SEAT_DUE)
    after = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub_item(after, item.price.id).quantity == 3
    assert after.pending_update is None and after.status == "active"
    applied = [
        e
        for e in await events_for(client, sub.id)
        if e.type == "customer.subscription.pending_update_applied"
    ]
    assert len(applied) == 1


async def test_pending_update_is_dropped_when_it_expires(client: stripe.StripeClient) -> None:
    clock, sub, item = await seats_with_failing_card(client)
    updated = await client.v1.subscriptions.update_async(
        sub.id, params=third_seat(item, "pending_if_incomplete")
    )
    assert updated.pending_update is not None
    await advance(client, clock.id, APRIL_16 + 23 * HOUR + 60)
    after = await client.v1.subscriptions.retrieve_async(sub.id)
    assert after.pending_update is None
    assert sub_item(after, item.price.id).quantity == 2 and after.status == "active"
    invoice = await client.v1.invoices.retrieve_async(str(updated.latest_invoice))
    assert invoice.status == "void"
    types = [e.type for e in await events_for(client, sub.id)]
    assert "customer.subscription.pending_update_expired" in types
    assert "customer.subscription.pending_update_applied" not in types


async def test_pending_if_incomplete_refuses_other_parameters(
    client: stripe.StripeClient,
) -> None:
    _, sub, item = await seats_with_failing_card(client)
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.subscriptions.update_async(
            sub.id,
            params={**third_seat(item, "pending_if_incomplete"), "metadata": {"k": "v"}},
        )
    assert err.value.param == "metadata"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.subscription_items.update_async(
            item.id,
            params={
                "quantity": 3,
                "metadata": {"k": "v"},
                "payment_behavior": "pending_if_incomplete",
            },
        )


async def test_error_if_incomplete_refuses_and_changes_nothing(
    client: stripe.StripeClient,
) -> None:
    _, sub, item = await seats_with_failing_card(client)
    with pytest.raises(stripe.CardError) as err:
        await client.v1.subscriptions.update_async(
            sub.id, params=third_seat(item, "error_if_incomplete")
        )
    assert (err.value.http_status, err.value.code) == (402, "card_declined")
    after = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub_item(after, item.price.id).quantity == 2
    assert after.status == "active" and after.latest_invoice == sub.latest_invoice
    invoices = await client.v1.invoices.list_async(params={"subscription": sub.id})
    assert len(invoices.data) == 1
    pending_items = await client.v1.invoice_items.list_async(
        params={"customer": str(sub.customer), "pending": True}
    )
    assert pending_items.data == []


async def test_default_incomplete_update_leaves_the_invoice_for_the_customer(
    client: stripe.StripeClient,
) -> None:
    _, sub, item = await seats_with_failing_card(client)
    updated = await client.v1.subscriptions.update_async(
        sub.id, params=third_seat(item, "default_incomplete")
    )
    assert sub_item(updated, item.price.id).quantity == 3 and updated.status == "past_due"
    invoice = await client.v1.invoices.retrieve_async(str(updated.latest_invoice))
    assert (invoice.status, invoice.amount_due, invoice.attempt_count) == (
        "open",
        THIRD_SEAT_DUE,
        0,
    )


# ---- payment_behavior on create ------------------------------------------------------------


async def test_create_default_incomplete_waits_for_payment(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    card = await save_card(client, customer.id)
    sub = await client.v1.subscriptions.create_async(
        params={
            "customer": customer.id,
            "items": [{"price": seat.id, "quantity": 2}],
            "payment_behavior": "default_incomplete",
        }
    )
    assert sub.status == "incomplete"
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (invoice.status, invoice.amount_due, invoice.attempt_count) == ("open", 2000, 0)
    await client.v1.invoices.pay_async(invoice.id, params={"payment_method": card.id})
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "active"


async def test_create_error_if_incomplete_creates_nothing(client: stripe.StripeClient) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    await save_card(client, customer.id, "pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as err:
        await client.v1.subscriptions.create_async(
            params={
                "customer": customer.id,
                "items": [{"price": seat.id}],
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert err.value.http_status == 402
    subs = await client.v1.subscriptions.list_async(
        params={"customer": customer.id, "status": "all"}
    )
    assert subs.data == []
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.subscriptions.create_async(
            params={
                "customer": customer.id,
                "items": [{"price": seat.id}],
                "payment_behavior": "pending_if_incomplete",
            }
        )


# ---- 3D Secure -----------------------------------------------------------------------------


async def test_three_d_secure_card_needs_authentication_off_session(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    card = await save_card(client, customer.id, "pm_card_threeDSecure2Required")
    sub = await client.v1.subscriptions.create_async(
        params={"customer": customer.id, "items": [{"price": seat.id}]}
    )
    assert sub.status == "incomplete"
    invoice_id = str(sub.latest_invoice)
    with pytest.raises(stripe.CardError) as err:
        await client.v1.invoices.pay_async(invoice_id, params={"payment_method": card.id})
    assert (err.value.http_status, err.value.code) == (402, "authentication_required")
    invoice = await client.v1.invoices.retrieve_async(invoice_id)
    assert invoice.status == "open" and invoice.next_payment_attempt is None
    types = [e.type for e in await events_for(client, customer.id)]
    assert "invoice.payment_action_required" in types


async def test_three_d_secure_card_authenticates_on_the_checkout_page_then_fails_renewals(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    clock, customer = await clock_customer(client)
    sub = await subscribe(
        client, customer, [(seat.id, 1)], payment_method="pm_card_threeDSecure2Required"
    )
    assert sub.status == "active"
    await advance(client, clock.id, MAY_1 + HOUR)
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.status == "past_due"
    renewal = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    # Stripe does not retry a payment that needs the customer to authenticate.
    assert renewal.status == "open" and renewal.next_payment_attempt is None


async def test_new_objects_have_only_fixture_fields(
    client: stripe.StripeClient, fixtures: dict[str, Any]
) -> None:
    _, sub, item = await seats_with_failing_card(client)
    updated = await client.v1.subscriptions.update_async(
        sub.id, params=third_seat(item, "pending_if_incomplete")
    )
    card = await client.v1.payment_methods.retrieve_async(str(updated.default_payment_method))
    await client.v1.invoices.pay_async(
        str(updated.latest_invoice), params={"payment_method": "pm_card_visa"}
    )
    seen: list[Any] = [updated.to_dict(), card.to_dict()]
    seen += [e.to_dict() for e in await events_for(client, str(sub.customer))]
    errors: list[str] = []
    for obj in seen:
        walk(obj, fixtures, None, "", "", errors)
    assert sorted(set(errors)) == []
