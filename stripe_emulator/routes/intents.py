"""/v1/setup_intents, POST /v1/payment_intents/{id}/confirm and the emulator-only helpers
that stand for the customer passing a 3D Secure challenge."""

from __future__ import annotations

from stripe_emulator import intents, objects, payment_methods
from stripe_emulator.events import emit
from stripe_emulator.protocol import (
    Obj,
    StripeError,
    get_bool,
    get_list,
    get_str,
    invalid,
    paginate,
)
from stripe_emulator.routes.core import Ctx, Router


def confirm_payment(ctx: Ctx) -> Obj:
    pi = ctx.state.get(ctx.arg, "payment_intent")
    confirmed = intents.confirm_payment(
        ctx.state,
        pi,
        get_str(ctx.params, "payment_method"),
        ctx.now(str(pi["customer"])),
        off_session=bool(get_bool(ctx.params, "off_session")),
    )
    return objects.render(ctx.state, confirmed)


def authenticate_payment(ctx: Ctx) -> Obj:
    pi = ctx.state.get(ctx.arg, "payment_intent")
    outcome = get_str(ctx.params, "outcome") or "succeed"
    if outcome not in ("succeed", "fail"):
        raise invalid("outcome", "Invalid outcome: must be one of succeed or fail")
    done = intents.authenticate(
        ctx.state, pi, ctx.now(str(pi["customer"])), succeed=outcome == "succeed"
    )
    return objects.render(ctx.state, done)


def create_setup(ctx: Ctx) -> Obj:
    state, p = ctx.state, ctx.params
    customer = get_str(p, "customer")
    if customer:
        state.get(customer, "customer", "customer")
    usage = get_str(p, "usage") or "off_session"
    if usage not in intents.SETUP_USAGES:
        raise invalid("usage", "Invalid usage: must be one of off_session or on_session")
    types = get_list(p, "payment_method_types") or ["card"]
    if types != ["card"]:
        raise invalid("payment_method_types", "The emulator supports card payment methods only.")
    now = ctx.now(customer)
    seti = intents.setup_intent(
        now, customer_id=customer, usage=usage, metadata=p.get("metadata") or {}
    )
    state.add(seti)
    emit(state, "setup_intent.created", seti, now=now)
    pm = get_str(p, "payment_method")
    if pm and get_bool(p, "confirm"):
        intents.confirm_setup(state, seti, pm, now)
    elif pm:
        seti["payment_method"] = payment_methods.resolve(state, pm)["id"]
        seti["status"] = "requires_confirmation"
    return objects.render(state, seti)


def _seti(ctx: Ctx) -> Obj:
    return ctx.state.get(ctx.arg, "setup_intent")


def confirm_setup(ctx: Ctx) -> Obj:
    seti = _seti(ctx)
    done = intents.confirm_setup(
        ctx.state, seti, get_str(ctx.params, "payment_method"), ctx.now(seti["customer"])
    )
    return objects.render(ctx.state, done)


def cancel_setup(ctx: Ctx) -> Obj:
    seti = _seti(ctx)
    if seti["status"] in ("succeeded", "canceled"):
        raise StripeError(
            400,
            f"You cannot cancel this SetupIntent because it has a status of {seti['status']}.",
            code="setup_intent_unexpected_state",
        )
    seti["status"] = "canceled"
    seti["cancellation_reason"] = get_str(ctx.params, "cancellation_reason")
    emit(ctx.state, "setup_intent.canceled", seti, now=ctx.now(seti["customer"]))
    return objects.render(ctx.state, seti)


def authenticate_setup(ctx: Ctx) -> Obj:
    seti = _seti(ctx)
    return objects.render(
        ctx.state, intents.authenticate_setup(ctx.state, seti, ctx.now(seti["customer"]))
    )


def list_setup(ctx: Ctx) -> Obj:
    found = ctx.state.all("setup_intent")
    for key in ("customer", "payment_method"):
        value = get_str(ctx.params, key)
        if value:
            found = [s for s in found if s[key] == value]
    return paginate(found, ctx.params, "/v1/setup_intents", lambda o: objects.render(ctx.state, o))


def register(r: Router) -> None:
    r.add("POST", "/v1/payment_intents/{id}/confirm", confirm_payment)
    r.add("POST", "/v1/test_helpers/payment_intents/{id}/authenticate", authenticate_payment)
    r.add("POST", "/v1/setup_intents", create_setup)
    r.add("GET", "/v1/setup_intents", list_setup)
    r.add("GET", "/v1/setup_intents/{id}", lambda c: objects.render(c.state, _seti(c)))
    r.add("POST", "/v1/setup_intents/{id}/confirm", confirm_setup)
    r.add("POST", "/v1/setup_intents/{id}/cancel", cancel_setup)
    r.add("POST", "/v1/test_helpers/setup_intents/{id}/authenticate", authenticate_setup)
