"""/v1/subscriptions and /v1/subscription_items."""

from __future__ import annotations

from stripe_emulator import billing, objects, payment_methods
from stripe_emulator.events import emit_update
from stripe_emulator.protocol import (
    Obj,
    StripeError,
    get_bool,
    get_dict,
    get_int,
    get_list,
    get_str,
    invalid,
    merge_metadata,
    paginate,
    req_str,
)
from stripe_emulator.routes.core import Ctx, Router
from stripe_emulator.store import State

ENDED = ("canceled", "incomplete_expired")

# https://docs.stripe.com/billing/subscriptions/pending-updates-reference#supported-attributes
PENDING_SUBSCRIPTION_PARAMS = (
    "expand",
    "payment_behavior",
    "proration_behavior",
    "proration_date",
    "billing_cycle_anchor",
    "items",
    "trial_end",
    "trial_from_plan",
    "add_invoice_items",
)
PENDING_ITEM_FIELDS = ("id", "price", "plan", "quantity")
PENDING_ITEM_PARAMS = (
    "expand",
    "payment_behavior",
    "proration_behavior",
    "proration_date",
    "price",
    "plan",
    "quantity",
)


def _only_pending_params(keys: list[str], allowed: tuple[str, ...], prefix: str = "") -> None:
    for key in keys:
        if key not in allowed:
            raise invalid(
                f"{prefix}{key}",
                f"You cannot pass `{prefix}{key}` with payment_behavior=pending_if_incomplete. "
                f"The supported parameters are: {', '.join(allowed)}.",
            )


def check_pending_params(p: Obj) -> None:
    """Only some parameters may create a pending update."""
    _only_pending_params(list(p), PENDING_SUBSCRIPTION_PARAMS)
    for index, entry in enumerate(get_list(p, "items")):
        if isinstance(entry, dict):
            _only_pending_params(list(entry), PENDING_ITEM_FIELDS, f"items[{index}][")


def _payment_behavior(p: Obj, *, create: bool = False) -> str:
    return billing.check_payment_behavior(
        get_str(p, "payment_behavior") or "allow_incomplete", create=create
    )


def _default_payment_method(state: State, cust: Obj, p: Obj) -> str | None:
    """``default_payment_method`` must belong to the subscription's customer."""
    wanted = get_str(p, "default_payment_method")
    if not wanted:
        return None
    return payment_methods.owned(state, cust, wanted, "default_payment_method")


def _live(state: State, ident: str) -> Obj:
    sub = state.get(ident, "subscription")
    return sub


def _not_canceled(sub: Obj) -> None:
    if sub["status"] in ENDED:
        raise StripeError(
            400,
            f"A canceled subscription can only update its cancellation_details and metadata. ({sub['id']})",
        )


def create(ctx: Ctx) -> Obj:
    state, p = ctx.state, ctx.params
    cust = state.get(req_str(p, "customer"), "customer", "customer")
    behavior = _payment_behavior(p, create=True)
    pm_id = _default_payment_method(state, cust, p)
    specs = billing.new_specs(state, get_list(p, "items"))
    now = ctx.now(cust["id"])
    raw_end = p.get("trial_end")
    trial_end = billing.trial_end_of(
        now,
        get_int(p, "trial_period_days"),
        None if raw_end in (None, "", "now") else get_int(p, "trial_end"),
    )
    sub, _ = billing.start_subscription(
        state,
        cust,
        specs,
        merge_metadata({}, p.get("metadata")),
        now,
        payment_behavior=behavior,
        default_payment_method=pm_id,
        trial_end=trial_end,
        missing_payment_method=billing.missing_payment_method_of(get_dict(p, "trial_settings")),
    )
    if get_bool(p, "cancel_at_period_end"):
        sub["cancel_at_period_end"] = True
    return objects.render(state, sub)


def _managed_by_schedule(state: State, sub: Obj, p: Obj) -> None:
    """A schedule owns its subscription's cancellation: Stripe refuses changing it directly."""
    sched_id = sub.get("schedule")
    if not sched_id or not ("cancel_at_period_end" in p or "cancel_at" in p):
        return
    sched = state.objects.get(str(sched_id))
    if sched is not None and sched["status"] in ("active", "not_started"):
        raise StripeError(
            400,
            f"The subscription is managed by the subscription schedule `{sched_id}`, and "
            "updating any cancelation behavior directly is not allowed. Please update the "
            "schedule instead.",
        )


def update_subscription(state: State, sub: Obj, p: Obj, now: int) -> Obj:
    """Everything ``POST /v1/subscriptions/{id}`` can change, with one updated event."""
    _managed_by_schedule(state, sub, p)
    payment_behavior = _payment_behavior(p)
    if payment_behavior == "pending_if_incomplete":
        check_pending_params(p)
    cust = state.objects[sub["customer"]]
    pm_id = _default_payment_method(state, cust, p)
    before = objects.snapshot(state, sub)
    if "metadata" in p:
        sub["metadata"] = merge_metadata(sub["metadata"], p["metadata"])
    changes = [k for k in p if k not in ("metadata", "expand", "cancellation_details")]
    if changes:
        _not_canceled(sub)
    items = get_list(p, "items")
    behavior = get_str(p, "proration_behavior") or "create_prorations"
    if items:
        specs = billing.resolve_items(state, billing.current_specs(state, sub), items)
        at = get_int(p, "proration_date")
        billing.change_items(state, sub, specs, behavior, at, now, payment_behavior)
    cape = get_bool(p, "cancel_at_period_end")
    if cape is not None:
        sub["cancel_at_period_end"] = cape
        sub["cancel_at"] = billing.current_period(state, sub)[1] if cape else None
        sub["canceled_at"] = now if cape else None
        sub["cancellation_details"]["reason"] = "cancellation_requested" if cape else None
    if "cancel_at" in p:
        sub["cancel_at"] = get_int(p, "cancel_at")
        sub["canceled_at"] = now if sub["cancel_at"] else None
    if "default_payment_method" in p:
        sub["default_payment_method"] = pm_id
    emit_update(state, "customer.subscription.updated", sub, before)
    return objects.render(state, sub)


def update(ctx: Ctx) -> Obj:
    sub = _live(ctx.state, ctx.arg)
    return update_subscription(ctx.state, sub, ctx.params, ctx.now(sub["customer"]))


def cancel(ctx: Ctx) -> Obj:
    sub = _live(ctx.state, ctx.arg)
    if sub["status"] in ENDED:
        raise StripeError(
            404, f"No such subscription: '{sub['id']}'", code="resource_missing", param="id"
        )
    now = ctx.now(sub["customer"])
    billing.cancel(ctx.state, sub, now, prorate_unused=bool(get_bool(ctx.params, "prorate")))
    if get_bool(ctx.params, "invoice_now"):
        pending = billing.pending_for(ctx.state, sub)
        if pending:
            cust = ctx.state.objects[sub["customer"]]
            inv = billing.create_invoice(
                ctx.state, cust, sub, "subscription_update", now, now, now, [], pending
            )
            billing.settle(ctx.state, inv, None, now)
    return objects.render(ctx.state, sub)


def list_(ctx: Ctx) -> Obj:
    p = ctx.params
    found = ctx.state.all("subscription")
    status = get_str(p, "status")
    if status is None:
        found = [s for s in found if s["status"] not in ENDED]
    elif status != "all":
        found = [s for s in found if s["status"] == status]
    for key in ("customer", "test_clock"):
        value = get_str(p, key)
        if value:
            found = [s for s in found if s[key] == value]
    price = get_str(p, "price")
    if price:
        found = [
            s for s in found if any(ctx.state.objects[i]["price"] == price for i in s["_item_ids"])
        ]
    return paginate(found, p, "/v1/subscriptions", lambda o: objects.render(ctx.state, o))


# ---- subscription items -------------------------------------------------------------


def _item(state: State, ident: str) -> tuple[Obj, Obj]:
    item = state.get(ident, "subscription_item")
    return item, state.objects[item["subscription"]]


def _item_change(ctx: Ctx, sub: Obj, entry: Obj) -> None:
    p = ctx.params
    if get_str(p, "payment_behavior") == "pending_if_incomplete":
        allowed = PENDING_ITEM_PARAMS + (("subscription",) if "subscription" in p else ())
        _only_pending_params(list(p), allowed)
    params: Obj = {"items": [entry]}
    for key in ("proration_behavior", "proration_date", "payment_behavior"):
        if key in p:
            params[key] = p[key]
    update_subscription(ctx.state, sub, params, ctx.now(sub["customer"]))


def create_item(ctx: Ctx) -> Obj:
    sub = _live(ctx.state, req_str(ctx.params, "subscription"))
    entry: Obj = {"price": req_str(ctx.params, "price")}
    for key in ("quantity", "metadata"):
        if key in ctx.params:
            entry[key] = ctx.params[key]
    known = set(sub["_item_ids"])
    _item_change(ctx, sub, entry)
    new = [i for i in sub["_item_ids"] if i not in known]
    return objects.render(ctx.state, ctx.state.objects[new[0]])


def update_item(ctx: Ctx) -> Obj:
    item, sub = _item(ctx.state, ctx.arg)
    entry: Obj = {"id": item["id"]}
    for key in ("price", "quantity", "metadata"):
        if key in ctx.params:
            entry[key] = ctx.params[key]
    _item_change(ctx, sub, entry)
    return objects.render(ctx.state, item)


def delete_item(ctx: Ctx) -> Obj:
    item, sub = _item(ctx.state, ctx.arg)
    _item_change(ctx, sub, {"id": item["id"], "deleted": "true"})
    return {"deleted": True, "id": item["id"], "object": "subscription_item"}


def list_items(ctx: Ctx) -> Obj:
    sub = _live(ctx.state, req_str(ctx.params, "subscription"))
    data = [objects.render(ctx.state, ctx.state.objects[i]) for i in sub["_item_ids"]]
    return paginate(data, ctx.params, f"/v1/subscription_items?subscription={sub['id']}")


def register(r: Router) -> None:
    r.add("POST", "/v1/subscriptions", create)
    r.add("GET", "/v1/subscriptions", list_)
    r.add("GET", "/v1/subscriptions/{id}", lambda c: objects.render(c.state, _live(c.state, c.arg)))
    r.add("POST", "/v1/subscriptions/{id}", update)
    r.add("DELETE", "/v1/subscriptions/{id}", cancel)
    r.add("POST", "/v1/subscription_items", create_item)
    r.add("GET", "/v1/subscription_items", list_items)
    r.add(
        "GET",
        "/v1/subscription_items/{id}",
        lambda c: objects.render(c.state, _item(c.state, c.arg)[0]),
    )
    r.add("POST", "/v1/subscription_items/{id}", update_item)
    r.add("DELETE", "/v1/subscription_items/{id}", delete_item)
