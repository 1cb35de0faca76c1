"""Billing, in the words a billing person uses: start a checkout, update seats, swap the plan,
cancel (at period end by default) and resume, open the portal, preview a change.

Every function checks the viewer (OWNER or ADMIN; a non-member learns nothing), validates the
request against the catalog and the workspace's billable seats (``services.seats``), talks to
Stripe only through the gateway, mirrors the subscription Stripe returns at once (so the API
shows the new state without waiting for the webhook) and writes an audit row.

Money decisions:

- Changes that cost or credit money now are made with ``proration_behavior=always_invoice``:
  Stripe invoices the prorations at once (an increase is charged now; a credit lands on the
  customer's balance and pays the next invoices), so the invoice a preview promised is a real
  invoice the customer can see, to the cent.
- A licensed seat decrease waits for the next period (no credit, seats usable until then)
  through a subscription schedule: the current phase keeps today's items, the next one has
  the new quantity, then the schedule releases the subscription. A plan with
  ``seat_decrease = "prorate"`` decreases at once with a prorated credit instead.
- Idempotency keys are derived from the intent: the subscription, the target state, the state
  we saw, and the workspace's billing version (how many billing mutations it has had), so a
  retried request never applies twice while the next deliberate change gets a new key.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import stripe
from stripe.params import SubscriptionScheduleUpdateParams, SubscriptionUpdateParams
from stripe.params.checkout import SessionCreateParams

from seatbill.catalog import Catalog, Interval, Plan, PlanPrice, PriceRef, SeatDecrease, SeatMode
from seatbill.config import Settings
from seatbill.models import AuditLog, Role, Subscription, User, Workspace
from seatbill.services import mirror, seats
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.stripe_gateway import GatewayError, StripeGateway, intent_key
from seatbill.services.workspaces import require_membership

log = logging.getLogger("seatbill.billing")

MANAGERS = (Role.OWNER, Role.ADMIN)
ENDED = ("canceled", "incomplete_expired")
MAX_URL = 2000
MAX_SEATS = 10_000


@dataclass(frozen=True)
class Billing:
    """What the billing functions need from the running app."""

    gateway: StripeGateway | None
    catalog: Catalog
    settings: Settings

    def stripe(self) -> StripeGateway:
        if self.gateway is None:
            raise DomainError(
                ErrorCode.BILLING_PROVIDER_ERROR, "Billing is not configured on this server"
            )
        return self.gateway


@dataclass(frozen=True)
class Checkout:
    url: str
    session_id: str


@dataclass(frozen=True)
class PreviewLine:
    description: str
    amount: int
    proration: bool


@dataclass(frozen=True)
class Preview:
    """What a change would cost: due now (an invoice made at once) and the next invoice."""

    currency: str
    amount_due_now: int
    next_invoice_total: int
    lines: tuple[PreviewLine, ...]
    effective_at: datetime  # when the change takes effect (now, or the next period start)


# Reading a Stripe subscription ----------------------------------------------------------


@dataclass(frozen=True)
class Item:
    id: str
    price_id: str
    quantity: int


@dataclass(frozen=True)
class LiveSubscription:
    """The parts of a Stripe subscription the rules need."""

    id: str
    status: str
    plan: Plan | None
    interval: Interval | None
    base: Item | None
    seat: Item | None
    others: tuple[Item, ...]
    cancel_at_period_end: bool
    schedule_id: str | None
    test_clock: str | None
    period_start: int
    period_end: int
    raw: stripe.Subscription

    @property
    def seat_quantity(self) -> int:
        return self.seat.quantity if self.seat else 0

    def fingerprint(self) -> str:
        """The state we saw, for idempotency keys."""
        items = ",".join(
            f"{i.id}={i.price_id}x{i.quantity}"
            for i in (self.base, self.seat, *self.others)
            if i is not None
        )
        seen = f"{items}|{self.cancel_at_period_end}|{self.schedule_id}|{self.period_end}"
        return hashlib.sha256(seen.encode()).hexdigest()[:16]


def _id_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return str(value.id)


def _role_of(catalog: Catalog, price: stripe.Price) -> tuple[Plan | None, str | None]:
    """The catalog plan and role of a Stripe price: by id or lookup key, else by the metadata
    catalog sync puts on its prices (a price replaced by a new amount keeps billing)."""
    match = catalog.match_price(price_id=price.id, lookup_key=price.lookup_key)
    if match is not None:
        return match.plan, match.role
    metadata = price.metadata.to_dict() if price.metadata else {}
    plan = catalog.get(str(metadata.get("seatbill_plan", "")))
    role = metadata.get("role")
    return (plan, str(role)) if plan is not None and role in ("base", "seat") else (None, None)


def read_subscription(catalog: Catalog, sub: stripe.Subscription) -> LiveSubscription:
    base: Item | None = None
    seat: Item | None = None
    others: list[Item] = []
    plan: Plan | None = None
    interval: Interval | None = None
    period = (0, 0)
    for raw_item in sub["items"].data:
        price = raw_item.price
        item = Item(raw_item.id, price.id, int(raw_item.quantity or 0))
        found_plan, role = _role_of(catalog, price)
        if found_plan is not None and plan is None:
            plan = found_plan
        if price.recurring is not None:
            interval = Interval(price.recurring.interval)
        period = (int(raw_item.current_period_start), int(raw_item.current_period_end))
        if role == "base" and base is None:
            base = item
        elif role == "seat" and seat is None:
            seat = item
        else:
            others.append(item)
    if seat is None and others:
        # Not from our catalog: the item with the largest quantity is the seat count.
        seat = max(others, key=lambda i: i.quantity)
        others.remove(seat)
    return LiveSubscription(
        id=sub.id,
        status=sub.status,
        plan=plan,
        interval=interval,
        base=base,
        seat=seat,
        others=tuple(others),
        cancel_at_period_end=bool(sub.cancel_at_period_end),
        schedule_id=_id_of(sub.schedule),
        test_clock=_id_of(sub.test_clock),
        period_start=period[0],
        period_end=period[1],
        raw=sub,
    )


# Shared steps ---------------------------------------------------------------------------


@asynccontextmanager
async def _provider_errors() -> AsyncIterator[None]:
    """Stripe's refusal becomes a BILLING_PROVIDER_ERROR with the gateway's safe message."""
    try:
        yield
    except GatewayError as exc:
        raise DomainError(ErrorCode.BILLING_PROVIDER_ERROR, exc.message) from None


async def _manager(viewer: User, raw_workspace_id: str) -> Workspace:
    member = await require_membership(viewer, raw_workspace_id, roles=MANAGERS)
    workspace: Workspace = member.workspace
    return workspace


def _plan(catalog: Catalog, plan_id: str) -> Plan:
    plan = catalog.get(plan_id.strip())
    if plan is None:
        raise DomainError(ErrorCode.VALIDATION, "There is no such plan", ("input", "planId"))
    return plan


def _plan_price(plan: Plan, interval: Interval) -> PlanPrice:
    found = plan.price(interval)
    if found is None:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The {plan.name} plan is not sold per {interval.value}",
            ("input", "interval"),
        )
    return found


def _url(raw: str, field: str) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if len(value) > MAX_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise DomainError(
            ErrorCode.VALIDATION, "Give an absolute http or https URL", ("input", field)
        )
    return value


def _fits_plan(plan: Plan, billable: int, field: str = "planId") -> None:
    if plan.max_seats is not None and billable > plan.max_seats:
        raise DomainError(
            ErrorCode.SEAT_LIMIT_REACHED,
            f"The {plan.name} plan allows at most {plan.max_seats} members; this workspace "
            f"has {billable}. Remove members first.",
            ("input", field),
        )


async def _not_restricted(workspace: Workspace, what: str) -> None:
    await workspace.refresh_from_db(fields=["restricted_at"])
    if workspace.restricted_at is not None:
        raise DomainError(
            ErrorCode.BILLING_RESTRICTED,
            f"Payments for this workspace are failing: pay the open invoice before {what}",
        )


async def _billing_version(workspace: Workspace) -> int:
    """How many billing mutations the workspace has had: part of every update's idempotency
    key, so the same request retried replays while a later identical request is new."""
    count: int = await AuditLog.filter(
        workspace_id=workspace.id, actor_id__isnull=False, action__startswith="billing."
    ).count()
    return count


async def _audit(
    workspace: Workspace,
    viewer: User,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    await AuditLog.create(
        id=uuid.uuid4(),
        workspace_id=workspace.id,
        actor_id=viewer.id,
        action=action,
        before=before,
        after=after,
    )


def _state(view: LiveSubscription | None, pending: int | None = None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {
        "subscription": view.id,
        "status": view.status,
        "plan": view.plan.key if view.plan else None,
        "interval": view.interval.value if view.interval else None,
        "seats": view.seat_quantity,
        "cancel_at_period_end": view.cancel_at_period_end,
        **({"pending_seats": pending} if pending is not None else {}),
    }


async def _customer(billing: Billing, workspace: Workspace) -> str:
    """The workspace's one Stripe customer, created on first need and stored."""
    gateway = billing.stripe()
    stored = workspace.stripe_customer_id
    if stored:
        try:
            customer = await gateway.retrieve_customer(stored)
            if not getattr(customer, "deleted", False):
                return stored
        except GatewayError as exc:
            if not exc.missing:
                raise
    created = await gateway.create_customer(str(workspace.id), replaces=stored)
    query = Workspace.filter(id=workspace.id)
    query = (
        query.filter(stripe_customer_id=stored)
        if stored
        else query.filter(stripe_customer_id__isnull=True)
    )
    if await query.update(stripe_customer_id=created.id) == 0:
        await workspace.refresh_from_db(fields=["stripe_customer_id"])
        return str(workspace.stripe_customer_id or created.id)
    workspace.stripe_customer_id = created.id
    return str(created.id)


async def live_subscription(billing: Billing, workspace: Workspace) -> LiveSubscription | None:
    """The workspace's live subscription as Stripe has it now (the mirror may lag)."""
    if not workspace.stripe_customer_id:
        return None
    subscriptions = await billing.stripe().list_subscriptions(workspace.stripe_customer_id)
    for sub in subscriptions:
        if sub.status not in ENDED:
            return read_subscription(billing.catalog, sub)
    return None


async def _require_subscription(billing: Billing, workspace: Workspace) -> LiveSubscription:
    view = await live_subscription(billing, workspace)
    if view is None:
        raise DomainError(
            ErrorCode.NO_SUBSCRIPTION,
            "This workspace has no subscription yet: start one with startCheckout",
            ("input", "workspaceId"),
        )
    return view


async def _price_ids(billing: Billing, refs: Sequence[PriceRef]) -> list[str]:
    """Stripe price ids for catalog prices (lookup keys resolved in one call)."""
    keys = [ref.lookup_key for ref in refs if ref.lookup_key]
    found = await billing.stripe().find_prices(keys) if keys else {}
    ids: list[str] = []
    for ref in refs:
        if ref.price_id:
            ids.append(ref.price_id)
        elif ref.lookup_key in found:
            ids.append(found[ref.lookup_key].id)
        else:
            log.error("Stripe has no active price %r: run `seatbill catalog sync`", ref.lookup_key)
            raise GatewayError("This plan cannot be bought right now", retryable=False)
    return ids


async def _mirror(billing: Billing, sub: stripe.Subscription) -> Subscription | None:
    """Mirror what Stripe just answered, with the schedule expanded when it has one, and its
    latest invoice (a change invoiced at once is paid by now), so the API shows the new state
    without waiting for the webhooks. The snapshot is as of the customer's "now" (its test
    clock's time in test mode): webhooks about the same moment are re-fetched, older ones
    about intermediate states (an invoice's draft) no longer overwrite it."""
    gateway = billing.stripe()
    if isinstance(sub.schedule, str):
        sub = await gateway.retrieve_subscription(sub.id)
    observed_at = await _customer_now(billing, _id_of(sub.test_clock))
    row = await mirror.sync_subscription(
        sub,
        observed_at=observed_at,
        catalog=billing.catalog,
        gateway=gateway,
        dunning_max_attempts=billing.settings.dunning_max_attempts,
    )
    invoice_id = _id_of(sub.latest_invoice)
    if row is not None and invoice_id:
        await mirror.sync_invoice(
            await gateway.retrieve_invoice(invoice_id),
            observed_at=observed_at,
            gateway=gateway,
            dunning_max_attempts=billing.settings.dunning_max_attempts,
        )
    return row


async def _customer_now(billing: Billing, test_clock: str | None) -> int:
    """Stripe's "now" for a customer: its test clock's time in test mode, else the real time."""
    if test_clock:
        return await billing.stripe().retrieve_test_clock_time(test_clock)
    return int(time.time())


async def _release_schedule(billing: Billing, view: LiveSubscription) -> None:
    """Drop a pending (scheduled) seat change; the subscription keeps running as it is."""
    if view.schedule_id:
        await billing.stripe().release_subscription_schedule(
            view.schedule_id,
            idempotency_key=intent_key("schedule-release", view.schedule_id),
        )


def _pending_seats(row: Subscription | None) -> int | None:
    return row.pending_seat_quantity if row is not None else None


# Checkout -------------------------------------------------------------------------------


async def start_checkout(
    billing: Billing,
    viewer: User,
    raw_workspace_id: str,
    plan_id: str,
    interval: Interval,
    seat_count: int | None,
    success_url: str,
    cancel_url: str,
) -> Checkout:
    """A Stripe Checkout session for a new subscription: base price (quantity 1) plus seats.

    The same request retried (or sent twice) returns the same session: an open session of the
    customer with the same intent is reused, and a new one is created with an idempotency key
    of workspace, plan, interval, seats, URLs, how many subscriptions the workspace has had,
    and the current hour (so an expired or completed session is not replayed for long)."""
    workspace = await _manager(viewer, raw_workspace_id)
    plan = _plan(billing.catalog, plan_id)
    plan_price = _plan_price(plan, interval)
    success = _url(success_url, "successUrl")
    cancel = _url(cancel_url, "cancelUrl")
    billable = await seats.billable_count(workspace.id)
    _fits_plan(plan, billable)
    quantity = _checkout_quantity(plan, billable, seat_count)
    await _not_restricted(workspace, "subscribing")
    async with _provider_errors():
        customer_id = await _customer(billing, workspace)
        if await live_subscription(billing, workspace) is not None:
            raise DomainError(
                ErrorCode.CONFLICT,
                "This workspace already has a subscription: change it with switchPlan or "
                "updateSeats",
                ("input", "workspaceId"),
            )
        refs = [ref for ref in (plan_price.base, plan_price.seat) if ref is not None]
        price_ids = await _price_ids(billing, refs)
        quantities = [1] * (len(refs) - 1) + [quantity]
        intent = hashlib.sha256(
            "|".join(
                [plan.key, interval.value, str(quantity), success, cancel, *price_ids]
            ).encode()
        ).hexdigest()[:24]
        for session in await billing.stripe().list_open_checkout_sessions(customer_id):
            metadata = session.metadata.to_dict() if session.metadata else {}
            if metadata.get("seatbill_intent") == intent and session.url:
                return Checkout(url=str(session.url), session_id=session.id)
        workspace_id = str(workspace.id)
        params: SessionCreateParams = {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": workspace_id,
            "line_items": [
                {"price": price, "quantity": count}
                for price, count in zip(price_ids, quantities, strict=True)
            ],
            "metadata": {
                "workspace_id": workspace_id,
                "plan": plan.key,
                "interval": interval.value,
                "seats": str(quantity),
                "seatbill_intent": intent,
            },
            "subscription_data": {"metadata": {"workspace_id": workspace_id, "plan": plan.key}},
            "success_url": success,
            "cancel_url": cancel,
        }
        generation = await Subscription.filter(workspace_id=workspace.id).count()
        hour = int(time.time()) // 3600
        key = intent_key("checkout", workspace_id, intent, generation, hour)
        session = await billing.stripe().create_checkout_session(params, idempotency_key=key)
    await _audit(
        workspace,
        viewer,
        "billing.checkout_started",
        None,
        {
            "session": session.id,
            "plan": plan.key,
            "interval": interval.value,
            "seats": quantity,
            "amount": plan_price.quote(quantity),
            "currency": plan_price.currency,
        },
    )
    return Checkout(url=str(session.url), session_id=session.id)


def _checkout_quantity(plan: Plan, billable: int, seat_count: int | None) -> int:
    if plan.seat_mode is SeatMode.AUTO:
        return max(1, billable)  # auto plans bill the members; a chosen count is ignored
    if seat_count is None:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The {plan.name} plan is sold by the seat: choose how many",
            ("input", "seats"),
        )
    _licensed_seats(plan, billable, seat_count)
    return seat_count


def _licensed_seats(plan: Plan, billable: int, seat_count: int) -> None:
    field = ("input", "seats")
    if seat_count < max(1, billable):
        raise DomainError(
            ErrorCode.VALIDATION,
            f"Seats cannot be fewer than the {billable} active member(s)",
            field,
        )
    if seat_count > MAX_SEATS:
        raise DomainError(ErrorCode.VALIDATION, f"At most {MAX_SEATS} seats", field)
    if plan.max_seats is not None and seat_count > plan.max_seats:
        raise DomainError(
            ErrorCode.SEAT_LIMIT_REACHED,
            f"The {plan.name} plan allows at most {plan.max_seats} seats",
            field,
        )


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


async def _seat_change(
    billing: Billing, workspace: Workspace, seat_count: int, *, preview: bool = False
) -> SeatChange:
    view = await _require_subscription(billing, workspace)
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
    _licensed_seats(plan, await seats.billable_count(workspace.id), seat_count)
    decrease = seat_count < view.seat_quantity
    later = decrease and plan.seat_decrease is SeatDecrease.PERIOD_END
    return SeatChange(
        view=view, plan=plan, seats=seat_count, timing="period_end" if later else "now"
    )


def _seat_items(change: SeatChange) -> list[dict[str, Any]]:
    assert change.view.seat is not None
    return [{"id": change.view.seat.id, "quantity": change.seats}]


async def update_seats(
    billing: Billing, viewer: User, raw_workspace_id: str, seat_count: int
) -> Subscription | None:
    """Licensed plans: more seats now (prorated charge, invoiced at once); fewer seats at the
    next period start (pending, no credit) or, when the plan prorates decreases, now with a
    prorated credit. Asking for the current quantity drops a pending decrease."""
    workspace = await _manager(viewer, raw_workspace_id)
    gateway = billing.stripe()
    async with _provider_errors():
        change = await _seat_change(billing, workspace, seat_count)
        view = change.view
        if change.is_increase:
            await _not_restricted(workspace, "adding seats")
        before_row = await Subscription.get_or_none(stripe_id=view.id)
        before = _state(view, _pending_seats(before_row))
        version = await _billing_version(workspace)
        target = f"seats={seat_count}"
        if change.at_period_end:
            action = "billing.seat_decrease_scheduled"
            sub = await _schedule_seat_decrease(billing, view, seat_count, version)
        elif seat_count == view.seat_quantity:
            if not view.schedule_id:
                return await _mirror(billing, view.raw)  # nothing to change
            action = "billing.seat_decrease_dropped"
            await _release_schedule(billing, view)
            sub = await gateway.retrieve_subscription(view.id)
        else:
            action = "billing.seats_increased" if change.is_increase else "billing.seats_decreased"
            await _release_schedule(billing, view)
            params: SubscriptionUpdateParams = {
                "items": [{"id": view.seat.id, "quantity": seat_count}],  # type: ignore[union-attr]
                "proration_behavior": "always_invoice",
            }
            key = intent_key("subscription", view.id, target, view.fingerprint(), version)
            sub = await gateway.update_subscription(view.id, params, idempotency_key=key)
        row = await _mirror(billing, sub)
    after = read_subscription(billing.catalog, sub)
    await _audit(workspace, viewer, action, before, _state(after, _pending_seats(row)))
    return row


async def _schedule_seat_decrease(
    billing: Billing, view: LiveSubscription, seat_count: int, version: int
) -> stripe.Subscription:
    """A schedule from the subscription: this period as it is, the next at ``seat_count``."""
    gateway = billing.stripe()
    fingerprint = view.fingerprint()
    schedule_id = view.schedule_id
    if schedule_id is None:
        created = await gateway.create_subscription_schedule(
            view.id, idempotency_key=intent_key("schedule", view.id, fingerprint, version)
        )
        schedule_id = created.id
        current_start = int(created.phases[0].start_date)
    else:
        existing = await gateway.retrieve_subscription_schedule(schedule_id)
        current = existing.current_phase
        current_start = int(current.start_date) if current else view.period_start
    now_items = [i for i in (view.base, view.seat, *view.others) if i is not None]
    assert view.seat is not None
    params: SubscriptionScheduleUpdateParams = {
        "end_behavior": "release",
        "proration_behavior": "none",
        "phases": [
            {
                "items": [{"price": i.price_id, "quantity": i.quantity} for i in now_items],
                "start_date": current_start,
                "end_date": view.period_end,
                "proration_behavior": "none",
            },
            {
                "items": [
                    {
                        "price": i.price_id,
                        "quantity": seat_count if i.id == view.seat.id else i.quantity,
                    }
                    for i in now_items
                ],
                "duration": {"interval": view.interval.value if view.interval else "month"},
                "proration_behavior": "none",
            },
        ],
    }
    key = intent_key("schedule-phases", schedule_id, f"seats={seat_count}", fingerprint, version)
    await gateway.update_subscription_schedule(schedule_id, params, idempotency_key=key)
    return await gateway.retrieve_subscription(view.id)


# Plans ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanChange:
    view: LiveSubscription
    plan: Plan
    interval: Interval
    plan_price: PlanPrice
    seats: int

    @property
    def unchanged(self) -> bool:
        return self.view.plan == self.plan and self.view.interval == self.interval


def _yearly(plan_price: PlanPrice, seat_count: int) -> int:
    return plan_price.quote(seat_count) * (12 if plan_price.interval is Interval.MONTH else 1)


async def _plan_change(
    billing: Billing, workspace: Workspace, plan_id: str, interval: Interval
) -> PlanChange:
    plan = _plan(billing.catalog, plan_id)
    plan_price = _plan_price(plan, interval)
    view = await _require_subscription(billing, workspace)
    if view.seat is None:
        raise DomainError(
            ErrorCode.VALIDATION, "This subscription's seats are not managed by Seatbill"
        )
    billable = await seats.billable_count(workspace.id)
    _fits_plan(plan, billable)
    if plan.seat_mode is SeatMode.AUTO:
        seat_count = max(1, billable)
    else:
        seat_count = max(view.seat_quantity, billable, 1)
        if plan.max_seats is not None:
            seat_count = min(seat_count, plan.max_seats)
    return PlanChange(view, plan, interval, plan_price, seat_count)


async def _plan_items(billing: Billing, change: PlanChange) -> list[dict[str, Any]]:
    """Swap the base and seat items in place (ids kept, so Stripe prorates them)."""
    view = change.view
    assert view.seat is not None
    refs = [change.plan_price.seat] + ([change.plan_price.base] if change.plan_price.base else [])
    ids = await _price_ids(billing, refs)
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


async def swap_plan(
    billing: Billing, viewer: User, raw_workspace_id: str, plan_id: str, interval: Interval
) -> Subscription | None:
    """Switch the live subscription to another plan or interval in place: the base and seat
    items change price, the seat quantity stays (auto plans: the members), the difference is
    prorated and invoiced at once. An interval switch starts a new billing period now."""
    workspace = await _manager(viewer, raw_workspace_id)
    gateway = billing.stripe()
    async with _provider_errors():
        change = await _plan_change(billing, workspace, plan_id, interval)
        view = change.view
        if change.unchanged and change.seats == view.seat_quantity:
            return await _mirror(billing, view.raw)
        current = view.plan.price(view.interval) if view.plan and view.interval else None
        costs_more = current is None or _yearly(change.plan_price, change.seats) > _yearly(
            current, view.seat_quantity
        )
        if costs_more or interval != view.interval:
            await _not_restricted(workspace, "changing to a plan that costs more")
        before_row = await Subscription.get_or_none(stripe_id=view.id)
        before = _state(view, _pending_seats(before_row))
        version = await _billing_version(workspace)
        items = await _plan_items(billing, change)
        await _release_schedule(billing, view)  # a pending decrease does not survive a switch
        params: SubscriptionUpdateParams = {
            "items": items,  # type: ignore[typeddict-item]
            "proration_behavior": "always_invoice",
            "metadata": {"plan": change.plan.key},
        }
        target = f"plan={change.plan.key}/{interval.value}/seats={change.seats}"
        key = intent_key("subscription", view.id, target, view.fingerprint(), version)
        sub = await gateway.update_subscription(view.id, params, idempotency_key=key)
        row = await _mirror(billing, sub)
    after = read_subscription(billing.catalog, sub)
    await _audit(workspace, viewer, "billing.plan_switched", before, _state(after))
    return row


# Cancel and resume ----------------------------------------------------------------------


async def cancel(
    billing: Billing, viewer: User, raw_workspace_id: str, *, at_period_end: bool = True
) -> Subscription | None:
    """Cancel at the end of the paid period (resumable until then), or at once (no refund)."""
    workspace = await _manager(viewer, raw_workspace_id)
    gateway = billing.stripe()
    async with _provider_errors():
        view = await _require_subscription(billing, workspace)
        before = _state(view)
        if at_period_end:
            if view.cancel_at_period_end:
                return await _mirror(billing, view.raw)
            version = await _billing_version(workspace)
            await _release_schedule(billing, view)
            key = intent_key(
                "subscription", view.id, "cancel_at_period_end", view.fingerprint(), version
            )
            sub = await gateway.update_subscription(
                view.id, {"cancel_at_period_end": True}, idempotency_key=key
            )
            action = "billing.cancel_at_period_end"
        else:
            sub = await gateway.cancel_subscription_now(view.id)
            action = "billing.canceled_now"
        row = await _mirror(billing, sub)
    await _audit(workspace, viewer, action, before, _state(read_subscription(billing.catalog, sub)))
    return row


async def resume(billing: Billing, viewer: User, raw_workspace_id: str) -> Subscription | None:
    """Undo a cancellation at period end, while the period lasts."""
    workspace = await _manager(viewer, raw_workspace_id)
    gateway = billing.stripe()
    async with _provider_errors():
        view = await _require_subscription(billing, workspace)
        if not view.cancel_at_period_end:
            raise DomainError(
                ErrorCode.VALIDATION,
                "The subscription is not set to cancel; there is nothing to resume",
                ("input", "workspaceId"),
            )
        before = _state(view)
        version = await _billing_version(workspace)
        key = intent_key("subscription", view.id, "resume", view.fingerprint(), version)
        sub = await gateway.update_subscription(
            view.id, {"cancel_at_period_end": False}, idempotency_key=key
        )
        row = await _mirror(billing, sub)
    await _audit(
        workspace,
        viewer,
        "billing.resumed",
        before,
        _state(read_subscription(billing.catalog, sub)),
    )
    return row


async def cancel_now_for_deleted_workspace(
    billing: Billing, viewer: User, raw_workspace_id: str
) -> None:
    """Before a workspace is deleted: its owner only; every live subscription ends now. Stripe
    failing stops the deletion, so a deleted workspace is never left paying."""
    member = await require_membership(viewer, raw_workspace_id, roles=(Role.OWNER,))
    workspace: Workspace = member.workspace
    if not workspace.stripe_customer_id:
        return
    gateway = billing.stripe()
    async with _provider_errors():
        for sub in await gateway.list_subscriptions(workspace.stripe_customer_id):
            if sub.status in ENDED:
                continue
            before = _state(read_subscription(billing.catalog, sub))
            canceled = await gateway.cancel_subscription_now(sub.id)
            await _mirror(billing, canceled)
            await _audit(
                workspace,
                viewer,
                "billing.canceled_workspace_deleted",
                before,
                _state(read_subscription(billing.catalog, canceled)),
            )


# Portal ---------------------------------------------------------------------------------


async def open_portal(
    billing: Billing, viewer: User, raw_workspace_id: str, return_url: str
) -> str:
    """A Stripe customer portal session (payment methods, invoices, seats, cancel)."""
    workspace = await _manager(viewer, raw_workspace_id)
    back = _url(return_url, "returnUrl")
    async with _provider_errors():
        customer_id = await _customer(billing, workspace)
        # Portal sessions live minutes: the same request within a minute gets the same one.
        minute = int(time.time()) // 60
        key = intent_key("portal", customer_id, back, minute)
        url = await billing.stripe().create_portal_session(customer_id, back, idempotency_key=key)
    await _audit(workspace, viewer, "billing.portal_opened", None, {"customer": customer_id})
    return url


# Previews -------------------------------------------------------------------------------


async def preview_seat_change(
    billing: Billing, viewer: User, raw_workspace_id: str, seat_count: int
) -> Preview:
    """What ``update_seats(seat_count)`` would charge now and on the next invoice; on an auto
    plan, what ``seat_count`` members would cost as seat sync bills them (prorations on the
    next invoice)."""
    workspace = await _manager(viewer, raw_workspace_id)
    async with _provider_errors():
        change = await _seat_change(billing, workspace, seat_count, preview=True)
        return await _preview(billing, change.view, _seat_items(change), change.timing)


async def preview_plan_change(
    billing: Billing, viewer: User, raw_workspace_id: str, plan_id: str, interval: Interval
) -> Preview:
    """What ``swap_plan(plan_id, interval)`` would charge now and on the next invoice."""
    workspace = await _manager(viewer, raw_workspace_id)
    async with _provider_errors():
        change = await _plan_change(billing, workspace, plan_id, interval)
        items = await _plan_items(billing, change)
        new_period = change.interval != change.view.interval
        return await _preview(billing, change.view, items, "now", new_period=new_period)


async def _preview(
    billing: Billing,
    view: LiveSubscription,
    items: list[dict[str, Any]],
    timing: Timing,
    *,
    new_period: bool = False,
) -> Preview:
    """Stripe's invoice previews for ``items``, made the way the change itself would be made:
    ``now``: the invoice made at once (``always_invoice``) and the next period's;
    ``period_end``: nothing now and the next period's; ``next_invoice``: the prorations
    (``create_prorations``) that the next invoice will carry, and that invoice."""
    gateway = billing.stripe()
    now = await _customer_now(billing, view.test_clock)
    state = view.fingerprint()
    digest = _digest(items)
    lines: tuple[PreviewLine, ...] = ()
    due_now = 0
    currency = str(view.raw.currency)
    if timing == "now":
        immediate = await gateway.preview_invoice(
            {
                "subscription": view.id,
                "subscription_details": {
                    "items": items,  # type: ignore[typeddict-item]
                    "proration_behavior": "always_invoice",
                    "proration_date": now,
                },
            },
            idempotency_key=intent_key("preview-now", view.id, digest, state, now),
        )
        due_now = int(immediate.amount_due)
        currency = str(immediate.currency)
        lines = _lines(immediate)
    prorate = timing == "next_invoice"
    upcoming = await gateway.preview_invoice(
        {
            "subscription": view.id,
            "subscription_details": {
                "items": items,  # type: ignore[typeddict-item]
                "proration_behavior": "create_prorations" if prorate else "none",
                **({"proration_date": now} if prorate else {}),
            },
        },
        idempotency_key=intent_key("preview-next", view.id, digest, state, timing, now),
    )
    next_total = int(upcoming.total)
    if prorate:
        lines = tuple(line for line in _lines(upcoming) if line.proration)
    elif new_period:
        # Another interval starts a new period now: the invoice made at once bills it, and
        # its regular (non-proration) lines are what every later period costs.
        next_total = sum(line.amount for line in lines if not line.proration)
    effective = view.period_end if timing == "period_end" else now
    return Preview(
        currency=currency,
        amount_due_now=due_now,
        next_invoice_total=next_total,
        lines=lines,
        effective_at=datetime.fromtimestamp(effective, UTC),
    )


def _lines(invoice: stripe.Invoice) -> tuple[PreviewLine, ...]:
    return tuple(
        PreviewLine(
            description=str(line.description or ""),
            amount=int(line.amount),
            proration=_is_proration(line),
        )
        for line in invoice.lines.data
    )


def _digest(items: list[dict[str, Any]]) -> str:
    text = ";".join(",".join(f"{k}={v}" for k, v in sorted(item.items())) for item in items)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _is_proration(line: stripe.InvoiceLineItem) -> bool:
    parent = line.to_dict().get("parent") or {}
    for key in ("subscription_item_details", "invoice_item_details"):
        details = parent.get(key) or {}
        if details.get("proration"):
            return True
    return False
