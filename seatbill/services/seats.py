"""The one place that counts seats."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tortoise.functions import Count

from seatbill.models import Membership


async def billable_counts(workspace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Billable members per workspace: active (accepted) members, the owner included."""
    rows = (
        await Membership.filter(workspace_id__in=list(workspace_ids))
        .annotate(n=Count("id"))
        .group_by("workspace_id")
        .values_list("workspace_id", "n")
    )
    counts = {uuid.UUID(str(ws)): int(n) for ws, n in rows}
    return {i: counts.get(i, 0) for i in workspace_ids}


async def billable_count(workspace_id: uuid.UUID) -> int:
    return (await billable_counts([workspace_id]))[workspace_id]
