"""Subscription schedules: phases that change a subscription's items at given times."""

from __future__ import annotations

from stripe_emulator import billing, objects
from stripe_emulator.events import emit, emit_update
from stripe_emulator.periods import add_intervals
from stripe_emulator.protocol import (
    Obj,
    StripeError,
    get_dict,
    get_int,
    invalid,
    merge_metadata,
    missing,
)
from stripe_emulator.store import State, new_id


def new_schedule(state: State, sub: Obj, now: int) -> Obj:
    start, end = billing.current_period(state, sub)
    specs = billing.current_specs(state, sub)
    sched: Obj = {
        "id": new_id("sub_sched_"),
        "object": "subscription_schedule",
        "application": None,
        "billing_mode": {"type": "classic"},
        "canceled_at": None,
        "completed_at": None,
        "created": now,
        "current_phase": {"end_date": end, "start_date": start},
        "customer": sub["customer"],
        "customer_account": None,
        "default_settings": {
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": "automatic",
            "billing_thresholds": None,
            "collection_method": "charge_automatically",
            "default_payment_method": None,
            "description": None,
            "invoice_settings": {
                "account_tax_ids": None,
                "days_until_due": None,
                "issuer": {"type": "self"},
            },
            "on_behalf_of": None,
            "transfer_data": None,
        },
        "end_behavior": "release",
        "livemode": False,
        "metadata": {},
        "phases": [_phase(specs, start, end, "create_prorations", {})],
        "released_at": None,
        "released_subscription": None,
        "status": "active",
        "subscription": sub["id"],
        "test_clock": sub["test_clock"],
        "_phase_index": 0,
    }
    return sched


def _phase(
    specs: list[billing.ItemSpec], start: int, end: int, behavior: str, metadata: Obj
) -> Obj:
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "billing_cycle_anchor": None,
        "billing_thresholds": None,
        "collection_method": None,
        "currency": specs[0].price["currency"],
        "default_payment_method": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "end_date": end,
        "invoice_settings": None,
        "items": [
            {
                "billing_thresholds": None,
                "discounts": [],
                "metadata": dict(s.metadata),
                "plan": s.price["id"],
                "price": s.price["id"],
                "quantity": s.quantity,
                "tax_rates": [],
            }
            for s in specs
        ],
        "metadata": metadata,
        "on_behalf_of": None,
        "proration_behavior": behavior,
        "start_date": start,
        "transfer_data": None,
        "trial_end": None,
    }


def set_phases(state: State, sched: Obj, params: Obj, now: int) -> None:
    """``phases[i][items][j][price|quantity]``, ``start_date``/``end_date``/``duration``."""
    if "end_behavior" in params:
        if params["end_behavior"] not in ("release", "cancel"):
            raise invalid("end_behavior", "Invalid end_behavior: must be one of release, cancel")
        sched["end_behavior"] = params["end_behavior"]
    if "metadata" in params:
        sched["metadata"] = merge_metadata(sched["metadata"], params["metadata"])
    raw = params.get("phases")
    if raw is None:
        return
    if not isinstance(raw, list) or not raw:
        raise invalid("phases", "Invalid array: phases")
    phases: list[Obj] = []
    previous_end: int | None = None
    for i, entry in enumerate(raw):
        where = f"phases[{i}]"
        if not isinstance(entry, dict):
            raise invalid(where, "Invalid hash")
        entries = entry.get("items")
        if not isinstance(entries, list) or not entries:
            raise missing(f"{where}[items]")
        specs = billing.resolve_items(state, [], entries, f"{where}[items]")
        start_raw = entry.get("start_date")
        if start_raw == "now":
            start = now
        elif start_raw not in (None, ""):
            start = int(str(start_raw))
        elif previous_end is not None:
            start = previous_end
        elif sched["phases"]:
            start = int(sched["phases"][0]["start_date"])
        else:
            start = now
        duration = get_dict(entry, "duration")
        end_raw = entry.get("end_date")
        if duration and end_raw not in (None, ""):
            raise StripeError(
                400,
                "You may only specify one of these parameters: duration, end_date.",
                code="parameters_exclusive",
                param=f"{where}[duration]",
            )
        if end_raw == "now":
            end = now
        elif end_raw not in (None, ""):
            end = int(str(end_raw))
        elif duration:
            # duration[interval|interval_count] replaced `iterations` in 2025 (API changelog).
            unit = duration.get("interval")
            if unit not in ("day", "week", "month", "year"):
                raise missing(f"{where}[duration][interval]")
            count = get_int(duration, "interval_count", label=f"{where}[duration][interval_count]")
            end = add_intervals(start, str(unit), 1, count or 1)
        elif i == len(raw) - 1:
            interval, count = billing.interval_of(specs[0].price)
            end = add_intervals(start, interval, count, 1)
        else:
            raise missing(f"{where}[end_date]")
        if end <= start:
            raise invalid(f"{where}[end_date]", "The phase end_date must be after its start_date.")
        behavior = str(entry.get("proration_behavior") or "create_prorations")
        meta = entry.get("metadata") if isinstance(entry.get("metadata"), dict) else {}
        phases.append(_phase(specs, start, end, behavior, dict(meta or {})))
        previous_end = end
    sched["phases"] = phases
    index = current_index(sched, now)
    sched["_phase_index"] = index
    if index >= 0:
        behavior = str(params.get("proration_behavior") or "create_prorations")
        apply_phase(state, sched, index, now, behavior)
    _update_current(sched)


def current_index(sched: Obj, now: int) -> int:
    index = -1
    for i, phase in enumerate(sched["phases"]):
        if int(phase["start_date"]) <= now:
            index = i
    return index


def _update_current(sched: Obj) -> None:
    index = int(sched["_phase_index"])
    if 0 <= index < len(sched["phases"]) and sched["status"] == "active":
        phase = sched["phases"][index]
        sched["current_phase"] = {"end_date": phase["end_date"], "start_date": phase["start_date"]}
    else:
        sched["current_phase"] = None


def apply_phase(state: State, sched: Obj, index: int, now: int, behavior: str) -> None:
    sub = state.objects.get(str(sched["subscription"]))
    if sub is None or sub["status"] in ("canceled", "incomplete_expired"):
        return
    phase = sched["phases"][index]
    current = billing.current_specs(state, sub)
    by_price = {s.price["id"]: s for s in current}
    specs: list[billing.ItemSpec] = []
    for entry in phase["items"]:
        p = state.objects[entry["price"]]
        existing = by_price.get(p["id"])
        item_id = existing.item_id if existing else new_id("si_", 14)
        specs.append(
            billing.ItemSpec(
                item_id, p, int(entry["quantity"]), dict(entry["metadata"]), existing is None
            )
        )
    same = [(s.price["id"], s.quantity) for s in specs] == [
        (s.price["id"], s.quantity) for s in current
    ]
    if same:
        return
    before = objects.snapshot(state, sub)
    billing.change_items(state, sub, specs, behavior, None, now)
    emit_update(state, "customer.subscription.updated", sub, before)


def next_transition(sched: Obj) -> int | None:
    if sched["status"] != "active":
        return None
    index = int(sched["_phase_index"])
    if index + 1 < len(sched["phases"]):
        return int(sched["phases"][index + 1]["start_date"])
    return int(sched["phases"][-1]["end_date"])


def transition(state: State, sched: Obj, at: int) -> None:
    """The clock reached the next phase's start (or the last phase's end)."""
    index = int(sched["_phase_index"])
    if index + 1 < len(sched["phases"]):
        sched["_phase_index"] = index + 1
        apply_phase(
            state, sched, index + 1, at, str(sched["phases"][index + 1]["proration_behavior"])
        )
        _update_current(sched)
        emit(state, "subscription_schedule.updated", sched)
        return
    if sched["end_behavior"] == "cancel":
        sched["status"] = "completed"
        sched["completed_at"] = at
        _update_current(sched)
        sub = state.objects.get(str(sched["subscription"]))
        emit(state, "subscription_schedule.completed", sched)
        if sub is not None and sub["status"] not in ("canceled", "incomplete_expired"):
            sub["schedule"] = None
            billing.cancel(state, sub, at)
        return
    release(state, sched, at)


def sync_cancel_date(state: State, sched: Obj) -> None:
    """``end_behavior=cancel`` shows on the subscription as ``cancel_at`` = the last phase's end.

    The date is marked as the schedule's own (``_cancel_by_schedule``) so that switching back
    to ``release`` (or releasing without ``preserve_cancel_date``) takes only that one away.
    """
    sub = state.objects.get(str(sched["subscription"]))
    if sub is None or sub["status"] in ("canceled", "incomplete_expired"):
        return
    before = objects.snapshot(state, sub)
    if sched["end_behavior"] == "cancel" and sched["phases"]:
        sub["cancel_at"] = int(sched["phases"][-1]["end_date"])
        sub["cancel_at_period_end"] = False
        sub["_cancel_by_schedule"] = True
    elif sub.get("_cancel_by_schedule"):
        sub["cancel_at"] = None
        sub["_cancel_by_schedule"] = False
    emit_update(state, "customer.subscription.updated", sub, before)


def release(state: State, sched: Obj, now: int, *, preserve_cancel_date: bool = False) -> None:
    if sched["status"] not in ("active", "not_started"):
        raise StripeError(
            400,
            f"You cannot release a subscription schedule that is currently in the `{sched['status']}` status.",
            code="subscription_schedule_not_active",
        )
    sub = state.objects.get(str(sched["subscription"]))
    sched["status"] = "released"
    sched["released_at"] = now
    sched["released_subscription"] = sched["subscription"]
    sched["subscription"] = None
    _update_current(sched)
    if sub is not None:
        before = objects.snapshot(state, sub)
        sub["schedule"] = None
        if sub.get("_cancel_by_schedule") and not preserve_cancel_date:
            sub["cancel_at"] = None
        sub["_cancel_by_schedule"] = False
        emit_update(state, "customer.subscription.updated", sub, before)
    emit(state, "subscription_schedule.released", sched)


def cancel_schedule(state: State, sched: Obj, now: int) -> None:
    if sched["status"] not in ("active", "not_started"):
        raise StripeError(
            400,
            f"You cannot cancel a subscription schedule that is currently in the `{sched['status']}` status.",
            code="subscription_schedule_not_active",
        )
    sched["status"] = "canceled"
    sched["canceled_at"] = now
    _update_current(sched)
    sub = state.objects.get(str(sched["subscription"]))
    if sub is not None and sub["status"] not in ("canceled", "incomplete_expired"):
        billing.cancel(state, sub, now)
    emit(state, "subscription_schedule.canceled", sched)
