"""Dunning: failed payments restrict a workspace until Stripe is paid.

Stripe's own status says ``past_due`` after a failed renewal; Seatbill adds one rule on top:
a workspace with an open invoice that has failed ``DUNNING_MAX_ATTEMPTS`` times or more is
RESTRICTED (``Workspace.restricted_at``): reads work, growth is refused with
``BILLING_RESTRICTED``. Paying (``invoice.paid``) or voiding the invoice lifts it. The state is
derived from the mirrored invoices, so it does not depend on the order events arrive in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from seatbill.models import AuditLog, Invoice, Workspace

DUNNING_INVOICE_STATUS = "open"


async def is_restricted(workspace_id: uuid.UUID | str) -> bool:
    """True while the workspace may not grow (invites, seat increases, plan upgrades)."""
    return await Workspace.filter(
        id=workspace_id if isinstance(workspace_id, uuid.UUID) else uuid.UUID(workspace_id),
        restricted_at__isnull=False,
    ).exists()


async def refresh_restriction(
    workspace_id: uuid.UUID, *, max_attempts: int, event_id: str | None = None
) -> bool:
    """Set or clear ``restricted_at`` from the workspace's invoices; returns the new state."""
    restricted = await Invoice.filter(
        workspace_id=workspace_id,
        status=DUNNING_INVOICE_STATUS,
        attempt_count__gte=max_attempts,
    ).exists()
    workspace = await Workspace.get(id=workspace_id)
    if restricted == (workspace.restricted_at is not None):
        return restricted
    before = workspace.restricted_at
    workspace.restricted_at = datetime.now(UTC) if restricted else None
    await workspace.save(update_fields=["restricted_at"])
    await AuditLog.create(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        event_id=event_id,
        action="billing.restricted" if restricted else "billing.unrestricted",
        before={"restricted_at": before.isoformat() if before else None},
        after={
            "restricted_at": workspace.restricted_at.isoformat()
            if workspace.restricted_at
            else None
        },
    )
    return restricted
