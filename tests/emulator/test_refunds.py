"""A paid subscription invoice is refunded the 2025+ way: invoice -> invoice payment ->
PaymentIntent -> refund, all through the SDK over HTTP."""

from __future__ import annotations

import pytest
import stripe

from tests.emulator.helpers import clock_customer, events_for, price, subscribe


async def paid_first_invoice(
    client: stripe.StripeClient,
) -> tuple[stripe.Subscription, stripe.Invoice, stripe.InvoicePayment, stripe.PaymentIntent]:
    """A customer checks out 1 base (5000) + 3 seats (1000 each) with pm_card_visa."""
    base = await price(client, 5000, name="Base")
    seat = await price(client, 1000, name="Seat")
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(base.id, 1), (seat.id, 3)])
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    payments = await client.v1.invoice_payments.list_async(params={"invoice": invoice.id})
    assert len(payments.data) == 1
    inpay = payments.data[0]
    pi = await client.v1.payment_intents.retrieve_async(str(inpay.payment.payment_intent))
    return sub, invoice, inpay, pi


async def refused(call: object) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as err:
        await call  # type: ignore[misc]
    assert err.value.http_status == 400
    return err.value


async def test_the_first_invoice_has_one_payment_whose_intent_succeeded_for_the_amount_paid(
    client: stripe.StripeClient,
) -> None:
    sub, invoice, inpay, pi = await paid_first_invoice(client)
    assert invoice.status == "paid" and invoice.amount_paid == 8000
    assert inpay.id.startswith("inpay_") and inpay.invoice == invoice.id
    assert inpay.is_default and inpay.status == "paid"
    assert (inpay.amount_paid, inpay.amount_requested, inpay.currency) == (8000, 8000, "usd")
    assert inpay.payment.type == "payment_intent"
    assert inpay.status_transitions.paid_at == invoice.status_transitions.paid_at
    assert pi.id.startswith("pi_") and pi.status == "succeeded"
    assert (pi.amount, pi.amount_received, pi.currency) == (8000, 8000, "usd")
    assert pi.customer == sub.customer
    assert pi.payment_method == sub.default_payment_method
    again = await client.v1.invoice_payments.retrieve_async(inpay.id)
    assert again.to_dict() == inpay.to_dict()
    by_intent = await client.v1.invoice_payments.list_async(
        params={"payment": {"type": "payment_intent", "payment_intent": pi.id}}
    )
    assert [p.id for p in by_intent.data] == [inpay.id]
    types = [e.type for e in await events_for(client, str(sub.customer))]
    for expected in ("payment_intent.created", "payment_intent.succeeded", "invoice.paid"):
        assert expected in types
    assert "invoice_payment.paid" in [e.type for e in await events_for(client, inpay.id)]


async def test_a_full_refund_succeeds_once_and_the_invoice_stays_paid(
    client: stripe.StripeClient,
) -> None:
    sub, invoice, _, pi = await paid_first_invoice(client)
    refund = await client.v1.refunds.create_async(
        params={
            "payment_intent": pi.id,
            "reason": "requested_by_customer",
            "metadata": {"workspace": "w1"},
        }
    )
    assert refund.id.startswith("re_") and refund.status == "succeeded"
    assert (refund.amount, refund.currency) == (8000, "usd")
    assert refund.payment_intent == pi.id and refund.customer == sub.customer
    assert refund.reason == "requested_by_customer" and refund.to_dict()["metadata"] == {
        "workspace": "w1"
    }
    assert (await client.v1.refunds.retrieve_async(refund.id)).to_dict() == refund.to_dict()
    listed = await client.v1.refunds.list_async(params={"payment_intent": pi.id})
    assert [r.id for r in listed.data] == [refund.id]
    assert [e.type for e in await events_for(client, refund.id)] == ["refund.created"]

    err = await refused(client.v1.refunds.create_async(params={"payment_intent": pi.id}))
    assert err.code == "charge_already_refunded"
    err = await refused(
        client.v1.refunds.create_async(params={"payment_intent": pi.id, "amount": 1})
    )
    assert err.code == "charge_already_refunded"
    assert len((await client.v1.refunds.list_async(params={"payment_intent": pi.id})).data) == 1

    # Stripe does not reopen or change an invoice whose payment was refunded.
    after = await client.v1.invoices.retrieve_async(invoice.id)
    assert (after.status, after.amount_paid, after.amount_remaining) == ("paid", 8000, 0)


async def test_a_partial_refund_then_the_rest(client: stripe.StripeClient) -> None:
    _, _, _, pi = await paid_first_invoice(client)
    first = await client.v1.refunds.create_async(params={"payment_intent": pi.id, "amount": 3000})
    assert (first.amount, first.status) == (3000, "succeeded")
    err = await refused(
        client.v1.refunds.create_async(params={"payment_intent": pi.id, "amount": 5001})
    )
    assert (err.code, err.param) == ("amount_too_large", "amount")
    assert err.user_message == (
        "Refund amount ($50.01) is greater than unrefunded amount on charge ($50.00)"
    )
    rest = await client.v1.refunds.create_async(params={"payment_intent": pi.id})
    assert (rest.amount, rest.status) == (5000, "succeeded")
    listed = await client.v1.refunds.list_async(params={"payment_intent": pi.id})
    assert [r.amount for r in listed.data] == [5000, 3000]  # newest first
    err = await refused(client.v1.refunds.create_async(params={"payment_intent": pi.id}))
    assert err.code == "charge_already_refunded"


async def test_refunds_are_refused_as_stripe_refuses_them(client: stripe.StripeClient) -> None:
    _, _, _, pi = await paid_first_invoice(client)
    err = await refused(client.v1.refunds.create_async(params={"reason": "duplicate"}))
    assert err.code == "parameter_missing"
    err = await refused(
        client.v1.refunds.create_async(params={"payment_intent": pi.id, "amount": 0})
    )
    assert err.param == "amount"
    err = await refused(
        client.v1.refunds.create_async(params={"payment_intent": pi.id, "reason": "changed_mind"})
    )
    assert (err.code, err.param) == ("parameter_invalid_string", "reason")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await client.v1.refunds.create_async(params={"payment_intent": "pi_nope"})
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    assert (await client.v1.payment_intents.retrieve_async(pi.id)).amount_received == 8000
    assert (await client.v1.refunds.list_async(params={"payment_intent": pi.id})).data == []


async def test_a_free_invoice_has_no_payment(client: stripe.StripeClient) -> None:
    free = await price(client, 0, name="Free")
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(free.id, 1)])
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert invoice.status == "paid" and invoice.amount_paid == 0
    payments = await client.v1.invoice_payments.list_async(params={"invoice": invoice.id})
    assert payments.data == []


async def test_an_invoice_paid_after_a_decline_has_one_payment_with_the_new_card(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)], payment_method="pm_card_chargeDeclined")
    invoice_id = str(sub.latest_invoice)
    assert (await client.v1.invoice_payments.list_async(params={"invoice": invoice_id})).data == []
    paid = await client.v1.invoices.pay_async(invoice_id, params={"payment_method": "pm_card_visa"})
    assert paid.status == "paid"
    payments = await client.v1.invoice_payments.list_async(params={"invoice": invoice_id})
    assert [p.amount_paid for p in payments.data] == [2000]
    pi = await client.v1.payment_intents.retrieve_async(
        str(payments.data[0].payment.payment_intent)
    )
    card = await client.v1.payment_methods.retrieve_async(str(pi.payment_method))
    assert card.customer == customer.id and card.card is not None
