"""Stripe webhooks end to end: the emulator delivers signed events to the live API."""

from __future__ import annotations

import asyncio
import time

from seatbill.models import AuditLog, EventOutcome, Subscription, WebhookEvent, Workspace
from tests.conftest import Api, Stack
from tests.test_webhooks_helpers import catalog_prices, checkout, plan_items, settle

SUBSCRIPTION_QUERY = """
query($id: ID!) { workspace(id: $id) {
  billingState
  seats { billable purchased limit available }
  subscription { id status seats interval currentPeriodStart currentPeriodEnd
                 cancelAtPeriodEnd plan { id } pendingSeatChange { seats effectiveAt }
                 seatSync { state } latestInvoice { id status amountDue amountPaid currency } }
} }
"""


async def wait_for(check, within: float = 1.0):  # type: ignore[no-untyped-def]
    """Poll ``check`` until it returns something truthy, for at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.02)


async def test_checkout_through_the_emulator_shows_the_subscription_within_a_second(
    api: Api, stack: Stack
) -> None:
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Checkout Co")
    prices = await catalog_prices(stack.gateway)
    started = time.monotonic()
    session, _ = await checkout(stack.gateway.client, ws, plan_items(prices, "team", "month", 5))

    async def active() -> dict | None:  # type: ignore[type-arg]
        data = await api.data(SUBSCRIPTION_QUERY, {"id": ws}, owner)
        sub = data["workspace"]["subscription"]
        return data if sub and sub["status"] == "ACTIVE" else None

    data = await wait_for(active, within=1.0)
    assert data is not None, "the subscription did not appear within a second"
    assert time.monotonic() - started < 2.0
    workspace = data["workspace"]
    sub = workspace["subscription"]
    assert sub["id"] == session.subscription
    assert sub["seats"] == 5
    assert sub["interval"] == "MONTH"
    assert sub["plan"] == {"id": "team"}
    assert sub["currentPeriodEnd"] is not None
    assert sub["cancelAtPeriodEnd"] is False
    assert sub["pendingSeatChange"] is None
    assert workspace["billingState"] == "ACTIVE"
    assert workspace["seats"] == {"billable": 1, "purchased": 5, "limit": 5, "available": 4}
    # The first invoice: 5 x $10.00, paid.
    await settle(stack.emulator)
    data = await api.data(SUBSCRIPTION_QUERY, {"id": ws}, owner)
    invoice = data["workspace"]["subscription"]["latestInvoice"]
    assert invoice["status"] == "paid"
    assert (invoice["amountDue"], invoice["amountPaid"], invoice["currency"]) == (
        5000,
        5000,
        "usd",
    )
    row = await Workspace.get(id=ws)
    assert row.stripe_customer_id == session.customer
    assert await AuditLog.filter(workspace_id=ws, action="subscription.created").count() == 1
    events = await WebhookEvent.filter(type="checkout.session.completed").values_list(
        "outcome", flat=True
    )
    assert EventOutcome.PROCESSED in events
    assert await Subscription.filter(workspace_id=ws).count() == 1
