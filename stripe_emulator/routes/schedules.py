"""/v1/subscription_schedules"""

from __future__ import annotations

from stripe_emulator import objects, schedules
from stripe_emulator.events import emit, emit_update
from stripe_emulator.protocol import Obj, StripeError, get_bool, get_str, paginate
from stripe_emulator.routes.core import Ctx, Router


def create(ctx: Ctx) -> Obj:
    state = ctx.state
    sub_id = get_str(ctx.params, "from_subscription")
    if not sub_id:
        raise StripeError(
            400,
            "The emulator supports creating schedules with from_subscription only.",
            code="parameter_missing",
            param="from_subscription",
        )
    sub = state.get(sub_id, "subscription", "from_subscription")
    if sub.get("schedule"):
        raise StripeError(
            400,
            f"You cannot migrate a subscription that is already attached to a schedule: `{sub['schedule']}`.",
            param="from_subscription",
        )
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeError(
            400,
            "You cannot create a schedule from a canceled subscription.",
            param="from_subscription",
        )
    now = ctx.now(sub["customer"])
    sched = schedules.new_schedule(state, sub, now)
    state.add(sched)
    before = objects.snapshot(state, sub)
    sub["schedule"] = sched["id"]
    emit(state, "subscription_schedule.created", sched)
    emit_update(state, "customer.subscription.updated", sub, before)
    return objects.render(state, sched)


def update(ctx: Ctx) -> Obj:
    sched = ctx.state.get(ctx.arg, "subscription_schedule")
    if sched["status"] not in ("active", "not_started"):
        raise StripeError(
            400,
            f"You cannot update a subscription schedule that is currently in the `{sched['status']}` status.",
        )
    schedules.set_phases(ctx.state, sched, ctx.params, ctx.now(sched["customer"]))
    schedules.sync_cancel_date(ctx.state, sched)
    emit(ctx.state, "subscription_schedule.updated", sched)
    return objects.render(ctx.state, sched)


def release(ctx: Ctx) -> Obj:
    sched = ctx.state.get(ctx.arg, "subscription_schedule")
    schedules.release(
        ctx.state,
        sched,
        ctx.now(sched["customer"]),
        preserve_cancel_date=bool(get_bool(ctx.params, "preserve_cancel_date")),
    )
    return objects.render(ctx.state, sched)


def cancel(ctx: Ctx) -> Obj:
    sched = ctx.state.get(ctx.arg, "subscription_schedule")
    schedules.cancel_schedule(ctx.state, sched, ctx.now(sched["customer"]))
    return objects.render(ctx.state, sched)


def list_(ctx: Ctx) -> Obj:
    found = ctx.state.all("subscription_schedule")
    customer = get_str(ctx.params, "customer")
    if customer:
        found = [s for s in found if s["customer"] == customer]
    return paginate(
        found, ctx.params, "/v1/subscription_schedules", lambda o: objects.render(ctx.state, o)
    )


def register(r: Router) -> None:
    r.add("POST", "/v1/subscription_schedules", create)
    r.add("GET", "/v1/subscription_schedules", list_)
    r.retrieve("/v1/subscription_schedules/{id}", "subscription_schedule")
    r.add("POST", "/v1/subscription_schedules/{id}", update)
    r.add("POST", "/v1/subscription_schedules/{id}/release", release)
    r.add("POST", "/v1/subscription_schedules/{id}/cancel", cancel)
