"""Scenarios: starting a subscription with startCheckout and Stripe's hosted checkout page."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser

from seatbill.models import AuditLog, Workspace
from tests.billing_support import (
    CANCEL,
    billing,
    clocked_workspace,
    complete_checkout,
    invoices,
    seat_quantity,
    settle,
    start_checkout,
    stripe_subscription,
    subscribe,
    workspace_billing,
)
from tests.conftest import Api, Stack
from tests.emulator.test_pages import browser

__all__ = ["billing", "browser"]


def customers_of(stack: Stack, workspace_id: str) -> list[dict[str, object]]:
    """Every Stripe customer the emulator holds for the workspace (white-box count)."""
    return [
        c
        for c in stack.emulator.emulator.state.all("customer")
        if c["metadata"].get("workspace_id") == workspace_id
    ]


async def test_team_checkout_for_five_seats_paid_in_the_hosted_page_bills_fifty_dollars(
    api: Api, billing: Stack, browser: Browser
) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    success = f"{billing.url}/healthz?session={{CHECKOUT_SESSION_ID}}"
    started = await start_checkout(
        api, owner, workspace_id, "team", seats=5, success_url=success, cancel_url=CANCEL
    )
    assert started["userErrors"] == []
    assert started["checkoutUrl"].startswith(billing.emulator.url + "/checkout/cs_test_")

    page = await browser.new_page()
    try:
        await page.goto(started["checkoutUrl"])
        assert await page.text_content("#total") == "$50.00"
        await page.check("input[value=pm_card_visa]")
        await page.click("#pay")
        await page.wait_for_url(f"{billing.url}/healthz?session={started['sessionId']}")
    finally:
        await page.close()
    await settle(billing)

    ws = await workspace_billing(api, owner, workspace_id)
    assert ws["billingState"] == "ACTIVE"
    assert ws["subscription"]["status"] == "ACTIVE"
    assert ws["subscription"]["plan"] == {"id": "team"}
    assert (ws["subscription"]["seats"], ws["subscription"]["interval"]) == (5, "MONTH")
    assert ws["seats"] == {"billable": 1, "purchased": 5}
    sub = await stripe_subscription(billing, ws["subscription"]["id"])
    assert seat_quantity(sub) == 5
    assert sub.metadata.to_dict() == {"workspace_id": workspace_id}
    first = (await invoices(billing, sub.id))[0]
    assert (first.amount_paid, first.currency, first.status) == (5000, "usd", "paid")
    # One customer, made for the workspace, with the workspace in its metadata.
    stored = await Workspace.get(id=workspace_id)
    assert [c["id"] for c in customers_of(billing, workspace_id)] == [stored.stripe_customer_id]
    audit = await AuditLog.get(workspace_id=workspace_id, action="billing.checkout_started")
    assert audit.after["seats"] == 5 and audit.after["amount"] == 5000


async def test_checkout_session_carries_the_workspace_and_the_catalog_line_items(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    for name in ("ann", "bob", "cy"):
        await api.join(owner, workspace_id, api.person(name))
    started = await start_checkout(api, owner, workspace_id, "pro", "YEAR", seats=99)
    assert started["userErrors"] == []
    session = await billing.gateway.client.v1.checkout.sessions.retrieve_async(
        started["sessionId"], params={"expand": ["line_items"]}
    )
    assert session.client_reference_id == workspace_id
    assert session.metadata.to_dict()["workspace_id"] == workspace_id
    assert session.mode == "subscription"
    assert session.line_items is not None
    # Auto plan: the seat quantity is the 4 billable members (the chosen 99 is ignored).
    assert [(i.price.lookup_key, i.quantity) for i in session.line_items.data] == [
        ("seatbill_pro_base_year", 1),
        ("seatbill_pro_seat_year", 4),
    ]
    assert session.amount_total == 19999 + 15000


async def test_the_same_checkout_twice_makes_one_customer_and_one_session(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    together = await asyncio.gather(
        start_checkout(api, owner, workspace_id, "team", seats=3),
        start_checkout(api, owner, workspace_id, "team", seats=3),
    )
    again = await start_checkout(api, owner, workspace_id, "team", seats=3)
    assert all(p["userErrors"] == [] for p in (*together, again))
    assert len({p["sessionId"] for p in (*together, again)}) == 1
    assert len(customers_of(billing, workspace_id)) == 1
    # Another intent is another session for the same customer.
    other = await start_checkout(api, owner, workspace_id, "team", seats=4)
    assert other["sessionId"] != again["sessionId"]
    assert len(customers_of(billing, workspace_id)) == 1


async def test_checkout_is_refused_while_a_subscription_lives_and_allowed_after_it_ends(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=2)
    again = await start_checkout(api, subscribed.owner, subscribed.workspace_id, "pro")
    assert again["checkoutUrl"] is None
    assert again["userErrors"][0]["code"] == "CONFLICT"
    ended = await api.mutate(
        "cancelSubscription",
        {"workspaceId": subscribed.workspace_id, "atPeriodEnd": False},
        subscribed.owner,
        "subscription { status }",
    )
    assert ended["subscription"]["status"] == "CANCELED"
    fresh = await start_checkout(api, subscribed.owner, subscribed.workspace_id, "team", seats=2)
    assert fresh["userErrors"] == []
    done = await complete_checkout(billing, fresh["sessionId"])
    assert done.subscription != subscribed.subscription_id
    assert done.customer == subscribed.customer_id


async def test_checkout_refused_when_the_plan_is_too_small_or_seats_too_few(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner, members=5)  # 6 members
    small = await start_checkout(api, owner, workspace_id, "starter")
    assert [(e["code"], e["field"]) for e in small["userErrors"]] == [
        ("SEAT_LIMIT_REACHED", ["input", "planId"])
    ]
    few = await start_checkout(api, owner, workspace_id, "team", seats=5)
    assert [(e["code"], e["field"]) for e in few["userErrors"]] == [
        ("VALIDATION", ["input", "seats"])
    ]
    missing = await start_checkout(api, owner, workspace_id, "team")
    assert missing["userErrors"][0]["field"] == ["input", "seats"]
    sessions = await billing.gateway.list_open_checkout_sessions(
        str((await Workspace.get(id=workspace_id)).stripe_customer_id)
    )
    assert sessions == []


async def test_a_declined_first_payment_leaves_an_incomplete_subscription(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner)
    started = await start_checkout(api, owner, workspace_id, "team", seats=1)
    await complete_checkout(billing, started["sessionId"], "pm_card_chargeDeclined")
    ws = await workspace_billing(api, owner, workspace_id)
    assert ws["subscription"]["status"] == "INCOMPLETE"
    # It is still the workspace's subscription: no second checkout on top of it.
    again = await start_checkout(api, owner, workspace_id, "team", seats=1)
    assert again["userErrors"][0]["code"] == "CONFLICT"
