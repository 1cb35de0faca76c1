"""Tortoise models. Every invariant that can live in the database lives there."""

from seatbill.models.billing import (
    ENDED_SUBSCRIPTION_STATUSES,
    AuditLog,
    EventOutcome,
    Invoice,
    ItemRole,
    SeatOutbox,
    SeatSyncState,
    Subscription,
    SubscriptionItem,
    WebhookEvent,
)
from seatbill.models.rate_limits import RateLimitWindow
from seatbill.models.workspace import (
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    User,
    Workspace,
)

__all__ = [
    "ENDED_SUBSCRIPTION_STATUSES",
    "AuditLog",
    "EventOutcome",
    "Invitation",
    "InvitationStatus",
    "Invoice",
    "ItemRole",
    "Membership",
    "RateLimitWindow",
    "Role",
    "SeatOutbox",
    "SeatSyncState",
    "Subscription",
    "SubscriptionItem",
    "User",
    "WebhookEvent",
    "Workspace",
]
