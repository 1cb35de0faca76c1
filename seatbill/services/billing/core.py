"""The shared core of billing: what the billing functions need from the app, the live
subscription as Stripe has it (read with the catalog's one price matcher), and the steps every
billing change takes: check the viewer, find the customer, mirror Stripe's answer at once,
write the audit row.

Money decisions:

- Changes that cost or credit money now are made with ``proration_behavior=always_invoice``:
  Stripe invoices the prorations at once (an increase is charged now; a credit lands on the
  customer's balance and pays the next invoices), so the invoice a preview promised is a real
  invoice the customer can see, to the cent.
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
from datetime import datetime
from typing import Any

import stripe
from stripe.params import SubscriptionUpdateParams

from seatbill.catalog import Catalog, Interval, Plan, PlanPrice, PriceRef, match_stripe_price
from seatbill.config import Settings
from seatbill.models import AuditLog, Role, Subscription, User, Workspace
from seatbill.origins import is_loopback, origin_host, origin_of
from seatbill.services import mirror, rate_limits
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.stripe_gateway import GatewayError, StripeGateway
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

    async def limit(self, operation: str, viewer: User, workspace: Workspace) -> None:
        """Count a call against the rate limits, or refuse it with ``RATE_LIMITED``."""
        await rate_limits.check(self.settings, operation, viewer.id, workspace.id)

    def stripe(self) -> StripeGateway:
        if self.gateway is None:
            raise DomainError(
                ErrorCode.BILLING_PROVIDER_ERROR, "Billing is not configured on this server"
            )
        return self.gateway


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


def id_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return str(value.id)


def _role_of(catalog: Catalog, price: stripe.Price) -> tuple[Plan | None, str | None]:
    """The catalog plan and role of a Stripe price, through the one matcher (a superseded
    price keeps its plan)."""
    match = match_stripe_price(catalog, price)
    return (match.plan, match.role) if match is not None else (None, None)


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
        # A schedule ending in ``cancel`` (or a release that kept its date) sets cancel_at.
        cancel_at_period_end=bool(
            sub.cancel_at_period_end or (sub.cancel_at and int(sub.cancel_at) <= period[1])
        ),
        schedule_id=id_of(sub.schedule),
        test_clock=id_of(sub.test_clock),
        period_start=period[0],
        period_end=period[1],
        raw=sub,
    )


# Shared steps ---------------------------------------------------------------------------


@asynccontextmanager
async def provider_errors() -> AsyncIterator[None]:
    """Stripe's refusal becomes a BILLING_PROVIDER_ERROR with the gateway's safe message."""
    try:
        yield
    except GatewayError as exc:
        raise DomainError(ErrorCode.BILLING_PROVIDER_ERROR, exc.message) from None


async def require_manager(
    billing: Billing, viewer: User, raw_workspace_id: str, operation: str
) -> Workspace:
    """The workspace, when the viewer is its OWNER or ADMIN; then the call counts against the
    viewer's and the workspace's rate limits (``RATE_LIMITED``, before anything changes or
    reaches Stripe). ``operation`` names the call in the log."""
    member = await require_membership(viewer, raw_workspace_id, roles=MANAGERS)
    workspace: Workspace = member.workspace
    await billing.limit(operation, viewer, workspace)
    return workspace


def find_plan(catalog: Catalog, plan_id: str) -> Plan:
    plan = catalog.get(plan_id.strip())
    if plan is None:
        raise DomainError(ErrorCode.VALIDATION, "There is no such plan", ("input", "planId"))
    return plan


def plan_price_for(plan: Plan, interval: Interval) -> PlanPrice:
    found = plan.price(interval)
    if found is None:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The {plan.name} plan is not sold per {interval.value}",
            ("input", "interval"),
        )
    return found


def allowed_origins(settings: Settings) -> frozenset[str]:
    """ALLOWED_REDIRECT_ORIGINS, else PUBLIC_URL's origin."""
    if settings.allowed_redirect_origins:
        return frozenset(settings.allowed_redirect_origins)
    public = origin_of(settings.public_url)
    return frozenset({public} if public else ())


def redirect_url(raw: str, field: str, settings: Settings) -> str:
    """A URL Stripe may send people back to: absolute, on an allowed origin (or any loopback
    origin while billing is emulated: no STRIPE_SECRET_KEY), and https unless loopback.
    Anything else would make Stripe's pages an open redirect to someone else's site."""
    value = raw.strip()
    origin = origin_of(value) if len(value) <= MAX_URL else None
    if origin is None:
        raise DomainError(
            ErrorCode.VALIDATION, "Give an absolute http or https URL", ("input", field)
        )
    loopback = is_loopback(origin_host(origin))
    emulated = settings.stripe_secret_key is None
    if not (origin in allowed_origins(settings) or (loopback and emulated)):
        raise DomainError(
            ErrorCode.VALIDATION,
            f"{origin} is not an allowed redirect origin (ALLOWED_REDIRECT_ORIGINS)",
            ("input", field),
        )
    if not origin.startswith("https:") and not loopback:
        raise DomainError(ErrorCode.VALIDATION, "Give an https URL", ("input", field))
    return value


def fits_plan(plan: Plan, billable: int, field: str = "planId") -> None:
    if plan.max_seats is not None and billable > plan.max_seats:
        raise DomainError(
            ErrorCode.SEAT_LIMIT_REACHED,
            f"The {plan.name} plan allows at most {plan.max_seats} members; this workspace "
            f"has {billable}. Remove members first.",
            ("input", field),
        )


async def not_restricted(workspace: Workspace, what: str) -> None:
    await workspace.refresh_from_db(fields=["restricted_at"])
    if workspace.restricted_at is not None:
        raise DomainError(
            ErrorCode.BILLING_RESTRICTED,
            f"Payments for this workspace are failing: pay the open invoice before {what}",
        )


async def billing_version(workspace: Workspace) -> int:
    """How many billing mutations the workspace has had: part of every update's idempotency
    key, so the same request retried replays while a later identical request is new."""
    count: int = await AuditLog.filter(
        workspace_id=workspace.id, actor_id__isnull=False, action__startswith="billing."
    ).count()
    return count


async def audit(
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


def audit_state(view: LiveSubscription | None, pending: int | None = None) -> dict[str, Any] | None:
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


async def ensure_customer(billing: Billing, workspace: Workspace) -> str:
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


async def require_subscription(billing: Billing, workspace: Workspace) -> LiveSubscription:
    view = await live_subscription(billing, workspace)
    if view is None:
        raise DomainError(
            ErrorCode.NO_SUBSCRIPTION,
            "This workspace has no subscription yet: start one with startCheckout",
            ("input", "workspaceId"),
        )
    return view


async def resolve_price_ids(billing: Billing, refs: Sequence[PriceRef]) -> list[str]:
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


async def mirror_now(billing: Billing, sub: stripe.Subscription) -> Subscription | None:
    """Mirror what Stripe just answered, with the schedule expanded when it has one, and its
    latest invoice (a change invoiced at once is paid by now), so the API shows the new state
    without waiting for the webhooks. The snapshot is as of the customer's "now" (its test
    clock's time in test mode): webhooks about the same moment are re-fetched, older ones
    about intermediate states (an invoice's draft) no longer overwrite it."""
    gateway = billing.stripe()
    if isinstance(sub.schedule, str):
        sub = await gateway.retrieve_subscription(sub.id)
    observed_at = await customer_now(billing, id_of(sub.test_clock))
    row = await mirror.sync_subscription(
        sub,
        observed_at=observed_at,
        catalog=billing.catalog,
        gateway=gateway,
        dunning_max_attempts=billing.settings.dunning_max_attempts,
    )
    invoice_id = id_of(sub.latest_invoice)
    if row is not None and invoice_id:
        await mirror.sync_invoice(
            await gateway.retrieve_invoice(invoice_id),
            observed_at=observed_at,
            gateway=gateway,
            dunning_max_attempts=billing.settings.dunning_max_attempts,
        )
    return row


async def customer_now(billing: Billing, test_clock: str | None) -> int:
    """Stripe's "now" for a customer: its test clock's time in test mode, else the real time."""
    if test_clock:
        return await billing.stripe().retrieve_test_clock_time(test_clock)
    return int(time.time())


MAX_PRORATION_AGE = 3600  # a preview's proration date is honoured for an hour


async def proration_timestamp(
    billing: Billing, view: LiveSubscription, when: datetime | None
) -> int | None:
    """The ``proration_date`` to send: a preview's instant, so the change charges exactly what
    the preview showed (Stripe prorates to the second). It must lie in the current period and
    be at most an hour old; None lets Stripe prorate at its own now."""
    if when is None:
        return None
    field = ("input", "prorationDate")
    if when.tzinfo is None:
        raise DomainError(ErrorCode.VALIDATION, "Give prorationDate with a time zone", field)
    at = int(when.timestamp())
    now = await customer_now(billing, view.test_clock)
    if not view.period_start <= at <= view.period_end:
        raise DomainError(
            ErrorCode.VALIDATION, "prorationDate must lie in the current billing period", field
        )
    if at < now - MAX_PRORATION_AGE:
        raise DomainError(
            ErrorCode.VALIDATION,
            "prorationDate is more than an hour old: preview the change again",
            field,
        )
    if at > now + 60:
        raise DomainError(ErrorCode.VALIDATION, "prorationDate lies in the future", field)
    return at


# What Stripe accepts alongside ``payment_behavior=pending_if_incomplete``
# (https://docs.stripe.com/billing/subscriptions/pending-updates-reference).
PENDING_UPDATE_PARAMS = frozenset({"items", "proration_behavior", "proration_date"})
PENDING_UPDATE_ITEM_PARAMS = frozenset({"id", "price", "quantity"})


def _can_wait_for_payment(params: SubscriptionUpdateParams) -> bool:
    items = params.get("items") or []
    return set(params) <= PENDING_UPDATE_PARAMS and all(
        set(item) <= PENDING_UPDATE_ITEM_PARAMS for item in items
    )


async def charge_now(
    billing: Billing, view: LiveSubscription, params: SubscriptionUpdateParams, key: str
) -> stripe.Subscription:
    """An update Stripe invoices at once, applied only once paid (Stripe's default for
    updates, ``allow_incomplete``, would apply unpaid seats). ``pending_if_incomplete`` holds
    the change until its invoice is paid; where Stripe does not allow that (an item removed),
    ``error_if_incomplete`` refuses it. Either way a failed payment changes nothing and
    becomes PAYMENT_FAILED, with the invoice's hosted page when Stripe keeps one (paying it
    applies the change; Stripe drops it after 23 hours)."""
    gateway = billing.stripe()
    waits = _can_wait_for_payment(params)
    try:
        sub = await gateway.update_subscription(
            view.id,
            {
                **params,
                "payment_behavior": "pending_if_incomplete" if waits else "error_if_incomplete",
            },
            idempotency_key=key,
        )
    except GatewayError as exc:
        if exc.status != 402:
            raise
        raise _payment_failed(view, None) from None
    if sub.pending_update is None:
        return sub
    invoice_id = id_of(sub.latest_invoice)
    url = None
    if invoice_id:
        invoice = await gateway.retrieve_invoice(invoice_id)
        url = str(invoice.hosted_invoice_url) if invoice.hosted_invoice_url else None
    raise _payment_failed(view, url)


def _payment_failed(view: LiveSubscription, url: str | None) -> DomainError:
    log.info("payment for a change to %s failed; nothing changed", view.id)
    return DomainError(
        ErrorCode.PAYMENT_FAILED,
        "The payment for this change failed, so nothing changed. "
        + (
            "Pay the invoice to apply it, or update the payment method and try again."
            if url
            else "Update the payment method and try again."
        ),
        ("input", "workspaceId"),
        url=url,
    )


def pending_seats(row: Subscription | None) -> int | None:
    return row.pending_seat_quantity if row is not None else None


def check_licensed_seats(plan: Plan, billable: int, seat_count: int) -> None:
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
