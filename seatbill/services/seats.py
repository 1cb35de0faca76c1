"""The one place that counts seats: billable members, purchased seats and the limits on them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.functions import Count

from seatbill.catalog import Catalog, Plan, SeatMode
from seatbill.models import Invitation, InvitationStatus, Membership, Subscription
from seatbill.prepared import PreparedValues
from seatbill.services import mirror

# Read on every workspace view: its SQL is built once per number of workspaces.
_billable_rows = PreparedValues(
    Membership,
    lambda ids: (
        Membership.filter(workspace_id__in=ids)
        .annotate(n=Count("id"))
        .group_by("workspace_id")
        .values("workspace_id", "n")
    ),
)


async def billable_counts(workspace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Billable members per workspace: active (accepted) members, the owner included."""
    rows = await _billable_rows(list(workspace_ids))
    counts = {uuid.UUID(str(row["workspace_id"])): int(row["n"]) for row in rows}
    return {i: counts.get(i, 0) for i in workspace_ids}


async def billable_count(workspace_id: uuid.UUID) -> int:
    return (await billable_counts([workspace_id]))[workspace_id]


def auto_quantity(billable: int) -> int:
    """The seat quantity Stripe bills on an auto-mode plan: never below one."""
    return max(1, billable)


async def pending_invitation_count(workspace_id: uuid.UUID) -> int:
    """Invitations that can still be accepted (pending and not expired)."""
    return await Invitation.filter(
        workspace_id=workspace_id,
        status=InvitationStatus.PENDING,
        expires_at__gt=datetime.now(UTC),
    ).count()


def plan_of(subscription: Subscription, catalog: Catalog) -> Plan | None:
    return catalog.get(subscription.plan_key) if subscription.plan_key else None


def purchased(subscription: Subscription | None) -> int | None:
    """Seats paid for on a live subscription (the seat item's quantity), None without one."""
    if subscription is None or not mirror.is_live(subscription):
        return None
    return subscription.seat_quantity


def limit(subscription: Subscription | None, catalog: Catalog) -> int | None:
    """The most members a workspace may have: the purchased seats on a licensed plan (or a
    plan the catalog does not know), and the plan's ``max_seats`` on any plan (the lower of
    the two); None when nothing caps it."""
    if subscription is None or not mirror.is_live(subscription):
        return None
    plan = plan_of(subscription, catalog)
    caps = []
    if plan is None or plan.seat_mode is SeatMode.LICENSED:
        caps.append(subscription.seat_quantity)
    if plan is not None and plan.max_seats is not None:
        caps.append(plan.max_seats)
    return min(caps) if caps else None


def available(billable: int, cap: int | None) -> int | None:
    """Seats left under the limit (never negative), None when nothing caps the members."""
    return None if cap is None else max(0, cap - billable)


@dataclass(frozen=True)
class SeatUsage:
    billable: int
    pending_invitations: int
    purchased: int | None
    limit: int | None

    @property
    def available(self) -> int | None:
        return available(self.billable, self.limit)

    @property
    def committed(self) -> int:
        """Members plus the invitations that could still join."""
        return self.billable + self.pending_invitations


async def usage(workspace_id: uuid.UUID, catalog: Catalog) -> SeatUsage:
    subscription = await mirror.live_subscription(workspace_id)
    return SeatUsage(
        billable=await billable_count(workspace_id),
        pending_invitations=await pending_invitation_count(workspace_id),
        purchased=purchased(subscription),
        limit=limit(subscription, catalog),
    )
