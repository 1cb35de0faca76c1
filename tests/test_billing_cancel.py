"""Scenarios: cancel at period end and resume, cancel now, delete a paying workspace, portal."""

from __future__ import annotations

from typing import Any

from seatbill.models import AuditLog, Workspace
from tests.billing_support import (
    APRIL_1,
    DAY,
    SUBSCRIPTION,
    advance,
    billing,
    invoices,
    stripe_subscription,
    subscribe,
    update_seats,
    workspace_billing,
)
from tests.conftest import Api, Person, Stack

__all__ = ["billing"]

MAY_1 = APRIL_1 + 30 * DAY


async def cancel(
    api: Api, who: Person, workspace_id: str, at_period_end: bool | None = None
) -> Any:
    payload: dict[str, Any] = {"workspaceId": workspace_id}
    if at_period_end is not None:
        payload["atPeriodEnd"] = at_period_end
    return await api.mutate("cancelSubscription", payload, who, SUBSCRIPTION)


async def resume(api: Api, who: Person, workspace_id: str) -> Any:
    return await api.mutate("resumeSubscription", {"workspaceId": workspace_id}, who, SUBSCRIPTION)


async def test_cancel_at_period_end_then_resume_keeps_billing(api: Api, billing: Stack) -> None:
    subscribed = await subscribe(api, billing, "team", seats=3)
    assert subscribed.clock_id
    canceled = await cancel(api, subscribed.owner, subscribed.workspace_id)  # default: period end
    assert canceled["userErrors"] == []
    assert canceled["subscription"]["status"] == "ACTIVE"
    assert canceled["subscription"]["cancelAtPeriodEnd"] is True

    resumed = await resume(api, subscribed.owner, subscribed.workspace_id)
    assert resumed["userErrors"] == []
    assert resumed["subscription"]["cancelAtPeriodEnd"] is False
    assert (
        await stripe_subscription(billing, subscribed.subscription_id)
    ).cancel_at_period_end is False

    await advance(billing, subscribed.clock_id, MAY_1 + DAY)
    renewal = (await invoices(billing, subscribed.subscription_id))[-1]
    assert (renewal.billing_reason, renewal.amount_paid) == ("subscription_cycle", 3000)
    ws = await workspace_billing(api, subscribed.owner, subscribed.workspace_id)
    assert ws["subscription"]["status"] == "ACTIVE"
    actions = (
        await AuditLog.filter(workspace_id=subscribed.workspace_id, actor_id__isnull=False)
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert list(actions) == [
        "billing.checkout_started",
        "billing.cancel_at_period_end",
        "billing.resumed",
    ]


async def test_cancel_at_period_end_ends_the_subscription_when_the_period_ends(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=2)
    assert subscribed.clock_id
    # A pending seat decrease does not block a cancellation (the schedule is released).
    assert (await update_seats(api, subscribed.owner, subscribed.workspace_id, 1))[
        "userErrors"
    ] == []
    assert (await cancel(api, subscribed.owner, subscribed.workspace_id, True))["userErrors"] == []
    twice = await cancel(api, subscribed.owner, subscribed.workspace_id, True)
    assert twice["userErrors"] == [] and twice["subscription"]["cancelAtPeriodEnd"] is True
    await advance(billing, subscribed.clock_id, MAY_1 + DAY)
    assert len(await invoices(billing, subscribed.subscription_id)) == 1  # no renewal
    ws = await workspace_billing(api, subscribed.owner, subscribed.workspace_id)
    assert ws["subscription"]["status"] == "CANCELED"
    assert ws["billingState"] == "CANCELED"
    nothing = await resume(api, subscribed.owner, subscribed.workspace_id)
    assert nothing["userErrors"][0]["code"] == "NO_SUBSCRIPTION"


async def test_resume_without_a_pending_cancellation_is_a_validation_error(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=1)
    refused = await resume(api, subscribed.owner, subscribed.workspace_id)
    assert refused["userErrors"][0]["code"] == "VALIDATION"


async def test_immediate_cancel_ends_billing_now_without_a_refund(api: Api, billing: Stack) -> None:
    subscribed = await subscribe(api, billing, "team", seats=4)
    assert subscribed.clock_id
    await advance(billing, subscribed.clock_id, APRIL_1 + 5 * DAY)
    canceled = await cancel(api, subscribed.owner, subscribed.workspace_id, False)
    assert canceled["userErrors"] == []
    assert canceled["subscription"]["status"] == "CANCELED"
    assert canceled["subscription"]["canceledAt"] == "2026-04-06T00:00:00+00:00"
    assert (await stripe_subscription(billing, subscribed.subscription_id)).status == "canceled"
    await advance(billing, subscribed.clock_id, MAY_1 + DAY)
    assert [i.amount_paid for i in await invoices(billing, subscribed.subscription_id)] == [4000]
    ws = await workspace_billing(api, subscribed.owner, subscribed.workspace_id)
    assert ws["billingState"] == "CANCELED"
    assert ws["seats"]["purchased"] is None


async def test_deleting_a_workspace_cancels_its_subscription_now(api: Api, billing: Stack) -> None:
    subscribed = await subscribe(api, billing, "pro", members=1)
    admin = api.person("admin")
    await api.join(subscribed.owner, subscribed.workspace_id, admin, "ADMIN")
    by_admin = await api.mutate(
        "deleteWorkspace", {"workspaceId": subscribed.workspace_id}, admin, "deletedWorkspaceId"
    )
    assert by_admin["userErrors"][0]["code"] == "FORBIDDEN"
    assert (await stripe_subscription(billing, subscribed.subscription_id)).status == "active"

    deleted = await api.mutate(
        "deleteWorkspace",
        {"workspaceId": subscribed.workspace_id},
        subscribed.owner,
        "deletedWorkspaceId",
    )

    assert deleted["userErrors"] == []
    assert deleted["deletedWorkspaceId"] == subscribed.workspace_id
    assert (await stripe_subscription(billing, subscribed.subscription_id)).status == "canceled"
    assert (await Workspace.get(id=subscribed.workspace_id)).deleted_at is not None
    audit = await AuditLog.get(
        workspace_id=subscribed.workspace_id, action="billing.canceled_workspace_deleted"
    )
    assert (audit.before["status"], audit.after["status"]) == ("active", "canceled")


async def test_a_workspace_is_not_deleted_while_stripe_refuses_to_cancel(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=1)
    await billing.gateway.client.raw_request_async(
        "post",
        "/_emulator/faults",
        status=400,
        path_prefix=f"/v1/subscriptions/{subscribed.subscription_id}",
        count=1,
    )
    kept = await api.mutate(
        "deleteWorkspace",
        {"workspaceId": subscribed.workspace_id},
        subscribed.owner,
        "deletedWorkspaceId",
    )
    assert kept["deletedWorkspaceId"] is None
    assert [(e["code"], e["message"]) for e in kept["userErrors"]] == [
        ("BILLING_PROVIDER_ERROR", "The billing provider refused the request")
    ]
    assert (await Workspace.get(id=subscribed.workspace_id)).deleted_at is None
    assert (await stripe_subscription(billing, subscribed.subscription_id)).status == "active"


async def test_billing_portal_opens_for_the_workspace_customer(api: Api, billing: Stack) -> None:
    subscribed = await subscribe(api, billing, "team", seats=2)
    opened = await api.mutate(
        "openBillingPortal",
        {"workspaceId": subscribed.workspace_id, "returnUrl": "https://app.example.com/billing"},
        subscribed.owner,
        "url",
    )
    assert opened["userErrors"] == []
    assert opened["url"].startswith(billing.emulator.url + "/portal/bps_")
    portal = billing.emulator.emulator.state.get(
        opened["url"].rsplit("/", 1)[1], "billing_portal.session"
    )
    assert portal["customer"] == subscribed.customer_id
    assert portal["return_url"] == "https://app.example.com/billing"
