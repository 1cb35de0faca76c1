"""Seat changes on licensed plans: more seats now (prorated, invoiced at once); fewer seats at
the next period start through a subscription schedule (no credit, seats usable until then), or
at once with a prorated credit when the plan says ``seat_decrease = "prorate"``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from stripe.params import SubscriptionUpdateParams

from seatbill.catalog import Plan, SeatDecrease, SeatMode
from seatbill.models import Subscription, User, Workspace
from seatbill.services import seats
from seatbill.services.billing.core import (
    MAX_SEATS,
    Billing,
    LiveSubscription,
    audit,
    audit_state,
    billing_version,
    charge_now,
    check_licensed_seats,
    mirror_now,
    not_restricted,
    pending_seats,
    proration_timestamp,
    provider_errors,
    read_subscription,
    require_manager,
    require_subscription,
)
from seatbill.services.billing.schedules import PeriodEnd, period_end_of, set_period_end
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.stripe_gateway import intent_key

# Seats ----------------------------------------------------------------------------------


# When a change's money moves: invoiced at once, at the next period start (a schedule), or as
# prorations added to the next invoice (auto plans: the seat-sync worker's quantity updates).
Timing = Literal["now", "period_end", "next_invoice"]


@dataclass(frozen=True)
class SeatChange:
    """How a seat change is made: now (prorated), at the next period start, or (auto plans,
    previews only) as the seat-sync worker makes it when members join or leave."""

    view: LiveSubscription
    plan: Plan
    seats: int
    timing: Timing

    @property
    def at_period_end(self) -> bool:
        return self.timing == "period_end"

    @property
    def is_increase(self) -> bool:
        return self.seats > self.view.seat_quantity


async def seat_change(
    billing: Billing, workspace: Workspace, seat_count: int, *, preview: bool = False
) -> SeatChange:
    view = await require_subscription(billing, workspace)
    plan = view.plan
    if plan is None or view.seat is None:
        raise DomainError(
            ErrorCode.VALIDATION, "This subscription's seats are not managed by Seatbill"
        )
    if plan.seat_mode is SeatMode.AUTO and preview:
        # "What would N members cost?": any count the plan allows, billed as seat sync bills.
        if seat_count < 1 or seat_count > (plan.max_seats or MAX_SEATS):
            raise DomainError(
                ErrorCode.SEAT_LIMIT_REACHED if seat_count > 1 else ErrorCode.VALIDATION,
                f"The {plan.name} plan bills between 1 and {plan.max_seats or MAX_SEATS} seats",
                ("input", "seats"),
            )
        return SeatChange(view=view, plan=plan, seats=seat_count, timing="next_invoice")
    if plan.seat_mode is SeatMode.AUTO:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"On the {plan.name} plan seats follow the members automatically; invite or "
            "remove members instead",
            ("input", "seats"),
        )
    check_licensed_seats(plan, await seats.billable_count(workspace.id), seat_count)
    decrease = seat_count < view.seat_quantity
    later = decrease and plan.seat_decrease is SeatDecrease.PERIOD_END
    return SeatChange(
        view=view, plan=plan, seats=seat_count, timing="period_end" if later else "now"
    )


def seat_items(change: SeatChange) -> list[dict[str, Any]]:
    assert change.view.seat is not None
    return [{"id": change.view.seat.id, "quantity": change.seats}]


async def update_seats(
    billing: Billing,
    viewer: User,
    raw_workspace_id: str,
    seat_count: int,
    proration_date: datetime | None = None,
) -> Subscription | None:
    """Licensed plans: more seats now (prorated charge, invoiced at once); fewer seats at the
    next period start (pending, no credit) or, when the plan prorates decreases, now with a
    prorated credit. Asking for the current quantity drops a pending decrease. A preview's
    ``proration_date`` makes the charge equal the preview's to the cent."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "updateSeats")
    async with provider_errors():
        change = await seat_change(billing, workspace, seat_count)
        view = change.view
        if change.is_increase:
            await not_restricted(workspace, "adding seats")
        before_row = await Subscription.get_or_none(stripe_id=view.id)
        before = audit_state(view, pending_seats(before_row))
        version = await billing_version(workspace)
        period_end = await period_end_of(billing, view)
        if change.at_period_end:
            # A decrease after "cancel at period end" keeps the cancellation.
            action = "billing.seat_decrease_scheduled"
            target = PeriodEnd(seat_count, period_end.cancel)
            sub = await set_period_end(billing, view, period_end, target, version)
        elif seat_count == view.seat_quantity:
            if period_end.pending_seats is None:
                return await mirror_now(billing, view.raw)  # nothing to change
            action = "billing.seat_decrease_dropped"
            target = PeriodEnd(None, period_end.cancel)
            sub = await set_period_end(billing, view, period_end, target, version)
        else:
            action = "billing.seats_increased" if change.is_increase else "billing.seats_decreased"
            at = await proration_timestamp(billing, view, proration_date)
            if view.schedule_id is not None:  # a pending decrease gives way; a cancellation stays
                await set_period_end(
                    billing, view, period_end, PeriodEnd(None, period_end.cancel), version
                )
            params: SubscriptionUpdateParams = {
                "items": [{"id": view.seat.id, "quantity": seat_count}],  # type: ignore[union-attr]
                "proration_behavior": "always_invoice",
                **({"proration_date": at} if at is not None else {}),
            }
            key = intent_key(
                "subscription", view.id, f"seats={seat_count}", at, view.fingerprint(), version
            )
            sub = await charge_now(billing, view, params, key)
        row = await mirror_now(billing, sub)
    after = read_subscription(billing.catalog, sub)
    await audit(workspace, viewer, action, before, audit_state(after, pending_seats(row)))
    return row
