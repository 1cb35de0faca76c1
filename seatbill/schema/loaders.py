"""Dataloaders: one SQL query per kind of thing a request lists, however many there are."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, TypeVar
from weakref import WeakMethod

from strawberry.dataloader import DataLoader

from seatbill.models import Invitation, InvitationStatus, Invoice, Membership, Subscription, User
from seatbill.prepared import Converters, PreparedValues
from seatbill.services import mirror, seats


async def _users(ids: Sequence[uuid.UUID]) -> list[User | None]:
    found = {user.id: user for user in await User.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]


# A member as the list needs it: the membership's fields and its user's (one joined row).
MEMBER_FIELDS = ("id", "workspace_id", "role", "joined_at", "user_id", "user__email", "user__name")
# What a list that selects neither `id` nor `joinedAt` leaves out: decoding a timestamp and a
# UUID per member was a tenth of such a read's CPU (the bare endpoint reads neither).
UNLISTED_MEMBER_FIELDS = ("id", "joined_at")
MemberRow = Mapping[str, Any]


def _member_query(fields: Sequence[str]) -> tuple[PreparedValues, PreparedValues]:
    """The prepared member rows of any workspaces, and of one workspace (the common read:
    without the workspace id to group them by)."""
    return (
        PreparedValues(
            Membership,
            lambda ids: (
                Membership.filter(workspace_id__in=ids).order_by("joined_at", "id").values(*fields)
            ),
        ),
        PreparedValues(
            Membership,
            lambda workspace_id: (
                Membership.filter(workspace_id=workspace_id)
                .order_by("joined_at", "id")
                .values(*(f for f in fields if f != "workspace_id"))
            ),
        ),
    )


_member_rows = {
    False: _member_query(MEMBER_FIELDS),
    True: _member_query([f for f in MEMBER_FIELDS if f not in UNLISTED_MEMBER_FIELDS]),
}


@dataclass(frozen=True)
class MemberRows:
    """A workspace's members as the database returned them (MEMBER_FIELDS, or without the
    UNLISTED_MEMBER_FIELDS for brief rows), and how to convert a column as `.values()` would:
    a list of hundreds of members builds no ORM objects and converts only what the answer
    needs (seatbill.schema.types.MEMBER_ROWS)."""

    rows: Sequence[MemberRow]
    convert: Converters


async def _members(workspace_ids: Sequence[uuid.UUID], brief: bool = False) -> list[MemberRows]:
    any_workspaces, one_workspace = _member_rows[brief]
    if len(workspace_ids) == 1:
        return [MemberRows(*await one_workspace.records(workspace_ids[0]))]
    rows, convert = await any_workspaces.records(list(workspace_ids))
    grouped: dict[uuid.UUID, list[MemberRow]] = defaultdict(list)
    for row in rows:
        grouped[_uuid(row["workspace_id"])].append(row)
    return [MemberRows(grouped[i], convert) for i in workspace_ids]


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


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


K = TypeVar("K")
V = TypeVar("V")


def _weakly(
    method: Callable[[Sequence[K]], Awaitable[list[V]]],
) -> Callable[[Sequence[K]], Awaitable[list[V]]]:
    """A Loaders method as a load function that does not keep the Loaders alive: the bound
    method would (Loaders -> its dataloader -> the method -> Loaders), a reference cycle that
    leaves each request's loaders and their rows to the cyclic collector. A dataloader only
    loads while its request, which holds the Loaders, runs."""
    ref = WeakMethod(method)

    def load(keys: Sequence[K]) -> Awaitable[list[V]]:
        bound = ref()
        assert bound is not None, "a request's dataloader outlived the request"
        return bound(keys)

    return load


class Loaders:
    """A request's dataloaders, each made when the request first uses it (a read uses three
    or four of the eight)."""

    def __init__(self) -> None:
        self.viewer_id: uuid.UUID | None = None

    @cached_property
    def user(self) -> DataLoader[uuid.UUID, User | None]:
        return DataLoader(load_fn=_users)

    @cached_property
    def members(self) -> DataLoader[uuid.UUID, MemberRows]:
        return DataLoader(load_fn=_members)

    @cached_property
    def brief_members(self) -> DataLoader[uuid.UUID, MemberRows]:
        """The members without UNLISTED_MEMBER_FIELDS."""
        return DataLoader(load_fn=partial(_members, brief=True))

    @cached_property
    def billable_seats(self) -> DataLoader[uuid.UUID, int]:
        return DataLoader(load_fn=_weakly(self._billable))

    @cached_property
    def pending_invitations(self) -> DataLoader[uuid.UUID, list[Invitation]]:
        return DataLoader(load_fn=_pending_invitations)

    @cached_property
    def viewer_membership(self) -> DataLoader[uuid.UUID, Membership | None]:
        return DataLoader(load_fn=_weakly(self._viewer_memberships))

    @cached_property
    def current_subscription(self) -> DataLoader[uuid.UUID, Subscription | None]:
        return DataLoader(load_fn=_current_subscriptions)

    @cached_property
    def invoice_by_stripe_id(self) -> DataLoader[str, Invoice | None]:
        return DataLoader(load_fn=_invoices_by_stripe_id)

    @cached_property
    def invoices(self) -> DataLoader[uuid.UUID, list[Invoice]]:
        return DataLoader(load_fn=_invoices)

    async def _billable(self, workspace_ids: Sequence[uuid.UUID]) -> list[int]:
        """Billable members are a workspace's memberships: where this request lists them
        anyway (members and seats in one read), their number comes from that list instead
        of a count of its own (one query fewer, and both from the same snapshot)."""
        lists = [self.__dict__.get(name) for name in ("members", "brief_members")]
        asked = {
            i: future
            for i in workspace_ids
            for listed in lists
            if listed is not None and (future := listed.cache_map.get(i)) is not None
        }
        rest = [i for i in workspace_ids if i not in asked]
        counts = await seats.billable_counts(rest) if rest else {}
        for i, future in asked.items():
            counts[i] = len((await future).rows)
        return [counts[i] for i in workspace_ids]

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
