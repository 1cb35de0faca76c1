"""Stripe's test payment method tokens and how their payments behave."""

from __future__ import annotations

from stripe_emulator.protocol import Obj, invalid
from stripe_emulator.store import State, new_id

TOKENS = {
    "pm_card_visa": "ok",
    "pm_card_mastercard": "ok",
    "pm_card_amex": "ok",
    "pm_card_chargeDeclined": "decline",
    "pm_card_chargeDeclinedInsufficientFunds": "decline",
    "pm_card_chargeCustomerFail": "customer_fail",
}


def attach(state: State, cust: Obj, token: str, param: str = "payment_method") -> str:
    """Attach a test card to the customer as its default; returns the ``pm_`` id."""
    if token in state.payment_methods:
        pm_id = token
    elif token in TOKENS:
        pm_id = new_id("pm_")
        state.payment_methods[pm_id] = TOKENS[token]
    else:
        raise invalid(param, f"No such PaymentMethod: '{token}'")
    cust["invoice_settings"]["default_payment_method"] = pm_id
    return pm_id
