"""What runs at the period end: a pending seat decrease and a cancellation, together.

Stripe lets a subscription schedule own its subscription: while one is attached, the
subscription's ``cancel_at_period_end``/``cancel_at`` cannot be changed, so every change of
either goes through here. The four states:

- nothing pending: no schedule, ``cancel_at_period_end`` false;
- cancel only: no schedule, ``cancel_at_period_end`` (or a ``cancel_at`` kept by a release
  with ``preserve_cancel_date``);
- decrease only: a schedule with this period as it is, the next at the new quantity, then
  ``end_behavior: release``;
- decrease and cancel: a schedule with this period only and ``end_behavior: cancel``; the
  decrease waits in the schedule's metadata, so ``resume`` brings it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import stripe
from stripe.params import SubscriptionScheduleUpdateParams, SubscriptionUpdateParams

from seatbill.services.billing.core import Billing, LiveSubscription
from seatbill.services.stripe_gateway import intent_key

PENDING_SEATS_KEY = "seatbill_pending_seats"


@dataclass(frozen=True)
class PeriodEnd:
    """What happens at the end of the current period."""

    pending_seats: int | None
    cancel: bool
    # The schedule read to learn this (None without one), so a change need not read it again.
    schedule: stripe.SubscriptionSchedule | None = field(default=None, compare=False)


async def period_end_of(billing: Billing, view: LiveSubscription) -> PeriodEnd:
    """What the subscription (and its schedule, if any) will do at the period end."""
    if view.schedule_id is None:
        return PeriodEnd(None, view.cancel_at_period_end)
    schedule = await billing.stripe().retrieve_subscription_schedule(view.schedule_id)
    if schedule.end_behavior == "cancel":
        metadata = schedule.metadata.to_dict() if schedule.metadata else {}
        raw = str(metadata.get(PENDING_SEATS_KEY) or "")
        return PeriodEnd(int(raw) if raw.isdigit() else None, True, schedule)
    current = schedule.current_phase
    after = int(current.start_date) if current else view.period_start
    upcoming = [p for p in schedule.phases if int(p.start_date) > after]
    if not upcoming or view.seat is None:
        return PeriodEnd(None, view.cancel_at_period_end, schedule)
    phase = min(upcoming, key=lambda p: int(p.start_date))
    seat_quantities = [
        int(item.quantity or 0)
        for item in phase.items
        if _price_id(item.price) == view.seat.price_id
    ]
    pending = seat_quantities[0] if seat_quantities else None
    return PeriodEnd(pending if pending != view.seat_quantity else None, False, schedule)


async def set_period_end(
    billing: Billing, view: LiveSubscription, current: PeriodEnd, target: PeriodEnd, version: int
) -> stripe.Subscription:
    """Make the period end do ``target`` instead of ``current`` (what ``period_end_of`` read);
    returns the subscription."""
    gateway = billing.stripe()
    fingerprint = view.fingerprint()
    label = f"pending={target.pending_seats}/cancel={target.cancel}"
    if target.pending_seats is None:
        cancel_kept = False
        if view.schedule_id is not None:
            schedule = current.schedule or await gateway.retrieve_subscription_schedule(
                view.schedule_id
            )
            preserve = target.cancel and schedule.end_behavior == "cancel"
            await gateway.release_subscription_schedule(
                view.schedule_id,
                preserve_cancel_date=preserve,
                idempotency_key=intent_key("schedule-release", view.schedule_id, preserve),
            )
            cancel_kept = preserve
        sub = await gateway.retrieve_subscription(view.id)
        if not cancel_kept and _cancels(sub) != target.cancel:
            params: SubscriptionUpdateParams = (
                {"cancel_at_period_end": True}
                if target.cancel
                else (
                    {"cancel_at": ""}
                    if sub.cancel_at and not sub.cancel_at_period_end
                    else {"cancel_at_period_end": False}
                )
            )
            key = intent_key("subscription", view.id, label, fingerprint, version)
            sub = await gateway.update_subscription(view.id, params, idempotency_key=key)
        return sub
    schedule_id = view.schedule_id
    if schedule_id is None:
        created = await gateway.create_subscription_schedule(
            view.id, idempotency_key=intent_key("schedule", view.id, fingerprint, version)
        )
        schedule_id = created.id
        current_start = int(created.phases[0].start_date)
    else:
        existing = current.schedule or await gateway.retrieve_subscription_schedule(schedule_id)
        phase = existing.current_phase
        current_start = int(phase.start_date) if phase else view.period_start
    await gateway.update_subscription_schedule(
        schedule_id,
        _phases(view, current_start, target),
        idempotency_key=intent_key("schedule-phases", schedule_id, label, fingerprint, version),
    )
    return await gateway.retrieve_subscription(view.id)


def _phases(
    view: LiveSubscription, current_start: int, target: PeriodEnd
) -> SubscriptionScheduleUpdateParams:
    assert view.seat is not None and target.pending_seats is not None
    now_items = [i for i in (view.base, view.seat, *view.others) if i is not None]
    this_period: SubscriptionScheduleUpdateParams = {
        "proration_behavior": "none",
        "phases": [
            {
                "items": [{"price": i.price_id, "quantity": i.quantity} for i in now_items],
                "start_date": current_start,
                "end_date": view.period_end,
                "proration_behavior": "none",
            }
        ],
    }
    if target.cancel:
        return {
            **this_period,
            "end_behavior": "cancel",
            "metadata": {PENDING_SEATS_KEY: str(target.pending_seats)},
        }
    seat_id = view.seat.id
    next_period = {
        "items": [
            {
                "price": i.price_id,
                "quantity": target.pending_seats if i.id == seat_id else i.quantity,
            }
            for i in now_items
        ],
        "duration": {"interval": view.interval.value if view.interval else "month"},
        "proration_behavior": "none",
    }
    return {
        "proration_behavior": "none",
        "end_behavior": "release",
        "metadata": {PENDING_SEATS_KEY: ""},
        "phases": [*this_period["phases"], next_period],  # type: ignore[list-item]
    }


def _cancels(sub: stripe.Subscription) -> bool:
    return bool(sub.cancel_at_period_end or sub.cancel_at)


def _price_id(price: object) -> str:
    return price if isinstance(price, str) else str(getattr(price, "id", ""))
