"""Steps the billing scenario tests share (no tests here): the catalog synced into the
emulator, workspaces whose Stripe customer lives on a test clock, checkout completed through
the emulator, and the GraphQL operations of the billing API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from seatbill.catalog import default_catalog_path, load_catalog
from seatbill.models import Workspace
from seatbill.services.catalog_sync import sync_catalog
from tests.conftest import Api, Person, Stack, settle_webhooks

APRIL_1 = int(datetime(2026, 4, 1, tzinfo=UTC).timestamp())  # April has 30 days
DAY = 86400
SUCCESS = "https://app.example.com/billing/done?session={CHECKOUT_SESSION_ID}"
CANCEL = "https://app.example.com/billing"

SUBSCRIPTION = """
subscription { id status seats interval cancelAtPeriodEnd canceledAt trialEnd
  currentPeriodStart currentPeriodEnd plan { id } pendingSeatChange { seats effectiveAt }
  latestInvoice { id amountDue amountPaid status } }
"""
WORKSPACE_BILLING = """
query($id: ID!) { workspace(id: $id) {
  billingState seats { billable purchased }
  subscription { id status seats interval cancelAtPeriodEnd plan { id } trialEnd
                 pendingSeatChange { seats effectiveAt } }
} }"""
PREVIEW_FIELDS = (
    "currency amountDueNow nextInvoiceTotal effectiveAt lines { description amount proration }"
)
PREVIEW_SEATS = f"""
query($ws: ID!, $seats: Int!) {{ previewSeatChange(workspaceId: $ws, seats: $seats) {{
  {PREVIEW_FIELDS} }} }}"""
PREVIEW_PLAN = f"""
query($ws: ID!, $plan: ID!, $interval: BillingInterval!) {{
  previewPlanChange(workspaceId: $ws, planId: $plan, interval: $interval) {{ {PREVIEW_FIELDS} }} }}"""


@pytest.fixture(scope="session")
async def billing(stack: Stack) -> Stack:
    """The stack with the catalog's products and prices in its emulator."""
    await sync_catalog(stack.gateway, load_catalog(default_catalog_path()))
    return stack


def client(stack: Stack) -> stripe.StripeClient:
    return stack.gateway.client


@dataclass
class Subscribed:
    workspace_id: str
    owner: Person
    customer_id: str
    clock_id: str | None
    subscription_id: str


async def clocked_workspace(
    api: Api, stack: Stack, owner: Person, members: int = 0, at: int = APRIL_1
) -> tuple[str, str, str]:
    """A workspace with ``members`` members besides the owner, whose Stripe customer is on a
    test clock (the test-only path: create the customer ourselves, store it on the workspace,
    as startCheckout would). Returns (workspace id, customer id, clock id)."""
    workspace_id = await api.create_workspace(owner)
    for _ in range(members):
        await api.join(owner, workspace_id, api.person("member"))
    clock = await client(stack).v1.test_helpers.test_clocks.create_async(
        params={"frozen_time": at, "name": f"billing-{uuid.uuid4().hex[:6]}"}
    )
    customer = await stack.gateway.create_customer(workspace_id, test_clock=clock.id)
    await Workspace.filter(id=workspace_id).update(stripe_customer_id=customer.id)
    return workspace_id, customer.id, clock.id


async def start_checkout(
    api: Api,
    who: Person,
    workspace_id: str,
    plan: str,
    interval: str = "MONTH",
    seats: int | None = None,
    success_url: str = SUCCESS,
    cancel_url: str = CANCEL,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "workspaceId": workspace_id,
        "planId": plan,
        "interval": interval,
        "successUrl": success_url,
        "cancelUrl": cancel_url,
    }
    if seats is not None:
        payload["seats"] = seats
    return await api.mutate("startCheckout", payload, who, "checkoutUrl sessionId")


async def complete_checkout(
    stack: Stack, session_id: str, payment_method: str = "pm_card_visa"
) -> stripe.checkout.Session:
    """Pay the session as the hosted page would (the emulator's test helper)."""
    stripe_client = client(stack)
    raw = await stripe_client.raw_request_async(
        "post",
        f"/v1/test_helpers/checkout/sessions/{session_id}/complete",
        payment_method=payment_method,
    )
    session: stripe.checkout.Session = stripe_client.deserialize(raw, api_mode="V1")
    await settle(stack)
    return session


async def subscribe(
    api: Api,
    stack: Stack,
    plan: str,
    *,
    interval: str = "MONTH",
    seats: int | None = None,
    members: int = 0,
    at: int = APRIL_1,
    trial: bool = False,
) -> Subscribed:
    """A workspace on a test clock, subscribed through startCheckout and a paid checkout.
    Without ``trial`` the workspace has had its trial already (a plan with one is paid from
    the start, as the scenarios about money expect)."""
    owner = api.person("owner")
    workspace_id, customer_id, clock_id = await clocked_workspace(api, stack, owner, members, at)
    if not trial:
        await trial_used(workspace_id)
    started = await start_checkout(api, owner, workspace_id, plan, interval, seats)
    assert started["userErrors"] == [], started
    session = await complete_checkout(stack, started["sessionId"])
    assert session.subscription
    return Subscribed(workspace_id, owner, customer_id, clock_id, str(session.subscription))


async def trial_used(workspace_id: str) -> None:
    """Record the workspace's one trial as used (a test shortcut for a past trial)."""
    await Workspace.filter(id=workspace_id).update(trial_used_at=datetime.now(UTC))


async def settle(stack: Stack) -> None:
    """Wait until the emulator delivered every webhook and the API applied them."""
    await settle_webhooks(stack.emulator)


async def advance(stack: Stack, clock_id: str, to: int) -> None:
    clocks = client(stack).v1.test_helpers.test_clocks
    await clocks.advance_async(clock_id, params={"frozen_time": to})
    for _ in range(100):
        if (await clocks.retrieve_async(clock_id)).status == "ready":
            break
    await settle(stack)


async def invoices(stack: Stack, subscription_id: str) -> list[stripe.Invoice]:
    """The subscription's invoices in Stripe, oldest first."""
    page = await client(stack).v1.invoices.list_async(
        params={"subscription": subscription_id, "limit": 100}
    )
    return list(reversed(page.data))


async def stripe_subscription(stack: Stack, subscription_id: str) -> stripe.Subscription:
    return await stack.gateway.retrieve_subscription(subscription_id)


def seat_quantity(sub: stripe.Subscription) -> int:
    """The quantity of the item whose price is a seat price."""
    for item in sub["items"].data:
        if (item.price.metadata.to_dict() if item.price.metadata else {}).get("role") == "seat":
            return int(item.quantity or 0)
    raise AssertionError("no seat item")


async def update_seats(api: Api, who: Person, workspace_id: str, seats: int) -> dict[str, Any]:
    return await api.mutate(
        "updateSeats", {"workspaceId": workspace_id, "seats": seats}, who, SUBSCRIPTION
    )


async def switch_plan(
    api: Api, who: Person, workspace_id: str, plan: str, interval: str = "MONTH"
) -> dict[str, Any]:
    return await api.mutate(
        "switchPlan",
        {"workspaceId": workspace_id, "planId": plan, "interval": interval},
        who,
        SUBSCRIPTION,
    )


async def workspace_billing(api: Api, who: Person, workspace_id: str) -> dict[str, Any]:
    data = await api.data(WORKSPACE_BILLING, {"id": workspace_id}, who)
    workspace: dict[str, Any] = data["workspace"]
    return workspace


async def preview_seats(api: Api, who: Person, workspace_id: str, seats: int) -> dict[str, Any]:
    data = await api.data(PREVIEW_SEATS, {"ws": workspace_id, "seats": seats}, who)
    preview: dict[str, Any] = data["previewSeatChange"]
    return preview


async def preview_plan(
    api: Api, who: Person, workspace_id: str, plan: str, interval: str = "MONTH"
) -> dict[str, Any]:
    data = await api.data(
        PREVIEW_PLAN, {"ws": workspace_id, "plan": plan, "interval": interval}, who
    )
    preview: dict[str, Any] = data["previewPlanChange"]
    return preview
