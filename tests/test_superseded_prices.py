"""Scenarios: a price change in the catalog never orphans a subscription.

`seatbill catalog sync` replaces a price whose amount changed by a new one that takes over its
lookup key (``transfer_lookup_key``); Stripe then removes the key from the old price, which
keeps billing the subscriptions already on it. Those subscriptions must keep their plan, their
seat item, their limits and automatic seat sync: the old price is still matched by the
metadata catalog sync put on it (``seatbill_plan``, ``seatbill_role``, ``seatbill_interval``).

These tests change prices in the session's emulator and put the catalog's back afterwards
(a further replacement with the original amounts), so the other tests still find them.
"""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import stripe

from seatbill.catalog import Catalog, default_catalog_path, load_catalog, parse_catalog
from seatbill.models import ItemRole, Subscription, SubscriptionItem
from seatbill.services.catalog_sync import sync_catalog
from tests.conftest import Api, Stack
from tests.test_seat_sync import billing_of, seat_sync_updates, subscribe, synced_at

PLAN = "subscription { plan { id } seats seatSync { state lastError } }"


def edited_catalog(edit: Any) -> Catalog:
    """plans.toml with ``edit`` applied to its plans (as an operator edits the file)."""
    with open(default_catalog_path(), "rb") as file:
        data = tomllib.load(file)
    edit(data["plans"])
    return parse_catalog(data)


@pytest.fixture
async def restore_catalog(stack: Stack) -> AsyncIterator[None]:
    yield
    await sync_catalog(stack.gateway, load_catalog(default_catalog_path()))


async def seat_item(client: stripe.StripeClient, subscription_id: str, price_id: str) -> int:
    """The quantity Stripe bills on the subscription's item with ``price_id``."""
    sub = await client.v1.subscriptions.retrieve_async(subscription_id)
    quantities = [int(i.quantity or 0) for i in sub["items"].data if i.price.id == price_id]
    assert len(quantities) == 1, sub
    return quantities[0]


async def price_of(client: stripe.StripeClient, lookup_key: str) -> stripe.Price:
    page = await client.v1.prices.list_async(params={"lookup_keys": [lookup_key]})
    assert len(page.data) == 1
    return page.data[0]


async def test_pro_seats_still_sync_after_the_seat_price_is_replaced(
    api: Api, stack: Stack, restore_catalog: None
) -> None:
    client = stack.gateway.client
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Repriced Pro Co")
    paid = await subscribe(api, stack, owner, ws, "pro", 1)
    old_seat = await price_of(client, "seatbill_pro_seat_month")
    assert await seat_item(client, paid.subscription, old_seat.id) == 1

    # The operator raises Pro's monthly seat tier from $15.00 to $16.00 and syncs the catalog.
    def raise_pro_seats(plans: dict[str, Any]) -> None:
        plans["pro"]["month"]["seat"]["tiers"][1]["unit_amount"] = 1600

    actions = await sync_catalog(stack.gateway, edited_catalog(raise_pro_seats))
    replaced = [a for a in actions if a.outcome == "replaced"]
    assert [a.name for a in replaced] == ["seatbill_pro_seat_month"]
    new_seat = await price_of(client, "seatbill_pro_seat_month")
    assert new_seat.id != old_seat.id
    old_now = await client.v1.prices.retrieve_async(old_seat.id)
    assert old_now.lookup_key is None and old_now.active  # it keeps billing this subscription
    assert old_now.metadata.to_dict()["seatbill_role"] == "seat"

    # Two members join, one after the other: Stripe bills each on the old seat price.
    await api.join(owner, ws, api.person("ann"))
    first = await synced_at(api, owner, ws, 2)
    assert first["seatSync"]["lastError"] is None
    assert await seat_item(client, paid.subscription, old_seat.id) == 2
    await api.join(owner, ws, api.person("bob"))
    await synced_at(api, owner, ws, 3)
    assert await seat_item(client, paid.subscription, old_seat.id) == 3
    assert await seat_sync_updates(client, paid.subscription) == 2

    workspace = await api.data(
        f"query($id: ID!) {{ workspace(id: $id) {{ {PLAN} }} }}", {"id": ws}, owner
    )
    assert workspace["workspace"]["subscription"]["plan"] == {"id": "pro"}
    row = await Subscription.get(stripe_id=paid.subscription)
    assert row.plan_key == "pro"
    roles = {item.price_id: item.role for item in await SubscriptionItem.filter(subscription=row)}
    assert roles[old_seat.id] == ItemRole.SEAT
    assert set(roles.values()) == {ItemRole.BASE, ItemRole.SEAT}


async def test_team_keeps_its_plan_and_seat_limit_after_the_seat_price_is_replaced(
    api: Api, stack: Stack, restore_catalog: None
) -> None:
    client = stack.gateway.client
    owner, ann, bob, cid = api.person("owner"), api.person("ann"), api.person("bob"), api.person()
    ws = await api.create_workspace(owner, "Repriced Team Co")
    paid = await subscribe(api, stack, owner, ws, "team", 2)
    old_seat = await price_of(client, "seatbill_team_seat_month")

    def raise_team_seats(plans: dict[str, Any]) -> None:
        plans["team"]["month"]["seat"]["unit_amount"] = 1200

    await sync_catalog(stack.gateway, edited_catalog(raise_team_seats))
    assert (await price_of(client, "seatbill_team_seat_month")).id != old_seat.id

    # The owner buys a third seat: the subscription (on the old price) is mirrored again.
    bought = await api.mutate("updateSeats", {"workspaceId": ws, "seats": 3}, owner, PLAN)
    assert bought["userErrors"] == [], bought
    assert bought["subscription"]["plan"] == {"id": "team"}
    assert bought["subscription"]["seats"] == 3
    assert await seat_item(client, paid.subscription, old_seat.id) == 3

    # Invitations still work up to the purchased seats, and stop there.
    await api.join(owner, ws, ann)
    await api.join(owner, ws, bob)
    seats = (await billing_of(api, owner, ws))["seats"]
    assert seats == {"billable": 3, "purchased": 3, "limit": 3, "available": 0}
    refused = await api.invite(owner, ws, cid.email)
    assert refused["userErrors"][0]["code"] == "SEAT_LIMIT_REACHED"
    assert (await Subscription.get(stripe_id=paid.subscription)).plan_key == "team"
    # A licensed plan: members never change what Stripe bills.
    assert await seat_sync_updates(client, paid.subscription) == 0


async def test_switching_to_the_same_plan_moves_a_superseded_price_to_the_current_one(
    api: Api, stack: Stack, restore_catalog: None
) -> None:
    client = stack.gateway.client
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Moving Team Co")
    paid = await subscribe(api, stack, owner, ws, "team", 2)
    old_seat = await price_of(client, "seatbill_team_seat_month")

    def raise_team_seats(plans: dict[str, Any]) -> None:
        plans["team"]["month"]["seat"]["unit_amount"] = 1100

    await sync_catalog(stack.gateway, edited_catalog(raise_team_seats))
    new_seat = await price_of(client, "seatbill_team_seat_month")
    assert await seat_item(client, paid.subscription, old_seat.id) == 2

    moved = await api.mutate(
        "switchPlan", {"workspaceId": ws, "planId": "team", "interval": "MONTH"}, owner, PLAN
    )

    assert moved["userErrors"] == [], moved
    assert moved["subscription"]["plan"] == {"id": "team"} and moved["subscription"]["seats"] == 2
    assert await seat_item(client, paid.subscription, new_seat.id) == 2
    again = await api.mutate(
        "switchPlan", {"workspaceId": ws, "planId": "team", "interval": "MONTH"}, owner, PLAN
    )
    assert again["userErrors"] == []  # already on the current price: nothing to change
