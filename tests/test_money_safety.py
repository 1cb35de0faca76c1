"""Scenarios: money safety against Stripe's documented behaviour (previews equal charges in
real time, failed payments change nothing, one live subscription per workspace)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.billing_support import (
    billing,
    complete_checkout,
    invoices,
    start_checkout,
)
from tests.conftest import Api, Person, Stack

__all__ = ["billing"]

PREVIEW_AT = """
query($ws: ID!, $seats: Int!) { previewSeatChange(workspaceId: $ws, seats: $seats) {
  amountDueNow prorationDate } }"""
SUBSCRIPTION = "subscription { id seats status }"


async def real_time_team(api: Api, stack: Stack, seats: int) -> tuple[Person, str, str]:
    """A workspace on the licensed team plan whose customer is on real time (no test clock)."""
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    started = await start_checkout(api, owner, workspace_id, "team", seats=seats)
    assert started["userErrors"] == [], started
    session = await complete_checkout(stack, started["sessionId"])
    return owner, workspace_id, str(session.subscription)


async def preview_at(api: Api, owner: Person, workspace_id: str, seats: int) -> dict[str, Any]:
    data = await api.data(PREVIEW_AT, {"ws": workspace_id, "seats": seats}, owner)
    preview: dict[str, Any] = data["previewSeatChange"]
    return preview


async def test_a_real_time_preview_is_what_the_change_charges_seconds_later(
    api: Api, billing: Stack
) -> None:
    # 9,000 seats at $10 a month: every second of the period is worth about 3.5 cents.
    owner, workspace_id, subscription_id = await real_time_team(api, billing, seats=1)
    preview = await preview_at(api, owner, workspace_id, 9000)
    await asyncio.sleep(2.5)
    later = await preview_at(api, owner, workspace_id, 9000)
    assert later["amountDueNow"] < preview["amountDueNow"]  # time moved: prorating now differs

    changed = await api.mutate(
        "updateSeats",
        {"workspaceId": workspace_id, "seats": 9000, "prorationDate": preview["prorationDate"]},
        owner,
        SUBSCRIPTION,
    )

    assert changed["userErrors"] == [], changed
    assert changed["subscription"]["seats"] == 9000
    charged = (await invoices(billing, subscription_id))[-1]
    assert charged.billing_reason == "subscription_update"
    assert charged.amount_paid == preview["amountDueNow"]


async def test_a_proration_date_outside_the_period_or_stale_is_refused_and_changes_nothing(
    api: Api, billing: Stack
) -> None:
    owner, workspace_id, subscription_id = await real_time_team(api, billing, seats=1)
    for when in ("2020-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"):
        refused = await api.mutate(
            "updateSeats",
            {"workspaceId": workspace_id, "seats": 2, "prorationDate": when},
            owner,
            SUBSCRIPTION,
        )
        assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
            ("VALIDATION", ["input", "prorationDate"])
        ]
    assert len(await invoices(billing, subscription_id)) == 1
    sub = await billing.gateway.retrieve_subscription(subscription_id)
    assert [int(item.quantity or 0) for item in sub["items"].data] == [1]


async def test_a_second_checkout_expires_the_first_so_only_one_can_be_paid(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    pro = await start_checkout(api, owner, workspace_id, "pro")
    again = await start_checkout(api, owner, workspace_id, "pro")
    assert again["sessionId"] == pro["sessionId"]  # the same request reuses its session
    team = await start_checkout(api, owner, workspace_id, "team", seats=2)
    assert team["userErrors"] == [] and team["sessionId"] != pro["sessionId"]

    sessions = billing.gateway.client.v1.checkout.sessions
    assert (await sessions.retrieve_async(pro["sessionId"])).status == "expired"
    assert (await sessions.retrieve_async(team["sessionId"])).status == "open"
