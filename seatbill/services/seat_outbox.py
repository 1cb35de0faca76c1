"""The seat outbox's writing side: a membership change records that Stripe's seat quantity
must follow, in the transaction that changes the members. The worker that reads the outbox
lives in :mod:`seatbill.services.seat_sync`; the mirror and the member operations both write
here, so this module sits below them and imports neither."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from seatbill.models import ENDED_SUBSCRIPTION_STATUSES, SeatOutbox, SeatSyncState, Subscription

MEMBER_JOINED = "member_joined"
MEMBER_REMOVED = "member_removed"
MEMBER_LEFT = "member_left"
SUBSCRIPTION_LINKED = "subscription_linked"  # a new subscription: members may differ from it


async def enqueue(workspace_id: uuid.UUID, reason: str) -> None:
    """Record that the workspace's billable members changed. Call it inside the transaction
    that changed them, and ``seat_sync.wake`` after it commits."""
    stamp = datetime.now(UTC)
    await SeatOutbox.create(workspace_id=workspace_id, reason=reason, next_attempt_at=stamp)
    await (
        Subscription.filter(workspace_id=workspace_id, status__not_in=ENDED_SUBSCRIPTION_STATUSES)
        .exclude(seat_sync_state=SeatSyncState.PENDING)
        .update(seat_sync_state=SeatSyncState.PENDING)
    )
