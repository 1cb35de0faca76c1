"""Invoice.periodStart / periodEnd show the service period an invoice bills.

Stripe's own ``invoice.period_start/end`` on a renewal invoice is the period that ENDED (the
usage period); the period billed is on the subscription lines (``lines.data[].period``).
Proration lines cover the part of the last period a change touched, so they do not count.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from seatbill.models import Invoice
from seatbill.services.mirror import service_period
from tests.billing_support import (
    APRIL_1,
    DAY,
    advance,
    billing,
    client,
    invoices,
    settle,
    stripe_subscription,
    subscribe,
)
from tests.conftest import Api, Stack
from tests.test_webhooks_delivery import post
from tests.test_webhooks_helpers import event

__all__ = ["billing"]

MAY_1 = APRIL_1 + 30 * DAY
JUNE_1 = MAY_1 + 31 * DAY
INVOICES = """query($id: ID!) { workspace(id: $id) {
  invoices { nodes { id periodStart periodEnd amountDue } } } }"""


def proration(line: dict[str, Any]) -> bool:
    parent = line["parent"]
    details = parent["subscription_item_details"] or parent["invoice_item_details"]
    return bool(details["proration"])


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


async def shown(api: Api, who: Any, workspace_id: str) -> dict[str, tuple[str, str]]:
    data = await api.data(INVOICES, {"id": workspace_id}, who)
    return {
        node["id"]: (node["periodStart"], node["periodEnd"])
        for node in data["workspace"]["invoices"]["nodes"]
    }


async def test_a_renewal_with_prorations_shows_the_period_it_bills(
    api: Api, billing: Stack
) -> None:
    paid = await subscribe(api, billing, "team", seats=2)
    assert paid.clock_id
    # Mid-April a third seat is added with prorations left for the renewal invoice.
    await advance(billing, paid.clock_id, APRIL_1 + 15 * DAY)
    sub = await stripe_subscription(billing, paid.subscription_id)
    await client(billing).v1.subscriptions.update_async(
        paid.subscription_id,
        params={
            "items": [{"id": sub["items"].data[0].id, "quantity": 3}],
            "proration_behavior": "create_prorations",
        },
    )
    await advance(billing, paid.clock_id, MAY_1)

    first, renewal = await invoices(billing, paid.subscription_id)
    assert renewal.billing_reason == "subscription_cycle"
    kinds = {proration(line.to_dict(recursive=True)) for line in renewal.lines.data}
    assert kinds == {True, False}  # prorations and the subscription line
    periods = await shown(api, paid.owner, paid.workspace_id)
    assert periods[first.id] == (iso(APRIL_1), iso(MAY_1))
    # May's invoice bills May (not April, which ended, nor the prorated half of it).
    assert periods[renewal.id] == (iso(MAY_1), iso(JUNE_1))


async def test_a_truncated_line_list_is_read_to_the_end(api: Api, billing: Stack) -> None:
    paid = await subscribe(api, billing, "team", seats=2)
    assert paid.clock_id
    await advance(billing, paid.clock_id, APRIL_1 + 10 * DAY)
    sub = await stripe_subscription(billing, paid.subscription_id)
    await client(billing).v1.subscriptions.update_async(
        paid.subscription_id,
        params={
            "items": [{"id": sub["items"].data[0].id, "quantity": 4}],
            "proration_behavior": "create_prorations",
        },
    )
    await advance(billing, paid.clock_id, MAY_1)
    renewal = (await invoices(billing, paid.subscription_id))[-1]
    await settle(billing)

    # The event embeds only the first (proration) line and says there is more.
    data = renewal.to_dict(recursive=True, for_json=True)
    data["lines"]["data"] = [line for line in data["lines"]["data"] if proration(line)][:1]
    data["lines"]["has_more"] = True
    evt = event("invoice.updated", data, created=int(time.time()) + 5)
    assert (await post(api, billing, evt)).status_code == 200

    row = await Invoice.get(stripe_id=renewal.id)
    assert (row.service_period_start, row.service_period_end) == (
        datetime.fromtimestamp(MAY_1, UTC),
        datetime.fromtimestamp(JUNE_1, UTC),
    )


def line(kind: str, start: int, end: int, *, proration: bool) -> dict[str, Any]:
    details = {"proration": proration}
    return {
        "period": {"start": start, "end": end},
        "parent": {
            "type": kind,
            "subscription_item_details": details if kind == "subscription_item_details" else None,
            "invoice_item_details": details if kind == "invoice_item_details" else None,
        },
    }


def test_service_period_rules() -> None:
    subscription = line("subscription_item_details", MAY_1, JUNE_1, proration=False)
    credit = line("invoice_item_details", APRIL_1 + 15 * DAY, MAY_1, proration=True)
    assert service_period([credit, subscription]) == (MAY_1, JUNE_1)
    # An invoice of prorations only (a change invoiced at once) bills their span.
    charge = line("subscription_item_details", APRIL_1 + 15 * DAY, MAY_1, proration=True)
    assert service_period([credit, charge]) == (APRIL_1 + 15 * DAY, MAY_1)
    # Before 2025 the line said it itself: type "subscription", proration on the line.
    old = {"type": "subscription", "proration": False, "period": {"start": MAY_1, "end": JUNE_1}}
    assert service_period([old]) == (MAY_1, JUNE_1)
    assert service_period([]) == (None, None)
