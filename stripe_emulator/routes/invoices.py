"""/v1/invoices (list, retrieve, pay, create_preview) and /v1/invoiceitems."""

from __future__ import annotations

from stripe_emulator import billing, objects, payment_methods, payments
from stripe_emulator.events import emit, emit_update
from stripe_emulator.money import amount_for
from stripe_emulator.periods import add_intervals
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
    missing,
    paginate,
    req_str,
)
from stripe_emulator.routes.core import EXPANDERS, Ctx, Router
from stripe_emulator.store import State

PREVIEWS_KEPT = 200  # recent previews whose lines GET /v1/invoices/{upcoming_in_...}/lines pages


def _sub_of(inv: Obj) -> str | None:
    parent = inv.get("parent")
    if parent and parent.get("subscription_details"):
        value = parent["subscription_details"].get("subscription")
        return str(value) if value else None
    return None


def list_(ctx: Ctx) -> Obj:
    p = ctx.params
    found = ctx.state.all("invoice")
    customer = get_str(p, "customer")
    if customer:
        found = [i for i in found if i["customer"] == customer]
    sub = get_str(p, "subscription")
    if sub:
        found = [i for i in found if _sub_of(i) == sub]
    status = get_str(p, "status")
    if status:
        found = [i for i in found if i["status"] == status]
    return paginate(found, p, "/v1/invoices", lambda o: objects.render(ctx.state, o))


def lines(ctx: Ctx) -> Obj:
    """Every line of an invoice, or of a preview (``upcoming_in_...`` ids), page by page."""
    inv = ctx.state.previews.get(ctx.arg) or ctx.state.get(ctx.arg, "invoice")
    return paginate(list(inv["lines"]["data"]), ctx.params, f"/v1/invoices/{inv['id']}/lines")


def _keep_preview(ctx: Ctx, inv: Obj) -> None:
    """Previews are not invoices (not listed, not retrievable) but their lines can be paged."""
    previews = ctx.state.previews
    previews[inv["id"]] = inv
    while len(previews) > PREVIEWS_KEPT:
        previews.pop(next(iter(previews)))


def _no_next_invoice(state: State, sub: Obj, details: Obj) -> bool:
    """A subscription set to cancel by its period end (as the preview sees it) never renews."""
    cape = get_bool(details, "cancel_at_period_end")
    cancel_at = sub["cancel_at"]
    if cape is None:
        cape = bool(sub["cancel_at_period_end"])
    elif not cape and sub["cancel_at_period_end"]:
        cancel_at = None  # previewing as if the period-end cancellation were undone
    if "cancel_at" in details:
        raw = details["cancel_at"]
        cancel_at = None if raw in ("", None) else get_int(details, "cancel_at")
    end = billing.current_period(state, sub)[1]
    return cape or (cancel_at is not None and int(cancel_at) <= end)


def pay(ctx: Ctx) -> Obj:
    state = ctx.state
    inv = state.get(ctx.arg, "invoice")
    if inv["status"] == "paid":
        raise StripeError(400, "Invoice is already paid.")
    if inv["status"] != "open":
        raise StripeError(
            400, f"You can only pay an open invoice. This invoice is {inv['status']}."
        )
    cust = state.objects[inv["customer"]]
    token = get_str(ctx.params, "payment_method")
    pm_id = None
    if token:
        # A test token is a new card of this customer's; an id must belong to the customer.
        if token in payment_methods.TOKENS:
            pm_id = payment_methods.attach_token(state, cust, token, check=False)["id"]
        else:
            pm_id = payment_methods.owned(state, cust, token, "payment_method")
    sub_id = _sub_of(inv)
    sub = state.objects.get(sub_id) if sub_id else None
    before = objects.snapshot(state, sub) if sub else None
    now = ctx.now(cust["id"])
    off_session = get_bool(ctx.params, "off_session")
    if not billing.attempt(state, inv, now, pm_id=pm_id, on_session=off_session is False):
        raise billing.failure_of(inv).error()
    if sub is not None and before is not None:
        if billing.pending_invoice_of(sub) == inv["id"]:
            billing.apply_pending(state, sub, now)
            before = objects.snapshot(state, sub)
        if sub["status"] in ("incomplete", "past_due"):
            sub["status"] = "active"
        emit_update(state, "customer.subscription.updated", sub, before)
    return objects.render(state, inv)


def preview(ctx: Ctx) -> Obj:
    """What the next invoice would be, with optional item changes (``subscription_details``)."""
    state, p = ctx.state, ctx.params
    sub_id = get_str(p, "subscription")
    customer_id = get_str(p, "customer")
    if not sub_id and not customer_id:
        raise missing("customer")
    if not sub_id:
        raise StripeError(
            400,
            "The emulator previews subscription invoices only: pass subscription.",
            param="subscription",
        )
    sub = state.get(sub_id, "subscription", "subscription")
    cust = state.objects[sub["customer"]]
    details = get_dict(p, "subscription_details")
    behavior = get_str(details, "proration_behavior") or "create_prorations"
    if behavior not in billing.PRORATION_BEHAVIORS:
        raise invalid("subscription_details[proration_behavior]", "Invalid proration_behavior")
    now = state.customer_now(cust["id"])
    at = get_int(details, "proration_date", label="subscription_details[proration_date]") or now
    old = billing.current_specs(state, sub)
    entries = get_list(details, "items")
    new = (
        billing.resolve_items(state, old, entries, "subscription_details[items]")
        if entries
        else old
    )
    start, end = billing.current_period(state, sub)
    pending = [dict(ii) for ii in billing.pending_for(state, sub)]
    # As the update would: another interval starts a new period now and invoices it at once.
    new_interval = bool(entries) and billing.interval_of(new[0].price) != billing.interval_of(
        old[0].price
    )
    if behavior != "none" and entries:
        after = [] if new_interval else new
        pending.extend(
            billing.proration_item(sub, line, now)
            for line in billing.prorations(state, old, after, start, end, at)
        )
    immediate = new_interval or (behavior == "always_invoice" and bool(entries))
    if not immediate and (
        sub["status"] in ("canceled", "incomplete_expired") or _no_next_invoice(state, sub, details)
    ):
        raise StripeError(
            400,
            f"No upcoming invoices for customer: {cust['id']}",
            code="invoice_upcoming_none",
        )
    if new_interval:
        interval, count = billing.interval_of(new[0].price)
        inv = billing.build_invoice(
            state,
            cust,
            sub,
            "subscription_update",
            now,
            at,
            add_intervals(at, interval, count, 1),
            new,
            pending,
            temporary=True,
        )
    elif behavior == "always_invoice" and entries:
        inv = billing.build_invoice(
            state, cust, sub, "subscription_update", now, at, at, [], pending, temporary=True
        )
    else:
        cycle = int(sub.get("_cycle", 0)) + 1
        next_start, next_end = billing.period_for_cycle(sub, new[0].price, cycle)
        inv = billing.build_invoice(
            state,
            cust,
            sub,
            "subscription_cycle",
            end,
            next_start,
            next_end,
            new,
            pending,
            temporary=True,
        )
        inv["period_start"], inv["period_end"] = start, end
    _keep_preview(ctx, inv)
    return objects.render_invoice(inv)


# ---- invoice items ------------------------------------------------------------------


def create_item(ctx: Ctx) -> Obj:
    state, p = ctx.state, ctx.params
    cust = state.get(req_str(p, "customer"), "customer", "customer")
    sub_id = get_str(p, "subscription")
    if sub_id:
        state.get(sub_id, "subscription", "subscription")
    price_id = get_str(p, "price") or get_str(get_dict(p, "pricing"), "price")
    quantity = get_int(p, "quantity") or 1
    price = state.get(price_id, "price", "price") if price_id else None
    if price is not None:
        amount = amount_for(price, quantity)
        currency = price["currency"]
    else:
        got = get_int(p, "amount")
        if got is None:
            raise missing("amount")
        amount, currency = got, req_str(p, "currency").lower()
    now = ctx.now(cust["id"])
    ii = objects.invoiceitem(
        now,
        customer_id=cust["id"],
        amount=amount,
        currency=currency,
        description=get_str(p, "description") or "Invoice item",
        period={"end": now, "start": now},
        proration=False,
        quantity=quantity,
        p=price,
        sub_id=sub_id,
        si_id=None,
        clock=cust.get("test_clock"),
        metadata=merge_metadata({}, p.get("metadata")),
    )
    state.add(ii)
    emit(state, "invoiceitem.created", ii)
    return objects.render(state, ii)


def delete_item(ctx: Ctx) -> Obj:
    ii = ctx.state.get(ctx.arg, "invoiceitem")
    if ii["invoice"] is not None:
        raise StripeError(400, "This invoice item is attached to an invoice and cannot be deleted.")
    ii["_deleted"] = True
    emit(ctx.state, "invoiceitem.deleted", ii)
    return {"deleted": True, "id": ii["id"], "object": "invoiceitem"}


def list_items(ctx: Ctx) -> Obj:
    p = ctx.params
    found = ctx.state.all("invoiceitem")
    customer = get_str(p, "customer")
    if customer:
        found = [i for i in found if i["customer"] == customer]
    pending = get_bool(p, "pending")
    if pending is not None:
        found = [i for i in found if (i["invoice"] is None) == pending]
    invoice = get_str(p, "invoice")
    if invoice:
        found = [i for i in found if i["invoice"] == invoice]
    return paginate(found, p, "/v1/invoiceitems", lambda o: objects.render(ctx.state, o))


def register(r: Router) -> None:
    r.add("GET", "/v1/invoices", list_)
    r.add("POST", "/v1/invoices/create_preview", preview)
    r.retrieve("/v1/invoices/{id}", "invoice")
    r.add("GET", "/v1/invoices/{id}/lines", lines)
    r.add("POST", "/v1/invoices/{id}/pay", pay)
    r.add("POST", "/v1/invoiceitems", create_item)
    r.add("GET", "/v1/invoiceitems", list_items)
    r.retrieve("/v1/invoiceitems/{id}", "invoiceitem")
    r.add("DELETE", "/v1/invoiceitems/{id}", delete_item)
    # Returned only when expanded (``expand[]=confirmation_secret``).
    EXPANDERS[("invoice", "confirmation_secret")] = payments.confirmation_secret
