"""Plan switches in place: the base and seat items change price, the seat quantity stays,
the difference is prorated and invoiced at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stripe.params import SubscriptionUpdateParams

from seatbill.catalog import Interval, Plan, PlanPrice, SeatMode
from seatbill.models import Subscription, User, Workspace
from seatbill.services import seats
from seatbill.services.billing.core import (
    Billing,
    LiveSubscription,
    audit,
    audit_state,
    billing_version,
    charge_now,
    find_plan,
    fits_plan,
    mirror_now,
    not_restricted,
    pending_seats,
    plan_price_for,
    proration_timestamp,
    provider_errors,
    read_subscription,
    require_manager,
    require_subscription,
    resolve_price_ids,
)
from seatbill.services.billing.schedules import PeriodEnd, period_end_of, set_period_end
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.stripe_gateway import intent_key

# Plans ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanChange:
    view: LiveSubscription
    plan: Plan
    interval: Interval
    plan_price: PlanPrice
    seats: int


def _yearly(plan_price: PlanPrice, seat_count: int) -> int:
    return plan_price.quote(seat_count) * (12 if plan_price.interval is Interval.MONTH else 1)


async def plan_change(
    billing: Billing, workspace: Workspace, plan_id: str, interval: Interval
) -> PlanChange:
    plan = find_plan(billing.catalog, plan_id)
    plan_price = plan_price_for(plan, interval)
    view = await require_subscription(billing, workspace)
    if view.seat is None:
        raise DomainError(
            ErrorCode.VALIDATION, "This subscription's seats are not managed by Seatbill"
        )
    billable = await seats.billable_count(workspace.id)
    fits_plan(plan, billable)
    if plan.seat_mode is SeatMode.AUTO:
        seat_count = max(1, billable)
    else:
        seat_count = max(view.seat_quantity, billable, 1)
        if plan.max_seats is not None:
            seat_count = min(seat_count, plan.max_seats)
    return PlanChange(view, plan, interval, plan_price, seat_count)


async def plan_items(billing: Billing, change: PlanChange) -> list[dict[str, Any]]:
    """Swap the base and seat items in place (ids kept, so Stripe prorates them)."""
    view = change.view
    assert view.seat is not None
    refs = [change.plan_price.seat] + ([change.plan_price.base] if change.plan_price.base else [])
    ids = await resolve_price_ids(billing, refs)
    seat_price, base_price = ids[0], (ids[1] if len(ids) > 1 else None)
    items: list[dict[str, Any]] = []
    if base_price and view.base:
        items.append({"id": view.base.id, "price": base_price, "quantity": 1})
    elif base_price:
        items.append({"price": base_price, "quantity": 1})
    elif view.base:
        items.append({"id": view.base.id, "deleted": True})
    items.append({"id": view.seat.id, "price": seat_price, "quantity": change.seats})
    return items


def _same_items(view: LiveSubscription, items: list[dict[str, Any]]) -> bool:
    """True when ``items`` would leave every item's price and quantity as they are."""
    current = {i.id: i for i in (view.base, view.seat, *view.others) if i is not None}
    for entry in items:
        item = current.get(str(entry.get("id", "")))
        if item is None or entry.get("deleted"):
            return False
        if entry.get("price", item.price_id) != item.price_id:
            return False
        if entry.get("quantity", item.quantity) != item.quantity:
            return False
    return True


async def swap_plan(
    billing: Billing,
    viewer: User,
    raw_workspace_id: str,
    plan_id: str,
    interval: Interval,
    proration_date: datetime | None = None,
) -> Subscription | None:
    """Switch the live subscription to another plan or interval in place: the base and seat
    items change price, the seat quantity stays (auto plans: the members), the difference is
    prorated and invoiced at once. An interval switch starts a new billing period now. The same
    plan and interval moves a subscription on a superseded price to the catalog's current one."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "switchPlan")
    async with provider_errors():
        change = await plan_change(billing, workspace, plan_id, interval)
        view = change.view
        items = await plan_items(billing, change)
        if _same_items(view, items):
            return await mirror_now(billing, view.raw)
        current = view.plan.price(view.interval) if view.plan and view.interval else None
        costs_more = current is None or _yearly(change.plan_price, change.seats) > _yearly(
            current, view.seat_quantity
        )
        if costs_more or interval != view.interval:
            await not_restricted(workspace, "changing to a plan that costs more")
        before_row = await Subscription.get_or_none(stripe_id=view.id)
        before = audit_state(view, pending_seats(before_row))
        version = await billing_version(workspace)
        at = await proration_timestamp(billing, view, proration_date)
        if view.schedule_id is not None:  # a pending decrease gives way; a cancellation stays
            now = await period_end_of(billing, view)
            await set_period_end(billing, view, now, PeriodEnd(None, now.cancel), version)
        params: SubscriptionUpdateParams = {
            "items": items,  # type: ignore[typeddict-item]
            "proration_behavior": "always_invoice",
            **({"proration_date": at} if at is not None else {}),
        }
        target = f"plan={change.plan.key}/{interval.value}/seats={change.seats}"
        key = intent_key("subscription", view.id, target, at, view.fingerprint(), version)
        sub = await charge_now(billing, view, params, key)
        row = await mirror_now(billing, sub)
    after = read_subscription(billing.catalog, sub)
    await audit(workspace, viewer, "billing.plan_switched", before, audit_state(after))
    return row
