"""What paying an invoice leaves behind (a PaymentIntent and an invoice payment) and refunds.

Since API version 2025-03-31.basil an invoice no longer names its charge or PaymentIntent:
the ``invoice_payment`` object links an invoice to the PaymentIntent that paid it
(https://docs.stripe.com/changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices).
A refund is made against that PaymentIntent (``POST /v1/refunds``); the invoice stays ``paid``.
"""

from __future__ import annotations

from stripe_emulator import objects
from stripe_emulator.events import emit
from stripe_emulator.money import format_amount
from stripe_emulator.protocol import Obj, StripeError
from stripe_emulator.store import State

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _intent_for(inv: Obj, pm_id: str | None, now: int) -> Obj:
    """A PaymentIntent for the invoice's amount due, from its customer."""
    return objects.payment_intent(
        now,
        amount=int(inv["amount_due"]),
        currency=str(inv["currency"]),
        customer_id=str(inv["customer"]),
        pm_id=pm_id,
    )


def open_invoice_intent(state: State, inv: Obj, pm_id: str | None, now: int) -> Obj:
    """The PaymentIntent Stripe creates when it finalizes an invoice it does not charge at once
    (``payment_behavior=default_incomplete``): ``requires_payment_method`` (or
    ``requires_confirmation`` with the default card), its client secret the invoice's
    ``confirmation_secret``, linked by an ``open`` invoice payment
    (https://docs.stripe.com/api/invoices/object#invoice_object-confirmation_secret)."""
    pi = _intent_for(inv, pm_id, now)
    pi["status"] = "requires_confirmation" if pm_id else "requires_payment_method"
    pi["amount_received"] = 0
    pi["_invoice"] = inv["id"]
    state.add(pi)
    emit(state, "payment_intent.created", pi, now=now)
    inpay = objects.invoice_payment(now, inv=inv, pi=pi)
    inpay["status"] = "open"
    inpay["amount_paid"] = None
    inpay["status_transitions"]["paid_at"] = None
    state.add(inpay)
    inv["_intent"] = pi["id"]
    inv["_invoice_payment"] = inpay["id"]
    return pi


def confirmation_secret(state: State, inv: Obj) -> Obj | None:
    """``invoice.confirmation_secret`` (returned only when expanded)."""
    pi = state.objects.get(str(inv.get("_intent")))
    if pi is None:
        return None
    return {"client_secret": pi["client_secret"], "type": "payment_intent"}


def record_invoice_payment(state: State, inv: Obj, pm_id: str | None, now: int) -> Obj:
    """The invoice was just paid with ``amount_due`` (> 0) by card ``pm_id``: record the
    succeeded PaymentIntent and the invoice payment that links it to the invoice (the
    invoice's open PaymentIntent, when finalizing made one)."""
    opened = state.objects.get(str(inv.get("_intent")))
    if opened is not None and opened["status"] != "succeeded":
        opened.update(
            status="succeeded",
            amount_received=opened["amount"],
            payment_method=pm_id or opened["payment_method"],
            next_action=None,
            last_payment_error=None,
        )
        emit(state, "payment_intent.succeeded", opened, now=now)
        inpay = state.objects[str(inv["_invoice_payment"])]
        inpay.update(status="paid", amount_paid=opened["amount"])
        inpay["status_transitions"]["paid_at"] = now
        emit(state, "invoice_payment.paid", inpay, now=now)
        return inpay
    pi = _intent_for(inv, pm_id, now)
    state.add(pi)
    emit(state, "payment_intent.created", pi, now=now)
    emit(state, "payment_intent.succeeded", pi, now=now)
    inpay = objects.invoice_payment(now, inv=inv, pi=pi)
    state.add(inpay)
    inv["_intent"] = pi["id"]
    inv["_invoice_payment"] = inpay["id"]
    emit(state, "invoice_payment.paid", inpay, now=now)
    return inpay


def unrefunded(pi: Obj) -> int:
    return int(pi["amount_received"]) - int(pi.get("_refunded", 0))


def refund(
    state: State, pi: Obj, amount: int | None, reason: str | None, metadata: Obj, now: int
) -> Obj:
    """Refund ``amount`` (default: all that is left) of a succeeded PaymentIntent.

    Stripe refuses a refund of a payment already refunded in full (``charge_already_refunded``)
    and one larger than what is left (``amount_too_large``); the invoice is not changed.
    """
    left = unrefunded(pi)
    if pi["status"] != "succeeded":
        raise StripeError(
            400,
            f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
            param="payment_intent",
        )
    if left <= 0:
        raise StripeError(
            400,
            f"The charge of PaymentIntent {pi['id']} has already been refunded.",
            code="charge_already_refunded",
        )
    if amount is None:
        amount = left
    if amount < 1:
        raise StripeError(
            400,
            "Invalid positive integer",
            code="parameter_invalid_integer",
            param="amount",
        )
    if amount > left:
        currency = str(pi["currency"])
        raise StripeError(
            400,
            f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded "
            f"amount on charge ({format_amount(left, currency)})",
            code="amount_too_large",
            param="amount",
        )
    if reason is not None and reason not in REFUND_REASONS:
        raise StripeError(
            400,
            f"Invalid reason: must be one of {', '.join(REFUND_REASONS[:-1])}, or "
            f"{REFUND_REASONS[-1]}",
            code="parameter_invalid_string",
            param="reason",
        )
    pi["_refunded"] = int(pi.get("_refunded", 0)) + amount
    made = objects.refund(now, pi=pi, amount=amount, reason=reason, metadata=metadata)
    state.add(made)
    emit(state, "refund.created", made, now=now)
    return made
