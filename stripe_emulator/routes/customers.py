"""/v1/customers"""

from __future__ import annotations

from stripe_emulator import billing, objects, payment_methods
from stripe_emulator.events import emit, emit_update
from stripe_emulator.protocol import Obj, get_dict, get_str, merge_metadata, paginate
from stripe_emulator.routes import payment_methods as payment_method_routes
from stripe_emulator.routes.core import Ctx, Router


def create(ctx: Ctx) -> Obj:
    p = ctx.params
    clock = get_str(p, "test_clock")
    if clock:
        ctx.state.get(clock, "test_helpers.test_clock", "test_clock")
    now = int(ctx.state.objects[clock]["frozen_time"]) if clock else ctx.state.real_now()
    cust = objects.customer(
        now,
        email=get_str(p, "email"),
        name=get_str(p, "name"),
        metadata=merge_metadata({}, p.get("metadata")),
        clock=clock,
    )
    cust["description"] = get_str(p, "description")
    cust["phone"] = get_str(p, "phone")
    ctx.state.add(cust)
    _payment_settings(ctx, cust)
    emit(ctx.state, "customer.created", cust)
    return objects.render(ctx.state, cust)


def _payment_settings(ctx: Ctx, cust: Obj) -> None:
    """``payment_method`` attaches one; ``invoice_settings[default_payment_method]`` must name
    a payment method attached to this customer (the one just attached may be named by the
    same test token), ``""`` clears it."""
    p = ctx.params
    attached: dict[str, str] = {}
    token = get_str(p, "payment_method")
    if token:
        attached[token] = payment_methods.attach_token(ctx.state, cust, token)["id"]
    settings = get_dict(p, "invoice_settings")
    if "default_payment_method" in settings:
        wanted = get_str(settings, "default_payment_method")
        param = "invoice_settings[default_payment_method]"
        cust["invoice_settings"]["default_payment_method"] = (
            (attached.get(wanted) or payment_methods.owned(ctx.state, cust, wanted, param))
            if wanted
            else None
        )


def retrieve(ctx: Ctx) -> Obj:
    obj = ctx.state.find(ctx.arg)
    if obj is not None and obj.get("object") == "customer" and obj.get("_deleted"):
        return objects.render(ctx.state, obj)
    return objects.render(ctx.state, ctx.state.get(ctx.arg, "customer"))


def update(ctx: Ctx) -> Obj:
    cust = ctx.state.get(ctx.arg, "customer")
    before = objects.snapshot(ctx.state, cust)
    p = ctx.params
    for field in ("email", "name", "description", "phone"):
        if field in p:
            cust[field] = objects.value_or_none(p[field])
    if "metadata" in p:
        cust["metadata"] = merge_metadata(cust["metadata"], p["metadata"])
    _payment_settings(ctx, cust)
    emit_update(ctx.state, "customer.updated", cust, before)
    return objects.render(ctx.state, cust)


def delete(ctx: Ctx) -> Obj:
    cust = ctx.state.get(ctx.arg, "customer")
    now = ctx.now(cust["id"])
    for sub in ctx.state.all("subscription"):
        if sub["customer"] == cust["id"] and sub["status"] not in (
            "canceled",
            "incomplete_expired",
        ):
            billing.cancel(ctx.state, sub, now)
    cust["_deleted"] = True
    emit(ctx.state, "customer.deleted", cust, now=now)
    return {"deleted": True, "id": cust["id"], "object": "customer"}


def list_(ctx: Ctx) -> Obj:
    found = ctx.state.all("customer")
    email = get_str(ctx.params, "email")
    clock = get_str(ctx.params, "test_clock")
    if email:
        found = [c for c in found if c["email"] == email]
    if clock:
        found = [c for c in found if c["test_clock"] == clock]
    return paginate(found, ctx.params, "/v1/customers", lambda o: objects.render(ctx.state, o))


def register(r: Router) -> None:
    payment_method_routes.register(r)
    r.add("POST", "/v1/customers", create)
    r.add("GET", "/v1/customers", list_)
    r.add("GET", "/v1/customers/{id}", retrieve)
    r.add("POST", "/v1/customers/{id}", update)
    r.add("DELETE", "/v1/customers/{id}", delete)
