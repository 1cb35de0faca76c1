"""What the mirror shows over GraphQL: pending seat changes from schedules, invoices as a
paginated list, seat limits, and SQL query counts that stay flat."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from seatbill.models import Workspace
from seatbill.services import mirror
from tests.conftest import Api, Stack, count_queries
from tests.test_webhooks_helpers import (
    DAY,
    JUNE_1,
    advance,
    catalog,
    catalog_prices,
    checkout,
    deliver,
    event,
    invoice_object,
    plan_items,
    settle,
    subscription_object,
    tag,
)

PENDING_QUERY = """
query($id: ID!) { workspace(id: $id) {
  seats { billable purchased limit available }
  subscription { seats currentPeriodEnd pendingSeatChange { seats effectiveAt } }
} }
"""


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


async def test_a_scheduled_seat_decrease_shows_as_pending_until_it_takes_effect(
    api: Api, stack: Stack
) -> None:
    client = stack.gateway.client
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Shrinking Co")
    prices = await catalog_prices(stack.gateway)
    items = plan_items(prices, "team", "month", 5)
    session, clock = await checkout(client, ws, items, clock_at=JUNE_1)
    assert clock is not None and session.subscription
    period_end = JUNE_1 + 30 * DAY
    schedule = await client.v1.subscription_schedules.create_async(
        params={"from_subscription": str(session.subscription)}
    )
    seat_price = items[0][0]
    await client.v1.subscription_schedules.update_async(
        schedule.id,
        params={
            "phases": [
                {"items": [{"price": seat_price, "quantity": 5}], "end_date": period_end},
                {
                    "items": [{"price": seat_price, "quantity": 3}],
                    "duration": {"interval": "month"},
                },
            ],
            "end_behavior": "release",
        },
    )
    await settle(stack.emulator)
    data = (await api.data(PENDING_QUERY, {"id": ws}, owner))["workspace"]
    assert data["subscription"]["seats"] == 5
    assert data["subscription"]["pendingSeatChange"] == {
        "seats": 3,
        "effectiveAt": iso(period_end),
    }
    assert data["seats"] == {"billable": 1, "purchased": 5, "limit": 5, "available": 4}

    # The clock crosses the period end: the next phase applies, nothing is pending.
    await advance(client, clock, period_end + 3600)
    await settle(stack.emulator)
    data = (await api.data(PENDING_QUERY, {"id": ws}, owner))["workspace"]
    assert data["subscription"]["seats"] == 3
    assert data["subscription"]["pendingSeatChange"] is None
    assert data["seats"]["purchased"] == 3

    # A new decrease, then the schedule is released: the pending change goes with it.
    await client.v1.subscription_schedules.update_async(
        schedule.id,
        params={
            "phases": [
                {
                    "items": [{"price": seat_price, "quantity": 3}],
                    "start_date": period_end,
                    "end_date": period_end + 31 * DAY,
                },
                {
                    "items": [{"price": seat_price, "quantity": 2}],
                    "duration": {"interval": "month"},
                },
            ]
        },
    )
    await settle(stack.emulator)
    data = (await api.data(PENDING_QUERY, {"id": ws}, owner))["workspace"]
    assert data["subscription"]["pendingSeatChange"]["seats"] == 2
    await client.v1.subscription_schedules.release_async(schedule.id)
    await settle(stack.emulator)
    data = (await api.data(PENDING_QUERY, {"id": ws}, owner))["workspace"]
    assert data["subscription"]["pendingSeatChange"] is None
    assert data["subscription"]["seats"] == 3


async def test_auto_plan_seat_limit_is_the_plan_cap(api: Api) -> None:
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Starter Co")
    customer = f"cus_{tag()}"
    await Workspace.filter(id=ws).update(stripe_customer_id=customer)
    await mirror.sync_subscription(
        subscription_object(customer, seats=2, lookup_key="seatbill_starter_seat_month"),
        observed_at=0,
        catalog=catalog(),
    )
    data = (await api.data(PENDING_QUERY, {"id": ws}, owner))["workspace"]
    assert data["seats"] == {"billable": 1, "purchased": 2, "limit": 5, "available": 4}


INVOICES_QUERY = """
query($id: ID!, $first: Int!, $after: String) { workspace(id: $id) {
  invoices(first: $first, after: $after) {
    edges { cursor node { id number status amountDue createdAt hostedInvoiceUrl } }
    pageInfo { hasNextPage endCursor }
  }
} }
"""


async def test_invoices_are_listed_newest_first_a_page_at_a_time(api: Api, stack: Stack) -> None:
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Invoiced Co")
    customer = f"cus_{tag()}"
    await Workspace.filter(id=ws).update(stripe_customer_id=customer)
    assert stack.settings.stripe_webhook_secret
    made = []
    for month in range(5):
        inv = invoice_object(
            customer,
            subscription=None,
            amount_due=1000 * (month + 1),
            created=JUNE_1 + month * 30 * DAY,
        )
        made.append(inv["id"])
        response = await deliver(
            api.http,
            stack.url,
            stack.settings.stripe_webhook_secret,
            event("invoice.finalized", inv),
        )
        assert response.status_code == 200
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = await api.data(INVOICES_QUERY, {"id": ws, "first": 2, "after": after}, owner)
        connection = data["workspace"]["invoices"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]
    assert pages == 3
    assert seen == list(reversed(made))
    first = (await api.data(INVOICES_QUERY, {"id": ws, "first": 1}, owner))["workspace"]
    node = first["invoices"]["edges"][0]["node"]
    assert (node["amountDue"], node["status"]) == (5000, "open")
    assert node["createdAt"] == iso(JUNE_1 + 4 * 30 * DAY)


async def test_invoice_page_size_and_cursor_are_checked(api: Api) -> None:
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Checked Co")
    for first in (0, 101, -1):
        body = await api.raw(INVOICES_QUERY, {"id": ws, "first": first}, owner)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    body = await api.raw(INVOICES_QUERY, {"id": ws, "first": 5, "after": "not-a-cursor"}, owner)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    ok = await api.data(INVOICES_QUERY, {"id": ws, "first": 100}, owner)
    assert ok["workspace"]["invoices"] == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }


async def test_non_members_see_no_billing(api: Api) -> None:
    owner, stranger = api.person("owner"), api.person("stranger")
    ws = await api.create_workspace(owner, "Private Co")
    data = await api.data(
        "query($id: ID!) { workspace(id: $id) { subscription { id } billingState } }",
        {"id": ws},
        stranger,
    )
    assert data["workspace"] is None
    mine = await api.data(
        "query($id: ID!) { workspace(id: $id) { subscription { id } billingState "
        "seats { purchased limit available } } }",
        {"id": ws},
        owner,
    )
    assert mine["workspace"] == {
        "subscription": None,
        "billingState": "NONE",
        "seats": {"purchased": None, "limit": None, "available": None},
    }


async def _subscribed_workspace(api: Api, owner: Any, invoices: int) -> None:
    ws = await api.create_workspace(owner, f"W {tag()}")
    customer = f"cus_{tag()}"
    await Workspace.filter(id=ws).update(stripe_customer_id=customer)
    sub = subscription_object(customer, seats=4)
    for n in range(invoices):
        inv = invoice_object(customer, subscription=sub["id"], created=JUNE_1 + n)
        await mirror.sync_invoice(inv, observed_at=0)
        sub["latest_invoice"] = inv["id"]
    await mirror.sync_subscription(sub, observed_at=0, catalog=catalog())


BILLING_LIST_QUERY = """
{ workspaces { billingState seats { billable purchased limit available }
  subscription { id status seats plan { id } interval pendingSeatChange { seats }
                 seatSync { state } latestInvoice { id amountDue } }
  invoices(first: 3) { nodes { id } pageInfo { hasNextPage } } } }
"""


async def test_billing_reads_query_count_does_not_grow_with_workspaces(api: Api) -> None:
    one, many = api.person("one"), api.person("many")
    await _subscribed_workspace(api, one, invoices=1)
    for _ in range(8):
        await _subscribed_workspace(api, many, invoices=3)
    await api.data(BILLING_LIST_QUERY, who=one)
    await api.data(BILLING_LIST_QUERY, who=many)

    async def fewest_queries(who: Any) -> tuple[dict[str, Any], list[str]]:
        # Other work in the server (webhook deliveries, the seat-sync worker) may add queries
        # to one run: take the quietest of three.
        runs = []
        for _ in range(3):
            with count_queries() as counter:
                data = await api.data(BILLING_LIST_QUERY, who=who)
            runs.append((data, counter.queries))
        return min(runs, key=lambda run: len(run[1]))

    small, few = await fewest_queries(one)
    large, lots = await fewest_queries(many)
    assert len(small["workspaces"]) == 1 and len(large["workspaces"]) == 8
    assert all(w["subscription"]["seats"] == 4 for w in large["workspaces"])
    assert all(len(w["invoices"]["nodes"]) == 3 for w in large["workspaces"])
    assert len(few) == len(lots), (few, lots)
