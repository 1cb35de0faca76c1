"""Subscriptions' money: item changes, prorations, invoices, payments and renewals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from stripe_emulator import objects, payment_methods, payments
from stripe_emulator.events import emit, emit_update
from stripe_emulator.money import amount_for, format_amount, prorate
from stripe_emulator.periods import DAY, add_intervals, fmt_date
from stripe_emulator.protocol import (
    Obj,
    StripeError,
    get_bool,
    get_int,
    invalid,
    merge_metadata,
    missing,
)
from stripe_emulator.store import State, new_id

# Days after each failed automatic attempt until the next one; after the last retry fails
# the subscription is canceled (Stripe's default "cancel the subscription" setting).
TIMES = "\u00d7"  # Stripe writes "3 \u00d7 Seat" in line descriptions
RETRY_DELAYS_DAYS: tuple[int, ...] = (3, 5, 7)
TRIAL_WARNING = 3 * DAY  # trial_will_end is sent three days before the trial ends
MAX_TRIAL_DAYS = 730  # "The trial period must be 730 days (2 years) or less."
MISSING_PAYMENT_METHOD = ("cancel", "create_invoice", "pause")
PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")
PAYMENT_BEHAVIORS = (
    "allow_incomplete",
    "default_incomplete",
    "error_if_incomplete",
    "pending_if_incomplete",
)
# A pending update expires at the period end or 23 hours after the update, whichever is first
# (https://docs.stripe.com/billing/subscriptions/pending-updates-reference#expiration).
PENDING_UPDATE_TTL = 23 * 3600


@dataclass
class ItemSpec:
    """One item of a subscription as it is or as it would be after a change."""

    item_id: str
    price: Obj
    quantity: int
    metadata: Obj = field(default_factory=dict)
    is_new: bool = False


@dataclass
class Proration:
    amount: int
    description: str
    price: Obj
    quantity: int
    item_id: str
    start: int
    end: int


# ---- periods ------------------------------------------------------------------------


def interval_of(price: Obj) -> tuple[str, int]:
    recurring = price.get("recurring") or {}
    return str(recurring.get("interval", "month")), int(recurring.get("interval_count", 1))


def current_period(state: State, sub: Obj) -> tuple[int, int]:
    first = state.objects[sub["_item_ids"][0]] if sub["_item_ids"] else None
    if first is None:
        return int(sub["billing_cycle_anchor"]), int(sub["billing_cycle_anchor"])
    return int(first["current_period_start"]), int(first["current_period_end"])


def period_for_cycle(sub: Obj, price: Obj, cycle: int) -> tuple[int, int]:
    interval, count = interval_of(price)
    anchor = int(sub["billing_cycle_anchor"])
    return add_intervals(anchor, interval, count, cycle), add_intervals(
        anchor, interval, count, cycle + 1
    )


# ---- items ------------------------------------------------------------------------------


def current_specs(state: State, sub: Obj) -> list[ItemSpec]:
    specs = []
    for item_id in sub["_item_ids"]:
        item = state.objects[item_id]
        specs.append(
            ItemSpec(
                item_id, state.objects[item["price"]], int(item["quantity"]), dict(item["metadata"])
            )
        )
    return specs


def _price_param(state: State, entry: Obj, label: str) -> Obj | None:
    ident = entry.get("price") or entry.get("plan")
    if not ident:
        return None
    p = state.get(str(ident), "price", param=f"{label}[price]")
    if p.get("type") != "recurring":
        raise invalid(
            f"{label}[price]", f"The price specified ({p['id']}) is not a recurring price."
        )
    return p


def resolve_items(
    state: State, current: list[ItemSpec], entries: list[Any], label: str = "items"
) -> list[ItemSpec]:
    """Apply Stripe's ``items[i][id|price|quantity|deleted|metadata]`` to a list of items."""
    result = [ItemSpec(s.item_id, s.price, s.quantity, dict(s.metadata), s.is_new) for s in current]
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise invalid(f"{label}[{index}]", "Invalid hash")
        where = f"{label}[{index}]"
        ident = entry.get("id")
        price = _price_param(state, entry, where)
        quantity = get_int(entry, "quantity", label=f"{where}[quantity]")
        if quantity is not None and quantity < 0:
            raise invalid(f"{where}[quantity]", "Quantity must be a non-negative integer.")
        if ident:
            spec = next((s for s in result if s.item_id == ident), None)
            if spec is None:
                raise StripeError(
                    404,
                    f"No such subscription item: '{ident}'",
                    code="resource_missing",
                    param=f"{where}[id]",
                )
            if get_bool(entry, "deleted"):
                result.remove(spec)
                continue
            if price is not None:
                spec.price = price
            if quantity is not None:
                spec.quantity = quantity
            if "metadata" in entry:
                spec.metadata = merge_metadata(spec.metadata, entry["metadata"])
        else:
            if price is None:
                raise missing(f"{where}[price]")
            meta = entry.get("metadata") if isinstance(entry.get("metadata"), dict) else {}
            result.append(
                ItemSpec(
                    new_id("si_", 14),
                    price,
                    1 if quantity is None else quantity,
                    dict(meta or {}),
                    True,
                )
            )
    check_items(result, label)
    return result


def check_items(specs: list[ItemSpec], label: str = "items") -> None:
    if not specs:
        raise invalid(label, "A subscription must have at least one active plan.")
    seen: set[str] = set()
    for spec in specs:
        if spec.price["id"] in seen:
            raise invalid(
                label,
                f"Cannot add multiple subscription items with the same price: {spec.price['id']}.",
            )
        seen.add(spec.price["id"])
    first = specs[0].price
    for spec in specs[1:]:
        if spec.price["currency"] != first["currency"]:
            raise invalid(
                label,
                "Currency and interval fields must match across all plans on this subscription. Found mismatch in currency field.",
            )
        if interval_of(spec.price) != interval_of(first):
            raise invalid(
                label,
                "Currency and interval fields must match across all plans on this subscription. Found mismatch in interval field.",
            )


def describe(state: State, price: Obj, quantity: int) -> str:
    prod = state.objects.get(str(price["product"]))
    name = prod["name"] if prod else price["id"]
    interval, count = interval_of(price)
    every = interval if count == 1 else f"{count} {interval}s"
    if price["billing_scheme"] == "tiered":
        return f"{quantity} {TIMES} {name} (Tier pricing, per {every})"
    return f"{quantity} {TIMES} {name} (at {format_amount(int(price['unit_amount'] or 0), price['currency'])} / {every})"


def prorations(
    state: State, old: list[ItemSpec], new: list[ItemSpec], start: int, end: int, at: int
) -> list[Proration]:
    """Credit the unused time of every changed or removed item, charge the remaining time of the new."""
    remaining, total = end - at, end - start
    lines: list[Proration] = []
    after = f"after {fmt_date(at)}"
    new_by_id = {s.item_id: s for s in new}
    old_by_id = {s.item_id: s for s in old}
    for spec in old:
        changed = new_by_id.get(spec.item_id)
        if (
            changed is not None
            and changed.price["id"] == spec.price["id"]
            and changed.quantity == spec.quantity
        ):
            continue
        credit = -prorate(amount_for(spec.price, spec.quantity), remaining, total)
        if credit:
            desc = f"Unused time on {describe(state, spec.price, spec.quantity)} {after}"
            lines.append(Proration(credit, desc, spec.price, spec.quantity, spec.item_id, at, end))
    for spec in new:
        was = old_by_id.get(spec.item_id)
        if (
            was is not None
            and was.price["id"] == spec.price["id"]
            and was.quantity == spec.quantity
        ):
            continue
        charge = prorate(amount_for(spec.price, spec.quantity), remaining, total)
        if charge:
            desc = f"Remaining time on {describe(state, spec.price, spec.quantity)} {after}"
            lines.append(Proration(charge, desc, spec.price, spec.quantity, spec.item_id, at, end))
    return lines


def proration_item(sub: Obj, line: Proration, now: int) -> Obj:
    """The invoice item a proration line becomes (not stored: previews use it as it is)."""
    return objects.invoiceitem(
        now,
        customer_id=sub["customer"],
        amount=line.amount,
        currency=sub["currency"],
        description=line.description,
        period={"end": line.end, "start": line.start},
        proration=True,
        quantity=line.quantity,
        p=line.price,
        sub_id=sub["id"],
        si_id=line.item_id,
        clock=sub["test_clock"],
    )


def _pending_item(state: State, sub: Obj, line: Proration, now: int) -> Obj:
    ii = proration_item(sub, line, now)
    state.add(ii)
    emit(state, "invoiceitem.created", ii)
    return ii


def _add_item(state: State, sub: Obj, spec: ItemSpec, now: int, start: int, end: int) -> Obj:
    item = objects.subscription_item(
        now,
        sub_id=sub["id"],
        price_id=spec.price["id"],
        quantity=spec.quantity,
        metadata=spec.metadata,
        start=start,
        end=end,
    )
    item["id"] = spec.item_id
    state.add(item)
    return item


def write_items(state: State, sub: Obj, specs: list[ItemSpec], now: int) -> None:
    """Make the subscription's items match ``specs`` (creating, updating, deleting)."""
    start, end = current_period(state, sub)
    keep = {s.item_id for s in specs}
    for item_id in sub["_item_ids"]:
        if item_id not in keep:
            state.objects[item_id]["_deleted"] = True
    ids = []
    for spec in specs:
        item = state.objects.get(spec.item_id)
        if item is None:
            item = _add_item(state, sub, spec, now, start, end)
        item["price"] = spec.price["id"]
        item["quantity"] = spec.quantity
        item["metadata"] = spec.metadata
        ids.append(spec.item_id)
    sub["_item_ids"] = ids
    sub["currency"] = specs[0].price["currency"]


def check_payment_behavior(value: str, *, create: bool = False) -> str:
    if value not in PAYMENT_BEHAVIORS:
        raise invalid(
            "payment_behavior",
            f"Invalid payment_behavior: must be one of {', '.join(PAYMENT_BEHAVIORS)}",
        )
    if create and value == "pending_if_incomplete":
        raise invalid(
            "payment_behavior",
            "pending_if_incomplete is only used with updates and cannot be passed when "
            "creating a subscription.",
        )
    return value


def change_items(
    state: State,
    sub: Obj,
    specs: list[ItemSpec],
    behavior: str,
    at: int | None,
    now: int,
    payment_behavior: str = "allow_incomplete",
) -> Obj | None:
    """Apply an item change with ``proration_behavior``; returns the invoice if one was made.

    When the change is invoiced at once (``always_invoice`` with prorations, or another
    billing interval), ``payment_behavior`` decides what a failed payment does:
    ``allow_incomplete`` applies the change (subscription ``past_due``), ``default_incomplete``
    applies it and leaves the invoice open without charging, ``error_if_incomplete`` refuses
    with the card error and changes nothing, ``pending_if_incomplete`` keeps the items as they
    are and records the change in ``pending_update`` until the invoice is paid.
    """
    if behavior not in PRORATION_BEHAVIORS:
        raise invalid(
            "proration_behavior",
            f"Invalid proration_behavior: must be one of {', '.join(PRORATION_BEHAVIORS)}",
        )
    old = current_specs(state, sub)
    start, end = current_period(state, sub)
    new_interval = interval_of(specs[0].price) != interval_of(old[0].price)
    when = now if at is None or new_interval else at
    if when < start or when > end:
        raise invalid("proration_date", "proration_date must be within the current billing period.")
    if new_interval:
        # Switching e.g. monthly -> yearly credits the unused time, resets the billing cycle
        # anchor and invoices the new period at once.
        lines = prorations(state, old, [], start, end, now) if behavior != "none" else []
    else:
        lines = prorations(state, old, specs, start, end, when) if behavior != "none" else []
    if not new_interval and not (behavior == "always_invoice" and lines):
        write_items(state, sub, specs, now)
        for line in lines:
            _pending_item(state, sub, line, now)
        return None
    cycle = specs if new_interval else []
    if payment_behavior == "error_if_incomplete":
        payer = _payer(state, sub, None)
        result = charge_preview(state, payer, _due_now(state, sub, lines, cycle))
        if not result.ok:
            raise result.error()
    if payment_behavior == "pending_if_incomplete":
        return _pending_change(state, sub, specs, lines, new_interval, now)
    for line in lines:
        _pending_item(state, sub, line, now)
    _write_change(state, sub, specs, new_interval, now)
    inv = _update_invoice(state, sub, cycle, new_interval, now)
    settle(state, inv, sub, now, charge=payment_behavior != "default_incomplete")
    return inv


def _write_change(
    state: State, sub: Obj, specs: list[ItemSpec], new_interval: bool, at: int
) -> None:
    if not new_interval:
        write_items(state, sub, specs, at)
        return
    sub["billing_cycle_anchor"] = at
    sub["_cycle"] = 0
    write_items(state, sub, specs, at)
    new_start, new_end = period_for_cycle(sub, specs[0].price, 0)
    for item_id in sub["_item_ids"]:
        state.objects[item_id]["current_period_start"] = new_start
        state.objects[item_id]["current_period_end"] = new_end


def _update_invoice(
    state: State, sub: Obj, cycle: list[ItemSpec], new_interval: bool, now: int
) -> Obj:
    """The ``subscription_update`` invoice: pending items, plus the new period's items after
    an interval change (its period starts now)."""
    cust = state.objects[sub["customer"]]
    if new_interval:
        interval, count = interval_of(cycle[0].price)
        start, end = now, add_intervals(now, interval, count, 1)
    else:
        start = end = now
    return create_invoice(
        state, cust, sub, "subscription_update", now, start, end, cycle, pending_for(state, sub)
    )


def _due_now(state: State, sub: Obj, lines: list[Proration], cycle: list[ItemSpec]) -> int:
    """What the invoice of this change would ask for (after the customer's credit)."""
    cust = state.objects[sub["customer"]]
    total = sum(int(ii["amount"]) for ii in pending_for(state, sub))
    total += sum(line.amount for line in lines)
    total += sum(amount_for(s.price, s.quantity) for s in cycle)
    return max(total + int(cust["balance"]), 0)


def charge_preview(state: State, pm_id: str | None, amount: int) -> payment_methods.Outcome:
    """How charging ``amount`` to this card would go (nothing is charged)."""
    if amount <= 0:
        return payment_methods.PAID
    return payment_methods.outcome(payment_methods.behaviour_of(state, pm_id))


def _pending_change(
    state: State,
    sub: Obj,
    specs: list[ItemSpec],
    lines: list[Proration],
    new_interval: bool,
    now: int,
) -> Obj:
    """``pending_if_incomplete``: invoice and charge first; apply the items only once paid
    (https://docs.stripe.com/billing/subscriptions/pending-updates)."""
    for line in lines:
        _pending_item(state, sub, line, now)
    inv = _update_invoice(state, sub, specs if new_interval else [], new_interval, now)
    inv["_no_retry"] = True
    finalize(state, inv, now)
    stored = [
        {
            "item_id": s.item_id,
            "price": s.price["id"],
            "quantity": s.quantity,
            "metadata": dict(s.metadata),
        }
        for s in specs
    ]
    sub["_pending"] = {
        "items": stored,
        "invoice": inv["id"],
        "new_interval": new_interval,
        "at": now,
    }
    if attempt(state, inv, now):
        apply_pending(state, sub, now, emit_events=False)
        return inv
    _, end = current_period(state, sub)
    current = {s.item_id: s for s in current_specs(state, sub)}
    changed = [
        s
        for s in specs
        if s.item_id not in current
        or current[s.item_id].price["id"] != s.price["id"]
        or current[s.item_id].quantity != s.quantity
    ]
    sub["pending_update"] = {
        "billing_cycle_anchor": now if new_interval else None,
        "expires_at": min(end, now + PENDING_UPDATE_TTL),
        "subscription_items": [_pending_item_object(state, sub, s, now) for s in changed],
        "trial_end": None,
        "trial_from_plan": None,
    }
    return inv


def _pending_item_object(state: State, sub: Obj, spec: ItemSpec, now: int) -> Obj:
    existing = state.objects.get(spec.item_id)
    start, end = current_period(state, sub)
    item = objects.subscription_item(
        int(existing["created"]) if existing else now,
        sub_id=sub["id"],
        price_id=spec.price["id"],
        quantity=spec.quantity,
        metadata=dict(spec.metadata),
        start=start,
        end=end,
    )
    item["id"] = spec.item_id
    out: Obj = objects.strip_private(item)
    out["price"] = objects.render_price(state, spec.price)
    out["plan"] = objects.plan_from_price(spec.price)
    return out


def apply_pending(state: State, sub: Obj, now: int, *, emit_events: bool = True) -> None:
    """The pending update's invoice is paid: its items become the subscription's."""
    pending = sub.pop("_pending", None)
    if pending is None:
        return
    before = objects.snapshot(state, sub)
    specs = [
        ItemSpec(
            e["item_id"],
            state.objects[e["price"]],
            int(e["quantity"]),
            dict(e["metadata"]),
            e["item_id"] not in sub["_item_ids"],
        )
        for e in pending["items"]
    ]
    _write_change(state, sub, specs, bool(pending["new_interval"]), int(pending["at"]))
    sub["pending_update"] = None
    if emit_events:
        emit_update(state, "customer.subscription.pending_update_applied", sub, before)
        emit_update(state, "customer.subscription.updated", sub, before)


def pending_invoice_of(sub: Obj) -> str | None:
    pending = sub.get("_pending")
    return str(pending["invoice"]) if pending else None


def expire_pending(state: State, sub: Obj, at: int) -> None:
    """``expires_at`` passed unpaid: the invoice is voided and the update discarded."""
    pending = sub.pop("_pending", None)
    if pending is None:
        return
    before = objects.snapshot(state, sub)
    inv = state.objects.get(str(pending["invoice"]))
    if inv is not None and inv["status"] == "open":
        void(state, inv, at)
    sub["pending_update"] = None
    emit_update(state, "customer.subscription.pending_update_expired", sub, before)
    emit_update(state, "customer.subscription.updated", sub, before)


def void(state: State, inv: Obj, at: int) -> None:
    inv["status"] = "void"
    inv["next_payment_attempt"] = None
    inv["status_transitions"]["voided_at"] = at
    emit(state, "invoice.voided", inv)


# ---- invoices -------------------------------------------------------------------------


def pending_for(state: State, sub: Obj) -> list[Obj]:
    """Pending (not yet invoiced) invoice items of the subscription, oldest first."""
    items = [
        o
        for o in state.objects.values()
        if o.get("object") == "invoiceitem"
        and not o.get("_deleted")
        and o["invoice"] is None
        and o.get("parent")
        and o["parent"]["subscription_details"]["subscription"] == sub["id"]
    ]
    return items


def cycle_lines(
    state: State,
    inv_id: str,
    sub: Obj,
    specs: list[ItemSpec],
    start: int,
    end: int,
    temporary: bool,
) -> list[Obj]:
    return [
        objects.line_item(
            invoice_id=inv_id,
            amount=amount_for(s.price, s.quantity),
            currency=s.price["currency"],
            description=describe(state, s.price, s.quantity),
            period={"end": end, "start": start},
            quantity=s.quantity,
            p=s.price,
            sub_id=sub["id"],
            si_id=s.item_id,
            ii_id=None,
            proration=False,
            temporary=temporary,
        )
        for s in specs
    ]


def item_line(state: State, inv_id: str, ii: Obj, temporary: bool) -> Obj:
    pricing = ii.get("pricing") or {}
    price_id = (pricing.get("price_details") or {}).get("price")
    sub_id = ii["parent"]["subscription_details"]["subscription"] if ii.get("parent") else None
    return objects.line_item(
        invoice_id=inv_id,
        amount=ii["amount"],
        currency=ii["currency"],
        description=ii["description"],
        period=dict(ii["period"]),
        quantity=ii["quantity"],
        p=state.objects.get(price_id) if price_id else None,
        sub_id=sub_id,
        si_id=ii.get("_subscription_item"),
        ii_id=ii["id"],
        proration=ii["proration"],
        metadata=dict(ii["metadata"]),
        temporary=temporary,
    )


def build_invoice(
    state: State,
    cust: Obj,
    sub: Obj | None,
    reason: str,
    now: int,
    start: int,
    end: int,
    specs: list[ItemSpec],
    pending: list[Obj],
    *,
    temporary: bool = False,
    invoice_period: tuple[int, int] | None = None,
    trial: bool = False,
) -> Obj:
    """An invoice (not stored) whose lines bill ``specs`` for ``start``..``end``
    (``trial``: the trial's first invoice, every subscription line $0 "Trial period for
    <product>").

    Lines are in Stripe's order: pending invoice items (prorations included) newest first,
    then the subscription's items newest first; entries of the same second keep the order
    they were made in (a change's credit before its charge), which Stripe does not document.
    The invoice's own ``period_start``/``period_end`` are when invoice items could join it:
    ``invoice_period``, by default the creation time for both (a renewal passes the period
    that just ended); each line's ``period`` is the service period it bills.
    """
    period_start, period_end = invoice_period or (now, now)
    inv = objects.invoice(
        now, cust=cust, sub=sub, reason=reason, period_start=period_start, period_end=period_end
    )
    if temporary:
        inv["id"] = "upcoming_" + inv["id"]
    newest_first = sorted(pending, key=lambda ii: int(ii.get("date") or 0), reverse=True)
    lines = [item_line(state, inv["id"], ii, temporary) for ii in newest_first]
    if sub is not None and specs:
        created = {
            s.item_id: int(state.objects[s.item_id]["created"])
            for s in specs
            if s.item_id in state.objects
        }
        by_age = sorted(specs, key=lambda s: created.get(s.item_id, now), reverse=True)
        cycle = cycle_lines(state, inv["id"], sub, by_age, start, end, temporary)
        if trial:
            for line, spec in zip(cycle, by_age, strict=True):
                prod = state.objects.get(str(spec.price["product"]))
                line["amount"] = line["subtotal"] = 0
                line["description"] = f"Trial period for {prod['name'] if prod else 'product'}"
        lines += cycle
    inv["lines"] = {
        "object": "list",
        "data": lines,
        "has_more": False,
        "url": f"/v1/invoices/{inv['id']}/lines",
    }
    total = sum(int(line["amount"]) for line in lines)
    inv["subtotal"] = inv["subtotal_excluding_tax"] = inv["total"] = inv["total_excluding_tax"] = (
        total
    )
    inv["starting_balance"] = int(cust["balance"])
    applied = total + int(cust["balance"])
    inv["amount_due"] = inv["amount_remaining"] = max(applied, 0)
    if sub is not None:
        inv["currency"] = sub["currency"]
    return inv


def create_invoice(
    state: State,
    cust: Obj,
    sub: Obj | None,
    reason: str,
    now: int,
    start: int,
    end: int,
    specs: list[ItemSpec],
    pending: list[Obj],
    *,
    invoice_period: tuple[int, int] | None = None,
    trial: bool = False,
) -> Obj:
    inv = build_invoice(
        state,
        cust,
        sub,
        reason,
        now,
        start,
        end,
        specs,
        pending,
        invoice_period=invoice_period,
        trial=trial,
    )
    state.add(inv)
    for ii in pending:
        ii["invoice"] = inv["id"]
    if sub is not None:
        sub["latest_invoice"] = inv["id"]
    emit(state, "invoice.created", inv)
    return inv


def finalize(state: State, inv: Obj, now: int) -> None:
    cust = state.objects[inv["customer"]]
    applied = int(inv["total"]) + int(cust["balance"])
    inv["ending_balance"] = min(applied, 0)
    cust["balance"] = min(applied, 0)
    inv["number"] = f"{cust['invoice_prefix']}-{int(cust['next_invoice_sequence']):04d}"
    cust["next_invoice_sequence"] = int(cust["next_invoice_sequence"]) + 1
    inv["status"] = "open"
    inv["effective_at"] = now
    inv["status_transitions"]["finalized_at"] = now
    inv["hosted_invoice_url"] = f"https://invoice.stripe.com/i/emulated/{inv['id']}"
    emit(state, "invoice.finalized", inv)


def _payer(state: State, sub: Obj | None, cust: Obj | None) -> str | None:
    """The card an invoice charges: the subscription's ``default_payment_method``, else the
    customer's ``invoice_settings.default_payment_method``."""
    if sub is not None and sub.get("default_payment_method"):
        return str(sub["default_payment_method"])
    if cust is None and sub is not None:
        cust = state.objects.get(str(sub["customer"]))
    pm = cust["invoice_settings"].get("default_payment_method") if cust else None
    return str(pm) if pm else None


def subscription_of(state: State, inv: Obj) -> Obj | None:
    parent = inv.get("parent") or {}
    sub_id = (parent.get("subscription_details") or {}).get("subscription")
    return state.objects.get(str(sub_id)) if sub_id else None


def attempt(
    state: State, inv: Obj, now: int, *, pm_id: str | None = None, on_session: bool = False
) -> bool:
    """Charge the invoice (``pm_id``, else the subscription's or customer's default card);
    emit paid / payment_failed. The failure is kept for the caller in ``_outcome``."""
    cust = state.objects[inv["customer"]]
    payer: str | None = None
    if int(inv["amount_due"]) == 0:
        result = payment_methods.PAID
    else:
        payer = pm_id or _payer(state, subscription_of(state, inv), cust)
        result = payment_methods.outcome(
            payment_methods.behaviour_of(state, payer), on_session=on_session
        )
        inv["attempt_count"] = int(inv["attempt_count"]) + 1
        inv["attempted"] = True
    inv["_outcome"] = asdict(result)  # plain data: the state file keeps it as JSON
    if result.ok:
        if int(inv["amount_due"]) > 0:
            payments.record_invoice_payment(state, inv, payer, now)
        mark_paid(state, inv, now)
        return True
    count = int(inv["attempt_count"])
    # No automatic retries for a first invoice, a pending update's invoice, or a payment that
    # needs the customer to authenticate (https://support.stripe.com/topics/3ds).
    automatic = (
        inv["billing_reason"] != "subscription_create"
        and not inv.get("_no_retry")
        and result.code != "authentication_required"
    )
    if automatic and count <= len(RETRY_DELAYS_DAYS):
        inv["next_payment_attempt"] = now + RETRY_DELAYS_DAYS[count - 1] * DAY
    else:
        inv["next_payment_attempt"] = None
    cust["delinquent"] = True
    emit(state, "invoice.payment_failed", inv)
    if result.code == "authentication_required":
        emit(state, "invoice.payment_action_required", inv)
    return False


def mark_paid(state: State, inv: Obj, now: int) -> None:
    """The invoice's amount due was just paid (its payment is recorded): paid, with events."""
    cust = state.objects[inv["customer"]]
    inv["status"] = "paid"
    inv["amount_paid"] = inv["amount_due"]
    inv["amount_remaining"] = 0
    inv["attempted"] = True
    inv["next_payment_attempt"] = None
    inv["status_transitions"]["paid_at"] = now
    if cust.get("delinquent"):
        cust["delinquent"] = False
    emit(state, "invoice.paid", inv)
    emit(state, "invoice.payment_succeeded", inv)


def failure_of(inv: Obj) -> payment_methods.Outcome:
    """The card error of the invoice's last failed attempt."""
    found = inv.get("_outcome")
    return payment_methods.Outcome(**found) if isinstance(found, dict) else payment_methods.DECLINED


def settle(
    state: State,
    inv: Obj,
    sub: Obj | None,
    now: int,
    *,
    charge: bool = True,
    on_session: bool = False,
) -> bool:
    """Finalize and attempt payment, then move the subscription's status accordingly.

    ``charge=False`` (``default_incomplete``): the invoice is left open for the customer to
    confirm; nothing is charged.
    """
    finalize(state, inv, now)
    before = objects.snapshot(state, sub) if sub is not None else None
    if charge or int(inv["amount_due"]) == 0:
        ok = attempt(state, inv, now, on_session=on_session)
    else:
        ok = False
        payments.open_invoice_intent(state, inv, _payer(state, sub, None), now)
    if sub is not None and before is not None:
        if ok and sub["status"] in ("incomplete", "past_due") and not open_invoices(state, sub):
            sub["status"] = "active"
        elif not ok and inv["billing_reason"] == "subscription_create":
            sub["status"] = "incomplete"
        elif not ok and sub["status"] == "active":
            sub["status"] = "past_due"
        emit_update(state, "customer.subscription.updated", sub, before)
    return ok


def open_invoices(state: State, sub: Obj) -> list[Obj]:
    return [
        o
        for o in state.objects.values()
        if o.get("object") == "invoice"
        and o["status"] == "open"
        and o.get("parent")
        and o["parent"]["subscription_details"]["subscription"] == sub["id"]
    ]


def retry(state: State, inv: Obj, now: int) -> None:
    """A scheduled automatic retry; after the last one fails the subscription is canceled."""
    sub_id = inv["parent"]["subscription_details"]["subscription"] if inv.get("parent") else None
    sub = state.objects.get(sub_id) if sub_id else None
    before = objects.snapshot(state, sub) if sub is not None else None
    ok = attempt(state, inv, now)
    if sub is None or before is None:
        return
    if ok:
        if sub["status"] == "past_due" and not open_invoices(state, sub):
            sub["status"] = "active"
        emit_update(state, "customer.subscription.updated", sub, before)
    elif inv["next_payment_attempt"] is None and sub["status"] not in (
        "canceled",
        "incomplete_expired",
    ):
        cancel(state, sub, now, reason="payment_failed")


def cancel(
    state: State,
    sub: Obj,
    now: int,
    *,
    reason: str | None = "cancellation_requested",
    prorate_unused: bool = False,
) -> None:
    if prorate_unused and sub["status"] in ("active", "past_due"):
        start, end = current_period(state, sub)
        for line in prorations(state, current_specs(state, sub), [], start, end, now):
            _pending_item(state, sub, line, now)
    sub["status"] = "canceled"
    sub["canceled_at"] = sub["canceled_at"] or now
    sub["ended_at"] = now
    sub["cancellation_details"]["reason"] = reason
    sched_id = sub.get("schedule")
    if sched_id and sched_id in state.objects:
        sched = state.objects[sched_id]
        if sched["status"] in ("active", "not_started"):
            sched["status"] = "canceled"
            sched["canceled_at"] = now
            emit(state, "subscription_schedule.canceled", sched)
    emit(state, "customer.subscription.deleted", sub)


def renew(state: State, sub: Obj, at: int) -> None:
    """The period ended at ``at``: cancel if asked to, else start the next period and invoice it."""
    before = objects.snapshot(state, sub)
    if sub["cancel_at_period_end"] or (
        sub["cancel_at"] is not None and int(sub["cancel_at"]) <= at
    ):
        cancel(state, sub, at)
        return
    trial_ended = sub["status"] == "trialing"
    if trial_ended and not _payer(state, sub, None):
        behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
        if behavior == "cancel":
            cancel(state, sub, at, reason=None)
            return
        if behavior == "pause":
            sub["status"] = "paused"
            sub["pause_collection"] = None
            emit_update(state, "customer.subscription.paused", sub, before)
            emit_update(state, "customer.subscription.updated", sub, before)
            return
    specs = current_specs(state, sub)
    ended_start = current_period(state, sub)[0]
    sub["_cycle"] = int(sub.get("_cycle", 0)) + 1
    start, end = period_for_cycle(sub, specs[0].price, int(sub["_cycle"]))
    for item_id in sub["_item_ids"]:
        state.objects[item_id]["current_period_start"] = start
        state.objects[item_id]["current_period_end"] = end
    cust = state.objects[sub["customer"]]
    # The invoice's period is the one that just ended; its lines bill the new one.
    inv = create_invoice(
        state,
        cust,
        sub,
        "subscription_cycle",
        at,
        start,
        end,
        specs,
        pending_for(state, sub),
        invoice_period=(ended_start, at),
    )
    finalize(state, inv, at)
    ok = attempt(state, inv, at)
    if trial_ended:
        # The first paid invoice after a trial: active once paid, else past_due
        # (https://docs.stripe.com/billing/subscriptions/trials).
        sub["status"] = "active" if ok else "past_due"
    elif not ok and sub["status"] == "active":
        sub["status"] = "past_due"
    emit_update(state, "customer.subscription.updated", sub, before)


def trial_will_end(state: State, sub: Obj, at: int) -> None:
    """``customer.subscription.trial_will_end``: three days before the trial ends (at once for
    a shorter trial), once (https://docs.stripe.com/billing/subscriptions/trials)."""
    sub["_trial_warned"] = True
    emit(state, "customer.subscription.trial_will_end", sub, now=at)


def trial_warning_at(sub: Obj) -> int | None:
    """When ``trial_will_end`` is due for a trialing subscription that was not warned yet."""
    if sub["status"] != "trialing" or sub.get("_trial_warned") or not sub.get("trial_end"):
        return None
    return max(int(sub["trial_end"]) - TRIAL_WARNING, int(sub["trial_start"] or 0))


def start_subscription(
    state: State,
    cust: Obj,
    specs: list[ItemSpec],
    metadata: Obj,
    now: int,
    *,
    payment_behavior: str = "allow_incomplete",
    default_payment_method: str | None = None,
    on_session: bool = False,
    trial_end: int | None = None,
    missing_payment_method: str = "create_invoice",
) -> tuple[Obj, Obj]:
    """Create a subscription with its first invoice, paid (active) or not (incomplete).

    With ``trial_end`` the subscription starts ``trialing`` with a $0 first invoice whose lines
    say "Trial period for <product>"; its first period (and billing cycle anchor) ends at
    ``trial_end``, when the first paid invoice is made
    (https://docs.stripe.com/billing/subscriptions/trials).

    ``error_if_incomplete``: a first payment that would fail is refused (402) and nothing is
    created; ``default_incomplete``: the first invoice is left open, unpaid, for the customer
    to confirm (the subscription starts ``active`` if nothing is due).
    """
    check_items(specs)
    if payment_behavior == "error_if_incomplete" and trial_end is None:
        due = max(sum(amount_for(s.price, s.quantity) for s in specs) + int(cust["balance"]), 0)
        payer = default_payment_method or cust["invoice_settings"].get("default_payment_method")
        result = charge_preview(state, payer, due)
        if not result.ok:
            raise result.error()
    sub = objects.subscription(
        now,
        customer_id=cust["id"],
        currency=specs[0].price["currency"],
        metadata=metadata,
        clock=cust.get("test_clock"),
    )
    sub["_cycle"] = 0
    sub["default_payment_method"] = default_payment_method
    state.add(sub)
    if trial_end is not None:
        # The next cycle (0) starts at the anchor, the trial's end.
        sub["_cycle"] = -1
        sub["billing_cycle_anchor"] = trial_end
        sub["status"] = "trialing"
        sub["trial_start"], sub["trial_end"] = now, trial_end
        sub["trial_settings"]["end_behavior"]["missing_payment_method"] = missing_payment_method
        start, end = now, trial_end
    else:
        start, end = period_for_cycle(sub, specs[0].price, 0)
    for spec in specs:
        sub["_item_ids"].append(_add_item(state, sub, spec, now, start, end)["id"])
    emit(state, "customer.subscription.created", sub)
    inv = create_invoice(
        state,
        cust,
        sub,
        "subscription_create",
        now,
        start,
        end,
        specs,
        [],
        trial=trial_end is not None,
    )
    settle(
        state,
        inv,
        sub,
        now,
        charge=payment_behavior != "default_incomplete",
        on_session=on_session,
    )
    return sub, inv


def _param(parent: str, name: str) -> str:
    """``name``, or ``parent[name]`` when the trial is nested (``subscription_data``)."""
    return f"{parent}[{name}]" if parent else name


def trial_end_of(now: int, days: int | None, end: int | None, label: str = "") -> int | None:
    """The trial's end from ``trial_period_days`` or ``trial_end`` (a timestamp or ``now``:
    no trial), checked as Stripe does."""
    if days is not None and end is not None:
        raise invalid(
            _param(label, "trial_end"), "You cannot set both trial_end and trial_period_days."
        )
    if days is not None:
        if not 1 <= days <= MAX_TRIAL_DAYS:
            raise invalid(
                _param(label, "trial_period_days"),
                f"The trial period must be between 1 and {MAX_TRIAL_DAYS} days.",
            )
        return now + days * DAY
    if end is None:
        return None
    if end <= now:
        raise invalid(
            _param(label, "trial_end"),
            "Invalid timestamp: must be an integer Unix timestamp in the future.",
        )
    if end > now + MAX_TRIAL_DAYS * DAY:
        raise invalid(
            _param(label, "trial_end"), f"The trial period must be {MAX_TRIAL_DAYS} days or less."
        )
    return end


def missing_payment_method_of(settings: Obj, label: str = "") -> str:
    end_behavior = settings.get("end_behavior") if isinstance(settings, dict) else None
    value = (
        (end_behavior or {}).get("missing_payment_method")
        if isinstance(end_behavior, dict)
        else None
    )
    if value in (None, ""):
        return "create_invoice"
    if value not in MISSING_PAYMENT_METHOD:
        raise invalid(
            _param(label, "trial_settings") + "[end_behavior][missing_payment_method]",
            "Invalid missing_payment_method: must be one of cancel, create_invoice, or pause",
        )
    return str(value)


def new_specs(state: State, entries: list[Any], label: str = "items") -> list[ItemSpec]:
    specs = resolve_items(state, [], entries, label) if entries else []
    if not specs:
        raise missing(label)
    return specs
