"""Stripe's test payment method tokens, payment method objects, and how their payments go.

A token such as ``pm_card_visa`` stands for a new card each time it is used: Stripe creates a
new ``pm_...`` object from it (https://docs.stripe.com/testing). ``state.payment_methods``
maps every created ``pm_`` id to its behaviour; the objects live in ``state.objects``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from stripe_emulator.events import emit
from stripe_emulator.protocol import Obj, StripeError
from stripe_emulator.store import State, new_id

OK = "ok"
DECLINE = "decline"
INSUFFICIENT_FUNDS = "insufficient_funds"
CUSTOMER_FAIL = "customer_fail"
AUTHENTICATION = "authentication_required"
NONE = "none"


@dataclass(frozen=True)
class TestCard:
    behaviour: str
    brand: str
    last4: str


# https://docs.stripe.com/testing: cards by brand, declined payments, 3D Secure.
TOKENS: dict[str, TestCard] = {
    "pm_card_visa": TestCard(OK, "visa", "4242"),
    "pm_card_mastercard": TestCard(OK, "mastercard", "4444"),
    "pm_card_amex": TestCard(OK, "amex", "0005"),
    "pm_card_visa_chargeDeclined": TestCard(DECLINE, "visa", "0002"),
    "pm_card_chargeDeclined": TestCard(DECLINE, "visa", "0002"),
    "pm_card_visa_chargeDeclinedInsufficientFunds": TestCard(INSUFFICIENT_FUNDS, "visa", "9995"),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard(INSUFFICIENT_FUNDS, "visa", "9995"),
    "pm_card_chargeCustomerFail": TestCard(CUSTOMER_FAIL, "visa", "0341"),
    "pm_card_threeDSecure2Required": TestCard(AUTHENTICATION, "visa", "3220"),
}


@dataclass(frozen=True)
class Outcome:
    """What one charge attempt did: paid, or failed with Stripe's error fields."""

    ok: bool
    status: int = 402
    type: str = "card_error"
    code: str | None = None
    decline_code: str | None = None
    message: str = ""

    def error(self) -> StripeError:
        return StripeError(
            self.status,
            self.message,
            type_=self.type,
            code=self.code,
            decline_code=self.decline_code,
        )


PAID = Outcome(True)
DECLINED = Outcome(
    False, code="card_declined", decline_code="generic_decline", message="Your card was declined."
)
NO_FUNDS = Outcome(
    False,
    code="card_declined",
    decline_code="insufficient_funds",
    message="Your card has insufficient funds.",
)
NEEDS_AUTHENTICATION = Outcome(
    False,
    code="authentication_required",
    decline_code="authentication_required",
    message="Your card was declined. This transaction requires authentication.",
)
NO_PAYMENT_METHOD = Outcome(
    False,
    status=400,
    type="invalid_request_error",
    code=None,
    message="This customer has no attached payment source or default payment method. "
    "Please consider adding a default payment method.",
)


def outcome(behaviour: str, *, on_session: bool = False) -> Outcome:
    """The result of charging a card with this behaviour (``on_session``: the customer is
    present and completes 3D Secure, as on the Checkout page)."""
    if behaviour == OK:
        return PAID
    if behaviour in (DECLINE, CUSTOMER_FAIL):
        return DECLINED
    if behaviour == INSUFFICIENT_FUNDS:
        return NO_FUNDS
    if behaviour == AUTHENTICATION:
        return PAID if on_session else NEEDS_AUTHENTICATION
    return NO_PAYMENT_METHOD


def behaviour_of(state: State, pm_id: str | None) -> str:
    return state.payment_methods.get(str(pm_id), NONE) if pm_id else NONE


def _object(state: State, token: str, card: TestCard, now: int) -> Obj:
    when = datetime.fromtimestamp(now, UTC)
    pm_id = new_id("pm_")
    return {
        "id": pm_id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "unchecked",
            },
            "country": "US",
            "display_brand": card.brand,
            "exp_month": when.month,
            "exp_year": when.year + 1,
            "fingerprint": hashlib.sha256(token.encode()).hexdigest()[:16],
            "funding": "credit",
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "regulated_status": None,
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now,
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def no_such(ident: str, param: str | None) -> StripeError:
    return StripeError(
        404,
        f"No such PaymentMethod: '{ident}'",
        code="resource_missing",
        param=param,
    )


def resolve(state: State, ident: str, param: str | None = "payment_method") -> Obj:
    """A stored payment method by id, or a new one made from a test token."""
    card = TOKENS.get(ident)
    if card is not None:
        pm = _object(state, ident, card, state.real_now())
        state.add(pm)
        state.payment_methods[pm["id"]] = card.behaviour
        return pm
    found = state.objects.get(ident)
    if found is None or found.get("object") != "payment_method":
        raise no_such(ident, param)
    return found


def attach(state: State, pm: Obj, cust: Obj, *, check: bool = True) -> Obj:
    """Attach to the customer (https://docs.stripe.com/api/payment_methods/attach).

    ``check``: the card is verified as Stripe does when it is saved, so a card that declines
    every charge is refused here; ``pm_card_chargeCustomerFail`` attaches and fails later.
    """
    if pm.get("_detached"):
        raise StripeError(
            400,
            "This PaymentMethod was previously used without being attached to a Customer or was "
            "detached from a Customer, and may not be used again.",
            param="payment_method",
        )
    if pm["customer"] == cust["id"]:
        return pm
    if pm["customer"] is not None:
        raise StripeError(
            400,
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
        )
    behaviour = behaviour_of(state, pm["id"])
    if check and behaviour in (DECLINE, INSUFFICIENT_FUNDS):
        raise outcome(behaviour).error()
    pm["customer"] = cust["id"]
    emit(state, "payment_method.attached", pm, now=state.customer_now(cust["id"]))
    return pm


def attach_token(
    state: State, cust: Obj, ident: str, param: str = "payment_method", *, check: bool = True
) -> Obj:
    return attach(state, resolve(state, ident, param), cust, check=check)


def detach(state: State, pm: Obj) -> Obj:
    """Detach (https://docs.stripe.com/api/payment_methods/detach): it can no longer be used."""
    cust_id = pm["customer"]
    if cust_id is None:
        raise StripeError(
            400,
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            param="payment_method",
        )
    cust = state.objects.get(str(cust_id))
    if cust is not None and cust["invoice_settings"].get("default_payment_method") == pm["id"]:
        cust["invoice_settings"]["default_payment_method"] = None
    for sub in state.all("subscription"):
        if sub.get("default_payment_method") == pm["id"]:
            sub["default_payment_method"] = None
    pm["customer"] = None
    pm["_detached"] = True
    emit(state, "payment_method.detached", pm, now=state.customer_now(str(cust_id)))
    return pm


def owned(state: State, cust: Obj, ident: str, param: str) -> str:
    """The id of a payment method attached to ``cust``; Stripe's error otherwise."""
    pm = state.objects.get(ident)
    if pm is None or pm.get("object") != "payment_method":
        raise no_such(ident, param)
    if pm["customer"] != cust["id"]:
        raise StripeError(
            400,
            f"The customer does not have a payment method with the ID {ident}. The payment "
            "method must be attached to the customer.",
            code="resource_missing",
            param=param,
        )
    return ident


def attached_to(state: State, cust_id: str) -> list[Obj]:
    return [pm for pm in state.all("payment_method") if pm["customer"] == cust_id]
