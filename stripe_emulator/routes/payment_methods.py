"""/v1/payment_methods and /v1/customers/{id}/payment_methods."""

from __future__ import annotations

from stripe_emulator import objects, payment_methods
from stripe_emulator.protocol import Obj, StripeError, get_str, paginate, req_str
from stripe_emulator.routes.core import Ctx, Router


def retrieve(ctx: Ctx) -> Obj:
    return objects.render(ctx.state, payment_methods.resolve(ctx.state, ctx.arg, "id"))


def attach(ctx: Ctx) -> Obj:
    state = ctx.state
    cust = state.get(req_str(ctx.params, "customer"), "customer", "customer")
    pm = payment_methods.resolve(state, ctx.arg, "id")
    return objects.render(state, payment_methods.attach(state, pm, cust))


def detach(ctx: Ctx) -> Obj:
    pm = payment_methods.resolve(ctx.state, ctx.arg, "id")
    return objects.render(ctx.state, payment_methods.detach(ctx.state, pm))


def _listed(ctx: Ctx, customer_id: str, url: str) -> Obj:
    found = payment_methods.attached_to(ctx.state, customer_id)
    kind = get_str(ctx.params, "type")
    if kind:
        found = [pm for pm in found if pm["type"] == kind]
    return paginate(found, ctx.params, url, lambda o: objects.render(ctx.state, o))


def list_(ctx: Ctx) -> Obj:
    customer = get_str(ctx.params, "customer")
    if not customer:
        # Without a customer Stripe lists Treasury payment methods, which the emulator has not.
        return paginate([], ctx.params, "/v1/payment_methods")
    ctx.state.get(customer, "customer", "customer")
    return _listed(ctx, customer, "/v1/payment_methods")


def list_for_customer(ctx: Ctx) -> Obj:
    cust = ctx.state.get(ctx.arg, "customer")
    return _listed(ctx, cust["id"], f"/v1/customers/{cust['id']}/payment_methods")


def retrieve_for_customer(ctx: Ctx) -> Obj:
    cust = ctx.state.get(ctx.args[0], "customer")
    pm = ctx.state.objects.get(ctx.args[1])
    if pm is None or pm.get("object") != "payment_method" or pm["customer"] != cust["id"]:
        raise StripeError(
            404,
            f"No such PaymentMethod: '{ctx.args[1]}'",
            code="resource_missing",
            param="payment_method",
        )
    return objects.render(ctx.state, pm)


def register(r: Router) -> None:
    r.add("GET", "/v1/payment_methods", list_)
    r.add("GET", "/v1/payment_methods/{id}", retrieve)
    r.add("POST", "/v1/payment_methods/{id}/attach", attach)
    r.add("POST", "/v1/payment_methods/{id}/detach", detach)
    r.add("GET", "/v1/customers/{id}/payment_methods", list_for_customer)
    r.add("GET", "/v1/customers/{id}/payment_methods/{pm}", retrieve_for_customer)
