"""Cancel (at period end by default, resumable until then; or at once) and resume."""

from __future__ import annotations

from seatbill.models import Role, Subscription, User, Workspace
from seatbill.services.billing.core import (
    ENDED,
    Billing,
    audit,
    audit_state,
    billing_version,
    mirror_now,
    provider_errors,
    read_subscription,
    require_manager,
    require_subscription,
)
from seatbill.services.billing.schedules import PeriodEnd, period_end_of, set_period_end
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.workspaces import require_membership

# Cancel and resume ----------------------------------------------------------------------


async def cancel(
    billing: Billing, viewer: User, raw_workspace_id: str, *, at_period_end: bool = True
) -> Subscription | None:
    """Cancel at the end of the paid period (resumable until then), or at once (no refund)."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "cancelSubscription")
    gateway = billing.stripe()
    async with provider_errors():
        view = await require_subscription(billing, workspace)
        before = audit_state(view)
        if at_period_end:
            if view.cancel_at_period_end:
                return await mirror_now(billing, view.raw)
            # A pending seat decrease stays in the schedule, for a resume to bring back.
            now = await period_end_of(billing, view)
            version = await billing_version(workspace)
            sub = await set_period_end(
                billing, view, now, PeriodEnd(now.pending_seats, True), version
            )
            action = "billing.cancel_at_period_end"
        else:
            sub = await gateway.cancel_subscription_now(view.id)
            action = "billing.canceled_now"
        row = await mirror_now(billing, sub)
    await audit(
        workspace, viewer, action, before, audit_state(read_subscription(billing.catalog, sub))
    )
    return row


async def resume(billing: Billing, viewer: User, raw_workspace_id: str) -> Subscription | None:
    """Undo a cancellation at period end, while the period lasts (a seat decrease that was
    pending when it was cancelled comes back)."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "resumeSubscription")
    async with provider_errors():
        view = await require_subscription(billing, workspace)
        if not view.cancel_at_period_end:
            raise DomainError(
                ErrorCode.VALIDATION,
                "The subscription is not set to cancel; there is nothing to resume",
                ("input", "workspaceId"),
            )
        before = audit_state(view)
        now = await period_end_of(billing, view)
        version = await billing_version(workspace)
        sub = await set_period_end(billing, view, now, PeriodEnd(now.pending_seats, False), version)
        row = await mirror_now(billing, sub)
    await audit(
        workspace,
        viewer,
        "billing.resumed",
        before,
        audit_state(read_subscription(billing.catalog, sub)),
    )
    return row


async def cancel_now_for_deleted_workspace(
    billing: Billing, viewer: User, raw_workspace_id: str
) -> None:
    """Before a workspace is deleted: its owner only; every live subscription ends now. Stripe
    failing stops the deletion, so a deleted workspace is never left paying."""
    member = await require_membership(viewer, raw_workspace_id, roles=(Role.OWNER,))
    workspace: Workspace = member.workspace
    if not workspace.stripe_customer_id:
        return
    await billing.limit("deleteWorkspace", viewer, workspace)
    gateway = billing.stripe()
    async with provider_errors():
        for sub in await gateway.list_subscriptions(workspace.stripe_customer_id):
            if sub.status in ENDED:
                continue
            before = audit_state(read_subscription(billing.catalog, sub))
            canceled = await gateway.cancel_subscription_now(sub.id)
            await mirror_now(billing, canceled)
            await audit(
                workspace,
                viewer,
                "billing.canceled_workspace_deleted",
                before,
                audit_state(read_subscription(billing.catalog, canceled)),
            )
