"""Confirming PaymentIntents (an invoice's, left open by ``default_incomplete``) and
SetupIntents, with the test cards' outcomes and 3D Secure.

- A PaymentIntent confirmed with a card that needs authentication
  (``pm_card_threeDSecure2Required``) while the customer is present goes to
  ``requires_action`` with ``next_action.type = use_stripe_sdk``: Stripe.js shows the
  challenge (https://docs.stripe.com/payments/paymentintents/lifecycle,
  https://docs.stripe.com/testing#regulatory-cards). Off-session it fails with
  ``authentication_required``. The emulator-only helper ``authenticate`` stands for the
  customer passing (or failing) the challenge.
- A confirmed payment of an invoice's PaymentIntent pays the invoice; a subscription left
  ``incomplete`` by it becomes ``active``
  (https://docs.stripe.com/billing/subscriptions/overview#payment-status).
- A SetupIntent (https://docs.stripe.com/api/setup_intents/object) saves a card for later
  (``usage=off_session`` by default): confirming it verifies the card (a declining card gives
  ``requires_payment_method`` with ``last_setup_error``; a 3D Secure card ``requires_action``)
  and, once ``succeeded``, attaches it to the SetupIntent's customer.
"""

from __future__ import annotations

from stripe_emulator import billing, objects, payment_methods, payments
from stripe_emulator.events import emit, emit_update
from stripe_emulator.protocol import Obj, StripeError, merge_metadata
from stripe_emulator.store import State, new_id

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
SETUP_USAGES = ("off_session", "on_session")


def _next_action(client_secret: str) -> Obj:
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect", "source": client_secret},
    }


def _error_fields(result: payment_methods.Outcome, pm_id: str | None) -> Obj:
    return {
        "code": result.code,
        "decline_code": result.decline_code,
        "message": result.message,
        "payment_method": {"id": pm_id} if pm_id else None,
        "type": result.type,
    }


def _unexpected(kind: str, obj: Obj) -> StripeError:
    return StripeError(
        400,
        f"You cannot confirm this {kind} because it has a status of {obj['status']}.",
        code=f"{'payment' if kind == 'PaymentIntent' else 'setup'}_intent_unexpected_state",
    )


def _payment_method(state: State, cust_id: str | None, ident: str) -> str:
    """A test token becomes a new card (attached to the customer, as confirming with
    ``setup_future_usage`` would); an id must be the customer's."""
    cust = state.objects.get(str(cust_id)) if cust_id else None
    if ident in payment_methods.TOKENS:
        pm = payment_methods.resolve(state, ident)
        if cust is not None:
            payment_methods.attach(state, pm, cust, check=False)
        return str(pm["id"])
    pm = payment_methods.resolve(state, ident)
    if cust is not None and pm["customer"] not in (None, cust["id"]):
        raise payment_methods.no_such(ident, "payment_method")
    return str(pm["id"])


def confirm_payment(
    state: State,
    pi: Obj,
    pm_ident: str | None,
    now: int,
    *,
    off_session: bool = False,
    authenticated: bool = False,
) -> Obj:
    """``POST /v1/payment_intents/{id}/confirm``: charge the card; a 3D Secure card on-session
    waits in ``requires_action``; a decline is Stripe's 402 card error and the intent goes back
    to ``requires_payment_method``."""
    if pi["status"] not in CONFIRMABLE:
        raise _unexpected("PaymentIntent", pi)
    if pm_ident:
        pi["payment_method"] = _payment_method(state, pi["customer"], pm_ident)
    pm_id = pi["payment_method"]
    if not pm_id:
        raise StripeError(
            400,
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "To confirm the PaymentIntent with a saved card, pass a payment_method.",
            code="payment_intent_unexpected_state",
        )
    behaviour = payment_methods.behaviour_of(state, str(pm_id))
    inv = state.objects.get(str(pi.get("_invoice")))
    if behaviour == payment_methods.AUTHENTICATION and not authenticated and not off_session:
        pi["status"] = "requires_action"
        pi["next_action"] = _next_action(str(pi["client_secret"]))
        emit(state, "payment_intent.requires_action", pi, now=now)
        if inv is not None:
            emit(state, "invoice.payment_action_required", inv, now=now)
        return pi
    result = (
        payment_methods.PAID
        if authenticated
        else payment_methods.outcome(behaviour, on_session=not off_session)
    )
    if not result.ok:
        pi["status"] = "requires_payment_method"
        pi["next_action"] = None
        pi["last_payment_error"] = _error_fields(result, str(pm_id))
        emit(state, "payment_intent.payment_failed", pi, now=now)
        if inv is not None:
            inv["attempt_count"] = int(inv["attempt_count"]) + 1
            inv["attempted"] = True
            emit(state, "invoice.payment_failed", inv, now=now)
        raise result.error()
    if inv is None:
        pi.update(status="succeeded", amount_received=pi["amount"], next_action=None)
        emit(state, "payment_intent.succeeded", pi, now=now)
        return pi
    _pay_invoice(state, inv, str(pm_id), now)
    return pi


def _pay_invoice(state: State, inv: Obj, pm_id: str, now: int) -> None:
    sub = billing.subscription_of(state, inv)
    before = objects.snapshot(state, sub) if sub is not None else None
    payments.record_invoice_payment(state, inv, pm_id, now)
    billing.mark_paid(state, inv, now)
    if sub is None or before is None:
        return
    if sub["status"] in ("incomplete", "past_due") and not billing.open_invoices(state, sub):
        sub["status"] = "active"
    emit_update(state, "customer.subscription.updated", sub, before)


def authenticate(state: State, pi: Obj, now: int, *, succeed: bool) -> Obj:
    """Test helper: the customer completes (or fails) the 3D Secure challenge."""
    if pi["status"] != "requires_action":
        raise _unexpected("PaymentIntent", pi)
    if succeed:
        return confirm_payment(state, pi, None, now, authenticated=True)
    failed = payment_methods.Outcome(
        False,
        code="payment_intent_authentication_failure",
        message="The provided PaymentMethod has failed authentication. You can provide "
        "payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent "
        "again.",
        status=400,
        type="invalid_request_error",
    )
    pi["status"] = "requires_payment_method"
    pi["next_action"] = None
    pi["last_payment_error"] = _error_fields(failed, pi["payment_method"])
    emit(state, "payment_intent.payment_failed", pi, now=now)
    return pi


# ---- SetupIntents ---------------------------------------------------------------------


def setup_intent(now: int, *, customer_id: str | None, usage: str, metadata: Obj) -> Obj:
    seti_id = new_id("seti_")
    return {
        "id": seti_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": f"{seti_id}_secret_{new_id('', 25)}",
        "created": now,
        "customer": customer_id,
        "description": None,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": merge_metadata({}, metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": usage,
    }


def confirm_setup(
    state: State, seti: Obj, pm_ident: str | None, now: int, *, authenticated: bool = False
) -> Obj:
    """``POST /v1/setup_intents/{id}/confirm``: verify the card and save it to the customer."""
    if seti["status"] not in CONFIRMABLE:
        raise _unexpected("SetupIntent", seti)
    if pm_ident:
        pm = payment_methods.resolve(state, pm_ident)
        seti["payment_method"] = pm["id"]
    pm_id = seti["payment_method"]
    if not pm_id:
        raise StripeError(
            400,
            "You cannot confirm this SetupIntent because it's missing a payment method.",
            code="setup_intent_unexpected_state",
        )
    behaviour = payment_methods.behaviour_of(state, str(pm_id))
    if behaviour == payment_methods.AUTHENTICATION and not authenticated:
        seti["status"] = "requires_action"
        seti["next_action"] = _next_action(str(seti["client_secret"]))
        emit(state, "setup_intent.requires_action", seti, now=now)
        return seti
    result = payment_methods.PAID if authenticated else payment_methods.outcome(behaviour)
    if not result.ok:
        seti["status"] = "requires_payment_method"
        seti["next_action"] = None
        seti["last_setup_error"] = _error_fields(result, str(pm_id))
        emit(state, "setup_intent.setup_failed", seti, now=now)
        raise result.error()
    cust = state.objects.get(str(seti["customer"])) if seti["customer"] else None
    if cust is not None:
        payment_methods.attach(state, state.objects[str(pm_id)], cust, check=False)
    seti.update(status="succeeded", next_action=None, last_setup_error=None)
    emit(state, "setup_intent.succeeded", seti, now=now)
    return seti


def authenticate_setup(state: State, seti: Obj, now: int) -> Obj:
    """Test helper: the customer passed the SetupIntent's 3D Secure challenge."""
    if seti["status"] != "requires_action":
        raise _unexpected("SetupIntent", seti)
    return confirm_setup(state, seti, None, now, authenticated=True)
