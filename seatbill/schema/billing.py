"""GraphQL read types for what the Stripe mirror holds: subscription, invoices, billing state.

Ids are Stripe's (``sub_...``, ``in_...``); amounts are integers in minor units beside their
currency; times are UTC.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, datetime
from enum import Enum

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from seatbill import models
from seatbill.catalog import Catalog
from seatbill.catalog import Plan as CatalogPlan
from seatbill.schema.context import Context
from seatbill.schema.enums import BillingInterval
from seatbill.schema.plans import Plan
from seatbill.services import seats

MAX_PAGE_SIZE = 100


@strawberry.enum(description="Stripe's subscription status.")
class SubscriptionStatus(Enum):
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"


@strawberry.enum(
    description=(
        "The workspace's billing standing: RESTRICTED when dunning restricted it (payments "
        "failed DUNNING_MAX_ATTEMPTS times), else from its current subscription's status: "
        "NONE (no subscription), INCOMPLETE (first payment not made), ACTIVE (active, "
        "trialing), PAST_DUE (past_due, unpaid), PAUSED, CANCELED (canceled, "
        "incomplete_expired)."
    )
)
class BillingState(Enum):
    NONE = "NONE"
    INCOMPLETE = "INCOMPLETE"
    ACTIVE = "ACTIVE"
    PAST_DUE = "PAST_DUE"
    PAUSED = "PAUSED"
    RESTRICTED = "RESTRICTED"
    CANCELED = "CANCELED"


_STATE_OF_STATUS = {
    "incomplete": BillingState.INCOMPLETE,
    "incomplete_expired": BillingState.CANCELED,
    "trialing": BillingState.ACTIVE,
    "active": BillingState.ACTIVE,
    "past_due": BillingState.PAST_DUE,
    "unpaid": BillingState.PAST_DUE,
    "paused": BillingState.PAUSED,
    "canceled": BillingState.CANCELED,
}


def billing_state(restricted: bool, subscription: models.Subscription | None) -> BillingState:
    if restricted:
        return BillingState.RESTRICTED
    if subscription is None:
        return BillingState.NONE
    return _STATE_OF_STATUS.get(subscription.status, BillingState.NONE)


@strawberry.enum
class SeatSyncState(Enum):
    SYNCED = "SYNCED"
    PENDING = "PENDING"
    FAILED = "FAILED"


@strawberry.type(description="A seat quantity change that takes effect later (a schedule).")
class PendingSeatChange:
    seats: int
    effective_at: datetime


@strawberry.type(description="Whether Stripe's seat quantity follows the members yet.")
class SeatSync:
    state: SeatSyncState
    last_error: str | None
    synced_at: datetime | None


MANAGER_ONLY = " Null unless you are the workspace's owner or an admin."


@strawberry.type(description="A saved card (never its number).")
class PaymentMethod:
    brand: str = strawberry.field(description="visa, mastercard, amex, ...")
    last4: str
    exp_month: int
    exp_year: int


@strawberry.type(
    description=(
        "A Stripe invoice. Every member sees its status and dates; its amounts and hosted "
        "page are for the workspace's owner and admins (null for members)."
    )
)
class Invoice:
    id: strawberry.ID = strawberry.field(description="Stripe's invoice id (in_...).")
    number: str | None
    status: str = strawberry.field(description="draft, open, paid, uncollectible or void.")
    currency: str
    amount_due: int | None = strawberry.field(description="Minor units." + MANAGER_ONLY)
    amount_paid: int | None = strawberry.field(description="Minor units." + MANAGER_ONLY)
    created_at: datetime = strawberry.field(description="When Stripe created it.")
    hosted_invoice_url: str | None = strawberry.field(
        description="Stripe's page to see and pay the invoice." + MANAGER_ONLY
    )
    attempt_count: int = strawberry.field(description="Payment attempts so far.")
    period_start: datetime | None = strawberry.field(
        description=(
            "Start of the service period the invoice bills (its subscription lines' period, "
            "not prorations); null when its lines carry no period."
        )
    )
    period_end: datetime | None = strawberry.field(
        description="End of the service period the invoice bills."
    )

    @classmethod
    def of(cls, row: models.Invoice, manager: bool) -> Invoice:
        """``manager``: the viewer is the workspace's owner or an admin (sees money)."""
        return cls(
            id=strawberry.ID(row.stripe_id),
            number=row.number,
            status=row.status,
            currency=row.currency,
            amount_due=row.amount_due if manager else None,
            amount_paid=row.amount_paid if manager else None,
            created_at=row.stripe_created,
            hosted_invoice_url=row.hosted_invoice_url if manager else None,
            attempt_count=row.attempt_count,
            period_start=row.service_period_start,
            period_end=row.service_period_end,
        )


@strawberry.type
class InvoiceEdge:
    cursor: str
    node: Invoice


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="Invoices, newest first; pass pageInfo.endCursor as `after`.")
class InvoiceConnection:
    edges: list[InvoiceEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Invoice]:
        return [edge.node for edge in self.edges]


async def sees_money(info: Info[Context, None], workspace_id: uuid.UUID) -> bool:
    """Whether the viewer may see the workspace's invoice amounts and hosted invoice pages
    (owner or admin). One batched query per request, not one per invoice."""
    await info.context.viewer()
    membership = await info.context.loaders.viewer_membership.load(workspace_id)
    return membership is not None and membership.role in (models.Role.OWNER, models.Role.ADMIN)


def invoice_cursor(row: models.Invoice) -> str:
    raw = f"{row.stripe_created.timestamp():.6f}|{row.stripe_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# What invoice_cursor writes: seconds.micros (no sign, exponent, nan or inf) and a Stripe id.
_CURSOR = re.compile(r"(\d{1,12})\.(\d{6})\|([A-Za-z0-9_]{1,255})")
MAX_CURSOR = 400


def parse_invoice_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created, id) position a cursor names; anything else is BAD_USER_INPUT naming
    `after`, never an internal error."""
    found = None
    if len(cursor) <= MAX_CURSOR:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
            found = _CURSOR.fullmatch(raw)
            if found is not None:
                seconds, micros, stripe_id = found.groups()
                return datetime.fromtimestamp(float(f"{seconds}.{micros}"), UTC), stripe_id
        except (ValueError, OverflowError, OSError, binascii.Error):
            pass
    raise GraphQLError(
        "after: not a cursor from this list's pageInfo.endCursor",
        extensions={"code": "BAD_USER_INPUT", "field": ["after"]},
    )


def check_page_size(first: int) -> None:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(
            f"first must be between 1 and {MAX_PAGE_SIZE}",
            extensions={"code": "BAD_USER_INPUT", "field": ["first"]},
        )


def invoice_page(
    rows: list[models.Invoice], first: int, after: tuple[datetime, str] | None, manager: bool
) -> InvoiceConnection:
    """A page of a workspace's invoices, already sorted newest first."""
    if after is not None:
        rows = [r for r in rows if (r.stripe_created, r.stripe_id) < after]
    page = rows[:first]
    edges = [InvoiceEdge(cursor=invoice_cursor(r), node=Invoice.of(r, manager)) for r in page]
    return InvoiceConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
        ),
    )


def _plan(catalog: Catalog, row: models.Subscription) -> CatalogPlan | None:
    return catalog.get(row.plan_key) if row.plan_key else None


def seat_limits(
    catalog: Catalog, row: models.Subscription | None, billable: int
) -> tuple[int | None, int | None, int | None]:
    """(purchased, limit, available) for SeatUsage, by the rules in services.seats."""
    cap = seats.limit(row, catalog)
    return seats.purchased(row), cap, seats.available(billable, cap)


@strawberry.type
class Subscription:
    id: strawberry.ID = strawberry.field(description="Stripe's subscription id (sub_...).")
    status: SubscriptionStatus
    interval: BillingInterval | None
    seats: int = strawberry.field(description="The seat quantity Stripe bills.")
    pending_seat_change: PendingSeatChange | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    cancel_at: datetime | None
    canceled_at: datetime | None
    trial_end: datetime | None = strawberry.field(
        description="When the free trial ends (the first paid invoice); null without a trial."
    )
    seat_sync: SeatSync
    _row: strawberry.Private[models.Subscription]

    @strawberry.field(description="The catalog plan (null for a price not in the catalog).")
    def plan(self, info: Info[Context, None]) -> Plan | None:
        found = _plan(info.context.catalog, self._row)
        return Plan.of(found) if found else None

    @strawberry.field(description="Amounts and hosted page for owners and admins only.")
    async def latest_invoice(self, info: Info[Context, None]) -> Invoice | None:
        stripe_id = self._row.latest_invoice_stripe_id
        if not stripe_id:
            return None
        row = await info.context.loaders.invoice_by_stripe_id.load(stripe_id)
        if row is None:
            return None
        manager = await sees_money(info, uuid.UUID(str(self._row.workspace_id)))
        return Invoice.of(row, manager)

    @classmethod
    def of(cls, row: models.Subscription) -> Subscription:
        pending = (
            PendingSeatChange(
                seats=row.pending_seat_quantity, effective_at=row.pending_seat_effective_at
            )
            if row.pending_seat_quantity is not None and row.pending_seat_effective_at is not None
            else None
        )
        try:
            status = SubscriptionStatus(row.status)
        except ValueError:
            status = SubscriptionStatus.INCOMPLETE
        return cls(
            id=strawberry.ID(row.stripe_id),
            status=status,
            interval=BillingInterval(row.interval) if row.interval in ("month", "year") else None,
            seats=row.seat_quantity,
            pending_seat_change=pending,
            current_period_start=row.current_period_start,
            current_period_end=row.current_period_end,
            cancel_at_period_end=row.cancel_at_period_end,
            cancel_at=row.cancel_at,
            canceled_at=row.canceled_at,
            trial_end=row.trial_end,
            seat_sync=SeatSync(
                state=SeatSyncState(row.seat_sync_state.value),
                last_error=row.seat_sync_error,
                synced_at=row.seat_synced_at,
            ),
            _row=row,
        )
