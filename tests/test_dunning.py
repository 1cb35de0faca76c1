"""Dunning through the emulator: failed renewals make the subscription PAST_DUE, the third
failed attempt restricts the workspace, paying the invoice lifts it."""

from __future__ import annotations

import uuid
from typing import Any

from seatbill.models import AuditLog
from seatbill.services.dunning import is_restricted
from tests.conftest import Api, Person, Stack
from tests.test_webhooks_helpers import (
    DAY,
    JUNE_1,
    advance,
    catalog_prices,
    checkout,
    plan_items,
    settle,
    switch_card,
)

QUERY = """
query($id: ID!) { workspace(id: $id) {
  billingState
  subscription { status seats latestInvoice { id status attemptCount amountDue amountPaid } }
} }
"""


async def state(api: Api, stack: Stack, owner: Person, ws: str) -> dict[str, Any]:
    await settle(stack.emulator)
    data = await api.data(QUERY, {"id": ws}, owner)
    workspace: dict[str, Any] = data["workspace"]
    return workspace


async def test_failed_renewals_restrict_the_workspace_until_the_invoice_is_paid(
    api: Api, stack: Stack
) -> None:
    client = stack.gateway.client
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Late Payer Co")
    prices = await catalog_prices(stack.gateway)
    session, clock = await checkout(
        client,
        ws,
        plan_items(prices, "team", "month", 2),
        clock_at=JUNE_1,
    )
    assert clock is not None
    # The first payment succeeds; then the customer's card starts failing.
    await switch_card(client, session, "pm_card_chargeCustomerFail")
    first = await state(api, stack, owner, ws)
    assert first["billingState"] == "ACTIVE"
    assert first["subscription"]["latestInvoice"]["status"] == "paid"

    # The renewal on July 1 fails: Stripe says past_due, the workspace may still grow.
    await advance(client, clock, JUNE_1 + 30 * DAY + 3600)
    renewal = await state(api, stack, owner, ws)
    assert renewal["billingState"] == "PAST_DUE"
    assert renewal["subscription"]["status"] == "PAST_DUE"
    invoice = renewal["subscription"]["latestInvoice"]
    assert (invoice["status"], invoice["attemptCount"], invoice["amountDue"]) == ("open", 1, 2000)
    assert not await is_restricted(uuid.UUID(ws))

    # Retries 3 and 5 days later fail too: the third failed attempt restricts.
    await advance(client, clock, JUNE_1 + 33 * DAY + 7200)
    assert (await state(api, stack, owner, ws))["billingState"] == "PAST_DUE"
    await advance(client, clock, JUNE_1 + 38 * DAY + 10800)
    restricted = await state(api, stack, owner, ws)
    assert restricted["billingState"] == "RESTRICTED"
    assert restricted["subscription"]["status"] == "PAST_DUE"
    assert restricted["subscription"]["latestInvoice"]["attemptCount"] == 3
    assert await is_restricted(uuid.UUID(ws))
    assert await AuditLog.exists(workspace_id=ws, action="billing.restricted")

    # The customer pays with a working card: invoice.paid lifts the restriction.
    await client.v1.invoices.pay_async(invoice["id"], params={"payment_method": "pm_card_visa"})
    paid = await state(api, stack, owner, ws)
    assert paid["billingState"] == "ACTIVE"
    assert paid["subscription"]["status"] == "ACTIVE"
    assert paid["subscription"]["latestInvoice"]["status"] == "paid"
    assert paid["subscription"]["latestInvoice"]["amountPaid"] == 2000
    assert not await is_restricted(ws)
    assert await AuditLog.exists(workspace_id=ws, action="billing.unrestricted")
    _ = session
