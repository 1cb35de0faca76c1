"""GraphQL object types. They map rows to fields; the rules live in services."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from seatbill import models
from seatbill.prepared import Converters
from seatbill.schema.billing import (
    BillingState,
    InvoiceConnection,
    PaymentMethod,
    Subscription,
    billing_state,
    check_page_size,
    invoice_page,
    parse_invoice_cursor,
    seat_limits,
    sees_money,
)
from seatbill.schema.context import Context
from seatbill.schema.enums import BillingInterval as BillingInterval  # re-exported
from seatbill.schema.executor import RUN_ONCE
from seatbill.schema.loaders import UNLISTED_MEMBER_FIELDS
from seatbill.schema.plans import PlanLimit
from seatbill.schema.rows import Column, Row, RowLayout, RowList
from seatbill.services import billing, entitlements
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.workspaces import now

# The domain enums (Role, InvitationStatus, ErrorCode) are the GraphQL enums as they are.


@strawberry.type
class UserError:
    code: ErrorCode
    message: str
    field: list[str] | None = None
    url: str | None = strawberry.field(
        default=None,
        description="Where the user can act on the error: for PAYMENT_FAILED, Stripe's hosted "
        "invoice, where paying applies the change.",
    )

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        return cls(
            code=error.code,
            message=error.message,
            field=list(error.field) if error.field else None,
            url=error.url,
        )


@strawberry.type
class Invitation:
    id: strawberry.ID
    email: str
    role: models.Role
    status: models.InvitationStatus
    created_at: datetime
    expires_at: datetime
    workspace_id: strawberry.ID
    token: str | None = strawberry.field(
        default=None,
        description="The secret to deliver to the invitee; only in the inviteMember response.",
    )
    _workspace_name: strawberry.Private[str | None] = None

    @strawberry.field(description="The workspace's name, for the invitee.")
    async def workspace_name(self, info: Info[Context, None]) -> str:
        if self._workspace_name is not None:
            return self._workspace_name
        found = await models.Workspace.get(id=uuid.UUID(str(self.workspace_id)))
        return found.name

    @classmethod
    def of(
        cls, row: models.Invitation, token: str | None = None, workspace_name: str | None = None
    ) -> Invitation:
        return cls(
            id=strawberry.ID(str(row.id)),
            email=row.email,
            role=row.role,
            status=row.status,
            created_at=row.created_at,
            expires_at=row.expires_at,
            workspace_id=strawberry.ID(str(row.workspace_id)),
            token=token,
            _workspace_name=workspace_name,
        )


@strawberry.type
class User:
    id: strawberry.ID
    email: str | None
    name: str | None
    _id: strawberry.Private[uuid.UUID]

    @strawberry.field(
        description="Pending invitations addressed to you (empty for other users, and while "
        "your token says your email is not verified)."
    )
    async def invitations(self, info: Info[Context, None]) -> list[Invitation]:
        viewer = await info.context.viewer()
        if viewer.id != self._id or not viewer.email or info.context.email_verified is False:
            return []
        rows = (
            await models.Invitation.filter(
                email=viewer.email,
                status=models.InvitationStatus.PENDING,
                expires_at__gt=now(),
                workspace__deleted_at__isnull=True,
            )
            .prefetch_related("workspace")
            .order_by("created_at")
        )
        return [Invitation.of(row, workspace_name=row.workspace.name) for row in rows]

    @classmethod
    def of(cls, row: models.User) -> User:
        return cls(id=strawberry.ID(str(row.id)), email=row.email, name=row.name, _id=row.id)

    @classmethod
    def of_member_row(cls, row: Row, convert: Converters) -> User:
        """A member's user from a members loader's row (MEMBER_ROWS)."""
        user = convert["user_id"](row["user_id"])
        return cls(
            id=strawberry.ID(str(user)), email=row["user__email"], name=row["user__name"], _id=user
        )


@strawberry.type
class Member:
    id: strawberry.ID
    role: models.Role
    joined_at: datetime
    # Loaded with the membership (one joined query per list), not resolved per member.
    user: User

    @classmethod
    def of(cls, row: models.Membership, user: models.User) -> Member:
        return cls(
            id=strawberry.ID(str(row.id)),
            role=row.role,
            joined_at=row.joined_at,
            user=User.of(user),
        )

    @classmethod
    def of_row(cls, row: Row, convert: Converters) -> Member:
        """From a members loader's row as the database returned it (MEMBER_ROWS)."""
        return cls(
            id=strawberry.ID(str(convert["id"](row["id"]))),
            role=convert["role"](row["role"]),
            joined_at=convert["joined_at"](row["joined_at"]),
            user=User.of_member_row(row, convert),
        )

    @classmethod
    def of_brief_row(cls, row: Row, convert: Converters) -> Member:
        """From a brief row (without UNLISTED_MEMBER_FIELDS), read for a selection that
        selects neither ``id`` nor ``joinedAt``: neither executor reads them, so they stay
        empty."""
        return cls(
            id=strawberry.ID(""),
            role=convert["role"](row["role"]),
            joined_at=_UNREAD,
            user=User.of_member_row(row, convert),
        )


_UNREAD = datetime.min.replace(tzinfo=UTC)

# A member list read straight from the members loader's rows (see seatbill.schema.rows).
MEMBER_ROWS = RowLayout(
    make=Member.of_row,
    fields={
        "id": Column("id", str),
        "role": Column("role"),
        "joined_at": Column("joined_at"),
        "user": RowLayout(
            make=User.of_member_row,
            fields={
                "id": Column("user_id", str),
                "email": Column("user__email"),
                "name": Column("user__name"),
            },
        ),
    },
)
BRIEF_MEMBER_ROWS = RowLayout(
    make=Member.of_brief_row,
    fields={
        name: source
        for name, source in MEMBER_ROWS.fields.items()
        if not (isinstance(source, Column) and source.name in UNLISTED_MEMBER_FIELDS)
    },
)
# Member's fields (their GraphQL names) read from UNLISTED_MEMBER_FIELDS.
_UNLISTED_SELECTIONS = frozenset({"id", "joinedAt"})


def _selects_any(info: Info[Context, None], names: frozenset[str]) -> bool:
    """Whether the field's selection names one of ``names`` (a fragment counts as selecting
    everything)."""
    for field in info.selected_fields:
        for selection in getattr(field, "selections", ()):
            if not isinstance(selection, SelectedField) or selection.name in names:
                return True
    return False


@strawberry.type(description="Seats the workspace uses and may use.")
class SeatUsage:
    billable: int = strawberry.field(description="Active members, the owner included.")
    purchased: int | None = strawberry.field(
        default=None, description="Seats paid for on the subscription (null without one)."
    )
    limit: int | None = strawberry.field(
        default=None, description="The most members allowed (purchased seats or the plan cap)."
    )
    available: int | None = strawberry.field(default=None, description="limit - billable.")


@strawberry.type
class Workspace:
    id: strawberry.ID
    name: str
    created_at: datetime
    _id: strawberry.Private[uuid.UUID]
    _restricted_at: strawberry.Private[datetime | None] = None
    _customer_id: strawberry.Private[str | None] = None

    @strawberry.field
    async def viewer_role(self, info: Info[Context, None]) -> models.Role:
        await info.context.viewer()
        membership = await info.context.loaders.viewer_membership.load(self._id)
        assert membership is not None  # a Workspace is only built for its members
        return membership.role

    @strawberry.field
    async def members(self, info: Info[Context, None]) -> Sequence[Member]:
        loaders = info.context.loaders
        if _selects_any(info, _UNLISTED_SELECTIONS):
            found = await loaders.members.load(self._id)
            return RowList(found.rows, found.convert, MEMBER_ROWS)
        found = await loaders.brief_members.load(self._id)
        return RowList(found.rows, found.convert, BRIEF_MEMBER_ROWS)

    @strawberry.field(description="Pending invitations; visible to owners and admins.")
    async def invitations(self, info: Info[Context, None]) -> list[Invitation]:
        await info.context.viewer()
        membership = await info.context.loaders.viewer_membership.load(self._id)
        if membership is None or membership.role not in (models.Role.OWNER, models.Role.ADMIN):
            return []
        rows = await info.context.loaders.pending_invitations.load(self._id)
        return [Invitation.of(row, workspace_name=self.name) for row in rows]

    @strawberry.field
    async def seats(self, info: Info[Context, None]) -> SeatUsage:
        billable = await info.context.loaders.billable_seats.load(self._id)
        subscription = await info.context.loaders.current_subscription.load(self._id)
        purchased, limit, available = seat_limits(info.context.catalog, subscription, billable)
        return SeatUsage(billable=billable, purchased=purchased, limit=limit, available=available)

    @strawberry.field(
        description="The live subscription, else the most recent one; null if never subscribed."
    )
    async def subscription(self, info: Info[Context, None]) -> Subscription | None:
        row = await info.context.loaders.current_subscription.load(self._id)
        return Subscription.of(row) if row else None

    @strawberry.field(
        description=(
            "The limits of the plan the workspace is on: its subscription's plan while the "
            'subscription is TRIALING, ACTIVE or PAST_DUE, else the catalog\'s "free" plan, '
            "else none. A null value is unlimited."
        )
    )
    async def entitlements(self, info: Info[Context, None]) -> list[PlanLimit]:
        row = await info.context.loaders.current_subscription.load(self._id)
        return PlanLimit.list_of(entitlements.entitlements(row, info.context.catalog))

    @strawberry.field(
        description="The card the workspace's invoices are charged to (Stripe's default for "
        "its customer), read from Stripe. Null without one, and unless you are its owner or "
        "an admin.",
        metadata=RUN_ONCE,
    )
    async def payment_method(self, info: Info[Context, None]) -> PaymentMethod | None:
        if not await sees_money(info, self._id):
            return None
        context = info.context
        found = await billing.default_card(
            billing.Billing(context.gateway, context.catalog, context.settings), self._customer_id
        )
        if found is None:
            return None
        return PaymentMethod(
            brand=found.brand, last4=found.last4, exp_month=found.exp_month, exp_year=found.exp_year
        )

    @strawberry.field(description="Billing standing; see the enum for the rule.")
    async def billing_state(self, info: Info[Context, None]) -> BillingState:
        row = await info.context.loaders.current_subscription.load(self._id)
        return billing_state(self._restricted_at is not None, row)

    @strawberry.field(
        description=(
            "Invoices, newest first. first: 1..100. Amounts and hosted pages for owners and "
            "admins only."
        )
    )
    async def invoices(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> InvoiceConnection:
        check_page_size(first)
        cursor = parse_invoice_cursor(after) if after is not None else None
        rows = await info.context.loaders.invoices.load(self._id)
        return invoice_page(rows, first, cursor, await sees_money(info, self._id))

    @classmethod
    def of(cls, row: models.Workspace) -> Workspace:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            created_at=row.created_at,
            _id=row.id,
            _restricted_at=row.restricted_at,
            _customer_id=row.stripe_customer_id,
        )
