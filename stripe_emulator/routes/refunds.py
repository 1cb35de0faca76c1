"""/v1/payment_intents (retrieve, list), /v1/invoice_payments (retrieve, list), /v1/refunds."""

from __future__ import annotations

from stripe_emulator import objects, payments
from stripe_emulator.protocol import (
    Obj,
    StripeError,
    get_dict,
    get_int,
    get_str,
    merge_metadata,
    not_found,
    paginate,
)
from stripe_emulator.routes.core import Ctx, Router


def list_payment_intents(ctx: Ctx) -> Obj:
    found = ctx.state.all("payment_intent")
    customer = get_str(ctx.params, "customer")
    if customer:
        found = [pi for pi in found if pi["customer"] == customer]
    return paginate(
        found, ctx.params, "/v1/payment_intents", lambda o: objects.render(ctx.state, o)
    )


def list_invoice_payments(ctx: Ctx) -> Obj:
    """An invoice's payments (``invoice``), or those of a PaymentIntent
    (``payment[type]=payment_intent&payment[payment_intent]=pi_...``)."""
    p = ctx.params
    found = ctx.state.all("invoice_payment")
    invoice = get_str(p, "invoice")
    if invoice:
        found = [ip for ip in found if ip["invoice"] == invoice]
    payment = get_dict(p, "payment")
    kind = get_str(payment, "type")
    if kind:
        found = [ip for ip in found if ip["payment"]["type"] == kind]
    pi_id = get_str(payment, "payment_intent")
    if pi_id:
        found = [ip for ip in found if ip["payment"].get("payment_intent") == pi_id]
    status = get_str(p, "status")
    if status:
        found = [ip for ip in found if ip["status"] == status]
    return paginate(found, p, "/v1/invoice_payments", lambda o: objects.render(ctx.state, o))


def create_refund(ctx: Ctx) -> Obj:
    state, p = ctx.state, ctx.params
    pi_id = get_str(p, "payment_intent")
    charge = get_str(p, "charge")
    if charge:
        # Charges are not emulated: no charge id exists to refund.
        raise not_found("charge", charge, "charge")
    if not pi_id:
        raise StripeError(
            400,
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
        )
    pi = state.get(pi_id, "payment_intent", "payment_intent")
    made = payments.refund(
        state,
        pi,
        get_int(p, "amount"),
        get_str(p, "reason"),
        merge_metadata({}, p.get("metadata")),
        ctx.now(str(pi["customer"])),
    )
    return objects.render(state, made)


def update_refund(ctx: Ctx) -> Obj:
    made = ctx.state.get(ctx.arg, "refund")
    if "metadata" in ctx.params:
        made["metadata"] = merge_metadata(made["metadata"], ctx.params["metadata"])
    return objects.render(ctx.state, made)


def list_refunds(ctx: Ctx) -> Obj:
    found = ctx.state.all("refund")
    pi_id = get_str(ctx.params, "payment_intent")
    if pi_id:
        ctx.state.get(pi_id, "payment_intent", "payment_intent")
        found = [r for r in found if r["payment_intent"] == pi_id]
    charge = get_str(ctx.params, "charge")
    if charge:
        raise not_found("charge", charge, "charge")
    return paginate(found, ctx.params, "/v1/refunds", lambda o: objects.render(ctx.state, o))


def register(r: Router) -> None:
    r.add("GET", "/v1/payment_intents", list_payment_intents)
    r.retrieve("/v1/payment_intents/{id}", "payment_intent")
    r.add("GET", "/v1/invoice_payments", list_invoice_payments)
    r.retrieve("/v1/invoice_payments/{id}", "invoice_payment")
    r.add("POST", "/v1/refunds", create_refund)
    r.add("GET", "/v1/refunds", list_refunds)
    r.retrieve("/v1/refunds/{id}", "refund")
    r.add("POST", "/v1/refunds/{id}", update_refund)
