"""Dataloaders: one SQL query per kind of thing a request lists, however many there are."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from seatbill.models import Invitation, InvitationStatus, Invoice, Membership, Subscription, User
from seatbill.prepared import PreparedValues
from seatbill.services import mirror, seats


async def _users(ids: Sequence[uuid.UUID]) -> list[User | None]:
    found = {user.id: user for user in await User.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]


# A member as the list needs it: the membership's fields and its user's (one joined row).
MEMBER_FIELDS = ("id", "workspace_id", "role", "joined_at", "user_id", "user__email", "user__name")
MemberRow = dict[str, Any]
_member_rows = PreparedValues(
    Membership,
    lambda ids: (
        Membership.filter(workspace_id__in=ids).order_by("joined_at", "id").values(*MEMBER_FIELDS)
    ),
)


async def _members(workspace_ids: Sequence[uuid.UUID]) -> list[list[MemberRow]]:
    """Plain rows, not models: a list of hundreds of members builds no ORM objects."""
    grouped: dict[uuid.UUID, list[MemberRow]] = defaultdict(list)
    for row in await _member_rows(list(workspace_ids)):
        grouped[_uuid(row["workspace_id"])].append(row)
    return [grouped[i] for i in workspace_ids]


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def _billable(workspace_ids: Sequence[uuid.UUID]) -> list[int]:
    counts = await seats.billable_counts(workspace_ids)
    return [counts[i] for i in workspace_ids]


async def _pending_invitations(workspace_ids: Sequence[uuid.UUID]) -> list[list[Invitation]]:
    grouped: dict[uuid.UUID, list[Invitation]] = defaultdict(list)
    rows = await Invitation.filter(
        workspace_id__in=list(workspace_ids), status=InvitationStatus.PENDING
    ).order_by("created_at", "id")
    for row in rows:
        grouped[uuid.UUID(str(row.workspace_id))].append(row)
    return [grouped[i] for i in workspace_ids]


async def _current_subscriptions(
    workspace_ids: Sequence[uuid.UUID],
) -> list[Subscription | None]:
    found = await mirror.current_subscriptions(workspace_ids)
    return [found[i] for i in workspace_ids]


async def _invoices_by_stripe_id(stripe_ids: Sequence[str]) -> list[Invoice | None]:
    found = {row.stripe_id: row for row in await Invoice.filter(stripe_id__in=list(stripe_ids))}
    return [found.get(i) for i in stripe_ids]


async def _invoices(workspace_ids: Sequence[uuid.UUID]) -> list[list[Invoice]]:
    """Every invoice of the workspaces, newest first (a workspace gets about one a month)."""
    grouped: dict[uuid.UUID, list[Invoice]] = defaultdict(list)
    rows = await Invoice.filter(workspace_id__in=list(workspace_ids)).order_by(
        "-stripe_created", "-stripe_id"
    )
    for row in rows:
        grouped[uuid.UUID(str(row.workspace_id))].append(row)
    return [grouped[i] for i in workspace_ids]


class Loaders:
    def __init__(self) -> None:
        self.viewer_id: uuid.UUID | None = None
        self.user = DataLoader(load_fn=_users)
        self.members: DataLoader[uuid.UUID, list[MemberRow]] = DataLoader(load_fn=_members)
        self.billable_seats = DataLoader(load_fn=_billable)
        self.pending_invitations = DataLoader(load_fn=_pending_invitations)
        self.viewer_membership = DataLoader(load_fn=self._viewer_memberships)
        self.current_subscription = DataLoader(load_fn=_current_subscriptions)
        self.invoice_by_stripe_id = DataLoader(load_fn=_invoices_by_stripe_id)
        self.invoices = DataLoader(load_fn=_invoices)

    async def _viewer_memberships(
        self, workspace_ids: Sequence[uuid.UUID]
    ) -> list[Membership | None]:
        found = {
            uuid.UUID(str(m.workspace_id)): m
            for m in await Membership.filter(
                user_id=self.viewer_id, workspace_id__in=list(workspace_ids)
            )
        }
        return [found.get(i) for i in workspace_ids]
