"""Events in another API version, and deleted draft invoices.

Stripe renders an event in its webhook endpoint's API version. Before 2025 the billing period
sat on the subscription, not on its items; mirrored as it is, such an event would null the
stored period. So an event whose ``api_version`` is not the SDK's pinned one is only a
notification: Seatbill re-fetches the object (in the SDK's version) and mirrors that.
"""

from __future__ import annotations

import time
from typing import Any

import stripe

from seatbill.models import AuditLog, EventOutcome, Invoice, Subscription, WebhookEvent
from tests.billing_support import billing, stripe_subscription, subscribe
from tests.conftest import Api, Stack
from tests.test_webhooks_delivery import linked_workspace, post
from tests.test_webhooks_helpers import event, invoice_object, outcome

__all__ = ["billing"]

OLD_VERSION = "2024-06-20"
INVOICES = "query($id: ID!) { workspace(id: $id) { invoices { nodes { id status } } } }"


def old_shape(sub: stripe.Subscription, seats: int) -> dict[str, Any]:
    """The subscription as a 2024-06-20 endpoint receives it: the period at the top level,
    none on the items (and, here, another seat count than Stripe's)."""
    data: dict[str, Any] = sub.to_dict(recursive=True, for_json=True)
    first = data["items"]["data"][0]
    data["current_period_start"] = first["current_period_start"]
    data["current_period_end"] = first["current_period_end"]
    for item in data["items"]["data"]:
        item.pop("current_period_start", None)
        item.pop("current_period_end", None)
        item["quantity"] = seats
    data["schedule"] = None
    return data


async def test_an_event_in_an_older_api_version_keeps_the_stored_billing_period(
    api: Api, billing: Stack
) -> None:
    paid = await subscribe(api, billing, "team", seats=2)
    before = await Subscription.get(stripe_id=paid.subscription_id)
    assert before.current_period_start and before.current_period_end
    current = await stripe_subscription(billing, paid.subscription_id)

    evt = event(
        "customer.subscription.updated",
        old_shape(current, seats=9),
        created=int(time.time()) + 5,  # newer than anything stored
    )
    evt["api_version"] = OLD_VERSION
    response = await post(api, billing, evt)

    assert response.status_code == 200, response.text
    assert await outcome(evt) == "PROCESSED"
    after = await Subscription.get(stripe_id=paid.subscription_id)
    # Stripe's current object was mirrored, not the event's: same period, Stripe's 2 seats.
    assert (after.current_period_start, after.current_period_end) == (
        before.current_period_start,
        before.current_period_end,
    )
    assert after.seat_quantity == 2
    assert after.snapshot_at >= evt["created"] - 5


async def test_an_event_in_the_pinned_version_is_mirrored_as_it_is(
    api: Api, billing: Stack
) -> None:
    paid = await subscribe(api, billing, "team", seats=2)
    current = (await stripe_subscription(billing, paid.subscription_id)).to_dict(
        recursive=True, for_json=True
    )
    current["schedule"] = None
    current["items"]["data"][0]["quantity"] = 4  # what the snapshot says, newer than stored
    evt = event("customer.subscription.updated", current, created=int(time.time()) + 5)
    assert evt["api_version"] == stripe.api_version

    assert (await post(api, billing, evt)).status_code == 200
    assert (await Subscription.get(stripe_id=paid.subscription_id)).seat_quantity == 4


async def test_a_deleted_draft_invoice_leaves_the_mirror_for_good(api: Api, stack: Stack) -> None:
    owner, ws, customer = await linked_workspace(api)
    draft = invoice_object(customer, subscription=None, status="draft", created=1_780_000_000)
    draft["number"] = None
    created = event("invoice.created", draft, created=int(time.time()) - 60)
    assert (await post(api, stack, created)).status_code == 200
    listed = (await api.data(INVOICES, {"id": ws}, owner))["workspace"]["invoices"]["nodes"]
    assert listed == [{"id": draft["id"], "status": "draft"}]

    deleted = event("invoice.deleted", draft, created=int(time.time()))
    response = await post(api, stack, deleted)

    assert response.status_code == 200
    assert await outcome(deleted) == "PROCESSED"
    assert not await Invoice.exists(stripe_id=draft["id"])
    assert (await api.data(INVOICES, {"id": ws}, owner))["workspace"]["invoices"]["nodes"] == []
    assert await AuditLog.exists(event_id=deleted["id"], action="invoice.deleted")
    # An older event about it, delivered late, does not bring it back.
    late = event("invoice.updated", draft, created=int(time.time()) - 30)
    assert (await post(api, stack, late)).status_code == 200
    assert await outcome(late) == "IGNORED"
    assert not await Invoice.exists(stripe_id=draft["id"])
    assert (await WebhookEvent.get(id=late["id"])).outcome == EventOutcome.IGNORED
