"""Scenarios: Stripe's seat quantity follows the members (auto mode) through the seat outbox
and its worker, and invitations stop at the seat limits. Stripe is the emulator, over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

import httpx
import pytest
import stripe

from seatbill.catalog import Catalog, SeatMode, default_catalog_path, load_catalog
from seatbill.models import Invitation, Membership, SeatOutbox, Subscription, Workspace
from seatbill.services import seat_sync
from seatbill.services.catalog_sync import sync_catalog
from seatbill.services.seat_sync import Backoff, SeatSyncWorker
from tests.billing_support import (
    advance,
    complete_checkout,
    settle,
    start_checkout,
    trial_used,
)
from tests.conftest import Api, Person, Stack

APRIL_1 = int(datetime(2026, 4, 1, tzinfo=UTC).timestamp())  # April has 30 days
MAY_1 = int(datetime(2026, 5, 1, tzinfo=UTC).timestamp())
DAY = 86400

BILLING = """
query($id: ID!) { workspace(id: $id) {
  seats { billable purchased limit available }
  subscription { id status seats seatSync { state lastError syncedAt } }
} }"""

T = TypeVar("T")


@lru_cache(maxsize=1)
def stack_catalog() -> Catalog:
    return load_catalog(default_catalog_path())


async def eventually(check: Callable[[], Awaitable[T]], within: float = 10.0) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within}s (last: {found!r})")
        await asyncio.sleep(0.02)


async def billing_of(api: Api, owner: Person, ws: str) -> dict[str, Any]:
    workspace: dict[str, Any] = (await api.data(BILLING, {"id": ws}, owner))["workspace"]
    return workspace


@dataclass
class Subscribed:
    customer: str
    subscription: str
    clock: str | None


async def subscribe(
    api: Api,
    stack: Stack,
    owner: Person,
    ws: str,
    plan: str,
    seats: int,
    *,
    clock_at: int | None = None,
) -> Subscribed:
    """Subscribe through startCheckout and the emulator's checkout (``seats`` is what Stripe
    should bill: the members on an auto plan, the purchase on a licensed one); returns once
    the API shows the subscription active. With ``clock_at`` the customer is on a test clock
    (created here and stored on the workspace, as startCheckout would store it)."""
    await sync_catalog(stack.gateway, stack_catalog())
    clock = None
    if clock_at is not None:
        created = await stack.gateway.client.v1.test_helpers.test_clocks.create_async(
            params={"frozen_time": clock_at}
        )
        clock = created.id
        customer = await stack.gateway.create_customer(ws, test_clock=clock)
        await Workspace.filter(id=ws).update(stripe_customer_id=customer.id)
    await trial_used(ws)  # paid from the start: these scenarios are about seats
    found = stack_catalog().get(plan)
    assert found is not None
    licensed = found.seat_mode is SeatMode.LICENSED
    started = await start_checkout(api, owner, ws, plan, seats=seats if licensed else None)
    assert started["userErrors"] == [], started
    session = await complete_checkout(stack, started["sessionId"])
    assert session.customer and session.subscription

    async def active() -> bool:
        sub = (await billing_of(api, owner, ws))["subscription"]
        return bool(sub and sub["status"] == "ACTIVE" and sub["seats"] == seats)

    await eventually(active)
    await settle(stack)
    return Subscribed(str(session.customer), str(session.subscription), clock)


async def synced_at(api: Api, owner: Person, ws: str, seats: int) -> dict[str, Any]:
    """The subscription once seat sync reports SYNCED at ``seats``."""

    async def done() -> dict[str, Any] | None:
        sub: dict[str, Any] = (await billing_of(api, owner, ws))["subscription"]
        synced = sub["seatSync"]["state"] == "SYNCED" and sub["seats"] == seats
        return sub if synced else None

    return await eventually(done)


async def join_many(api: Api, owner: Person, ws: str, count: int) -> list[str]:
    people = [api.person(f"m{i}") for i in range(count)]
    member_ids = []
    for person in people:
        member_ids.append(await api.join(owner, ws, person))
    return member_ids


async def seat_sync_updates(client: stripe.StripeClient, subscription_id: str) -> int:
    """Subscription updates the seat-sync worker sent (by their idempotency keys)."""
    count = 0
    params: dict[str, Any] = {"type": "customer.subscription.updated", "limit": 100}
    while True:
        page = await client.v1.events.list_async(params=params)
        for event in page.data:
            request = event.request
            key = request.idempotency_key if request else None
            if event.data.object["id"] == subscription_id and (key or "").startswith(
                "seatbill:seat-sync:"
            ):
                count += 1
        if not page.has_more:
            return count
        params = {**params, "starting_after": page.data[-1].id}


async def pending_invoice_items(client: stripe.StripeClient, customer: str) -> list[int]:
    page = await client.v1.invoice_items.list_async(
        params={"customer": customer, "pending": True, "limit": 100}
    )
    return sorted(item.amount for item in page.data)


async def stripe_seats(client: stripe.StripeClient, subscription_id: str) -> int:
    sub = await client.v1.subscriptions.retrieve_async(subscription_id)
    return max(item.quantity or 0 for item in sub["items"].data)


@pytest.fixture
def worker(stack: Stack) -> Iterator[SeatSyncWorker]:
    """The API's in-process worker, with short retry delays for the test's duration."""
    running = seat_sync.running_workers()
    assert len(running) == 1, "the test API runs exactly one in-process seat-sync worker"
    found = running[0]
    saved = found.config
    found.config = replace(
        saved, poll_seconds=0.2, backoff=Backoff(base_seconds=0.1, max_seconds=0.8)
    )
    try:
        yield found
    finally:
        found.config = saved


# Money: what Stripe bills ------------------------------------------------------------------


async def test_pro_three_members_cost_the_base_price_a_fourth_adds_a_prorated_seat(
    api: Api, stack: Stack
) -> None:
    client = stack.gateway.client
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Pro Co")
    await join_many(api, owner, ws, 2)
    paid = await subscribe(api, stack, owner, ws, "pro", 3, clock_at=APRIL_1)
    assert paid.clock is not None
    first = await client.v1.invoices.list_async(params={"customer": paid.customer})
    # Seats 1-3 are free: three members pay only the $19.99 base price.
    assert [(i.total, i.amount_paid) for i in first.data] == [(1999, 1999)]

    # Exactly halfway through April (30 days) a fourth member joins.
    await advance(stack, paid.clock, APRIL_1 + 15 * DAY)
    await join_many(api, owner, ws, 1)
    sub = await synced_at(api, owner, ws, 4)
    assert sub["seatSync"]["lastError"] is None and sub["seatSync"]["syncedAt"]
    assert await stripe_seats(client, paid.subscription) == 4
    assert await seat_sync_updates(client, paid.subscription) == 1
    # Half of $15.00 for the fourth seat; the three free seats credit nothing.
    assert await pending_invoice_items(client, paid.customer) == [750]

    # May's invoice: base + 4 seats (1999 + 1500) and April's prorated half seat.
    await advance(stack, paid.clock, MAY_1)
    invoices = await client.v1.invoices.list_async(params={"customer": paid.customer, "limit": 1})
    renewal = invoices.data[0]
    assert renewal.billing_reason == "subscription_cycle"
    assert (renewal.total, renewal.amount_paid) == (4249, 4249)


async def test_removed_member_lowers_the_quantity_with_a_prorated_credit(
    api: Api, stack: Stack
) -> None:
    client = stack.gateway.client
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Shrinking Co")
    member_ids = await join_many(api, owner, ws, 4)
    paid = await subscribe(api, stack, owner, ws, "pro", 5, clock_at=APRIL_1)
    assert paid.clock is not None
    await advance(stack, paid.clock, APRIL_1 + 15 * DAY)

    removed = await api.mutate(
        "removeMember", {"workspaceId": ws, "memberId": member_ids[0]}, owner, "removedMemberId"
    )
    assert removed["userErrors"] == []
    await synced_at(api, owner, ws, 4)
    assert await stripe_seats(client, paid.subscription) == 4
    # 5 seats cost 3000 and 4 cost 1500: credit half of 3000, charge half of 1500.
    assert await pending_invoice_items(client, paid.customer) == [-1500, 750]
    assert await seat_sync_updates(client, paid.subscription) == 1
    assert await SeatOutbox.filter(workspace_id=ws, reason="member_removed").count() == 1


async def test_member_leaving_lowers_the_quantity(api: Api, stack: Stack) -> None:
    client = stack.gateway.client
    owner, ann = api.person("owner"), api.person("ann")
    ws = await api.create_workspace(owner, "Leaving Co")
    await api.join(owner, ws, ann)
    paid = await subscribe(api, stack, owner, ws, "starter", 2)
    left = await api.mutate("leaveWorkspace", {"workspaceId": ws}, ann, "workspaceId")
    assert left["userErrors"] == []
    await synced_at(api, owner, ws, 1)
    assert await stripe_seats(client, paid.subscription) == 1
    assert await SeatOutbox.filter(workspace_id=ws, reason="member_left").count() == 1
    # The owner alone is still one seat: the quantity never goes below 1.


# Coalescing --------------------------------------------------------------------------------


async def test_hundred_members_accepted_within_a_second_make_at_most_three_updates(
    api: Api, stack: Stack
) -> None:
    client = stack.gateway.client
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Crowd Co")
    paid = await subscribe(api, stack, owner, ws, "pro", 1)
    people = [api.person(f"p{i}") for i in range(100)]
    invited = await asyncio.gather(*(api.invite(owner, ws, p.email) for p in people))
    assert all(i["userErrors"] == [] for i in invited)
    await asyncio.gather(*(api.data("{ me { id } }", who=p) for p in people))  # signed up

    started = time.monotonic()
    accepted = await asyncio.gather(
        *(api.accept(p, i["token"]) for p, i in zip(people, invited, strict=True))
    )
    took = time.monotonic() - started
    assert all(a["userErrors"] == [] for a in accepted)

    await synced_at(api, owner, ws, 101)
    await settle(stack)
    assert await stripe_seats(client, paid.subscription) == 101
    updates = await seat_sync_updates(client, paid.subscription)
    # The burst's length depends on the machine (client and API share one event loop here);
    # the worker sends once the burst pauses for 0.2 s, or every 2 s while it lasts.
    assert 1 <= updates <= 3, f"{updates} updates for 100 accepts in {took:.2f}s"
    assert await SeatOutbox.filter(workspace_id=ws, processed_at__isnull=True).count() == 0
    assert await SeatOutbox.filter(workspace_id=ws, reason="member_joined").count() == 100


# Failures ----------------------------------------------------------------------------------


async def outbox_drained(workspace_id: str) -> None:
    """Before a fault is injected: the new subscription's own outbox row is done."""

    async def drained() -> bool:
        pending = SeatOutbox.filter(workspace_id=workspace_id, processed_at__isnull=True)
        return not await pending.exists()

    await eventually(drained)


async def add_fault(http: httpx.AsyncClient, stack: Stack, rule: dict[str, Any]) -> None:
    """Fault injection in the emulator; earlier rules (other tests') are cleared first."""
    await clear_faults(http, stack)
    response = await http.post(f"{stack.emulator.url}/_emulator/faults", json=rule)
    assert response.status_code == 200, response.text


async def fault_hits(http: httpx.AsyncClient, stack: Stack) -> int:
    rules = (await http.get(f"{stack.emulator.url}/_emulator/faults")).json()["rules"]
    return sum(int(rule["hits"]) for rule in rules)


async def clear_faults(http: httpx.AsyncClient, stack: Stack) -> None:
    response = await http.delete(f"{stack.emulator.url}/_emulator/faults")
    assert response.status_code == 200, response.text


async def test_stripe_down_delays_a_seat_change_but_never_loses_it(
    api: Api, stack: Stack, worker: SeatSyncWorker
) -> None:
    client = stack.gateway.client
    owner, ann = api.person("owner"), api.person("ann")
    ws = await api.create_workspace(owner, "Outage Co")
    paid = await subscribe(api, stack, owner, ws, "pro", 1)
    await outbox_drained(ws)
    rule = {"status": 500, "rate": 1.0, "path_prefix": "/v1/subscriptions"}
    await add_fault(api.http, stack, rule)
    try:
        # The member operation succeeds at once although Stripe is down.
        started = time.monotonic()
        await api.join(owner, ws, ann)
        assert time.monotonic() - started < 1.0

        async def pending() -> dict[str, Any] | None:
            sub: dict[str, Any] = (await billing_of(api, owner, ws))["subscription"]
            return sub if sub["seatSync"]["lastError"] else None

        sub = await eventually(pending)
        assert sub["seatSync"]["state"] == "PENDING"
        assert sub["seatSync"]["lastError"] == (
            "The billing provider is unavailable; try again shortly"
        )
        assert sub["seats"] == 1
        # The outage outlasts several retries (backoff 0.1 s doubling to 0.8 s, jittered).
        await asyncio.sleep(3.0)
        hits = await fault_hits(api.http, stack)
        assert hits >= 4, hits
        row = await SeatOutbox.get(workspace_id=ws, reason="member_joined")
        assert row.processed_at is None and row.attempts >= 4
    finally:
        await clear_faults(api.http, stack)

    sub = await synced_at(api, owner, ws, 2)
    assert sub["seatSync"]["lastError"] is None
    assert await stripe_seats(client, paid.subscription) == 2
    row = await SeatOutbox.get(workspace_id=ws, reason="member_joined")
    assert row.processed_at is not None


async def test_stripe_refusal_is_recorded_as_failed_with_a_safe_error(
    api: Api, stack: Stack, worker: SeatSyncWorker
) -> None:
    client = stack.gateway.client
    owner, ann, bob = api.person("owner"), api.person("ann"), api.person("bob")
    ws = await api.create_workspace(owner, "Refused Co")
    paid = await subscribe(api, stack, owner, ws, "pro", 1)
    await outbox_drained(ws)
    rule = {"status": 400, "rate": 1.0, "path_prefix": "/v1/subscriptions"}
    await add_fault(api.http, stack, rule)
    try:
        await api.join(owner, ws, ann)

        async def failed() -> dict[str, Any] | None:
            sub: dict[str, Any] = (await billing_of(api, owner, ws))["subscription"]
            return sub if sub["seatSync"]["state"] == "FAILED" else None

        sub = await eventually(failed)
    finally:
        await clear_faults(api.http, stack)
    # Stripe's words ("Injected error 400 ...") stay in the log; the client gets a safe one.
    assert sub["seatSync"]["lastError"] == "The billing provider refused the request"
    assert sub["seats"] == 1
    row = await SeatOutbox.get(workspace_id=ws, reason="member_joined")
    assert row.processed_at is not None  # permanent: not retried
    assert row.last_error == "The billing provider refused the request"
    assert await stripe_seats(client, paid.subscription) == 1

    # The next membership change sends the quantity computed from the database: all of it.
    await api.join(owner, ws, bob)
    sub = await synced_at(api, owner, ws, 3)
    assert sub["seatSync"]["lastError"] is None
    assert await stripe_seats(client, paid.subscription) == 3


async def test_stripe_rate_limit_is_retried(api: Api, stack: Stack, worker: SeatSyncWorker) -> None:
    owner, ann = api.person("owner"), api.person("ann")
    ws = await api.create_workspace(owner, "Busy Co")
    paid = await subscribe(api, stack, owner, ws, "pro", 1)
    await add_fault(
        api.http,
        stack,
        {"status": 429, "rate": 1.0, "path_prefix": "/v1/subscriptions", "count": 2},
    )
    try:
        await api.join(owner, ws, ann)
        await synced_at(api, owner, ws, 2)
        assert await fault_hits(api.http, stack) == 2
    finally:
        await clear_faults(api.http, stack)
    row = await SeatOutbox.get(workspace_id=ws, reason="member_joined")
    # Sent on the third try; a processed row keeps no error.
    assert (row.attempts, row.last_error) == (2, None)
    assert row.processed_at is not None
    assert await stripe_seats(stack.gateway.client, paid.subscription) == 2


# Limits on invitations ---------------------------------------------------------------------


async def test_licensed_invite_past_purchased_seats_is_refused(api: Api, stack: Stack) -> None:
    client = stack.gateway.client
    owner, ann, bob, cid = api.person("owner"), api.person("ann"), api.person("bob"), api.person()
    ws = await api.create_workspace(owner, "Licensed Co")
    await api.join(owner, ws, ann)
    paid = await subscribe(api, stack, owner, ws, "team", 3)
    to_bob = await api.invite(owner, ws, bob.email)
    assert to_bob["userErrors"] == []
    seats = (await billing_of(api, owner, ws))["seats"]
    assert seats == {"billable": 2, "purchased": 3, "limit": 3, "available": 1}

    # Two members and one pending invitation hold all three purchased seats.
    refused = await api.invite(owner, ws, cid.email)
    assert refused["invitation"] is None
    assert refused["userErrors"][0]["code"] == "SEAT_LIMIT_REACHED"
    assert refused["userErrors"][0]["field"] == ["input", "email"]
    assert "3 purchased seats" in refused["userErrors"][0]["message"]
    assert await Invitation.filter(workspace_id=ws).count() == 2  # Ann's (accepted), Bob's
    assert await Membership.filter(workspace_id=ws).count() == 2

    # The pending invitation still fits; licensed seats are never changed by members.
    assert (await api.accept(bob, to_bob["token"]))["userErrors"] == []
    workspace = await billing_of(api, owner, ws)
    assert workspace["seats"] == {"billable": 3, "purchased": 3, "limit": 3, "available": 0}
    await eventually(
        lambda: SeatOutbox.filter(workspace_id=ws, processed_at__isnull=False).exists()
    )
    assert workspace["subscription"]["seats"] == 3
    assert await stripe_seats(client, paid.subscription) == 3
    assert await seat_sync_updates(client, paid.subscription) == 0


async def test_licensed_accept_past_purchased_seats_is_refused(api: Api, stack: Stack) -> None:
    owner, ann, bob = api.person("owner"), api.person("ann"), api.person("bob")
    ws = await api.create_workspace(owner, "Full Co")
    await api.join(owner, ws, ann)
    # Invited before the subscription existed, so nothing limited it then.
    to_bob = await api.invite(owner, ws, bob.email)
    await subscribe(api, stack, owner, ws, "team", 2)
    refused = await api.accept(bob, to_bob["token"])
    assert refused["member"] is None
    assert refused["userErrors"][0]["code"] == "SEAT_LIMIT_REACHED"
    assert refused["userErrors"][0]["field"] == ["input", "token"]
    # Nothing changed: the invitation is still pending, no member and no outbox row.
    assert (await Invitation.get(id=to_bob["invitation"]["id"])).status == "PENDING"
    assert await Membership.filter(workspace_id=ws).count() == 2
    assert await SeatOutbox.filter(workspace_id=ws).count() == 1  # Ann's, before


async def test_starter_max_seats_caps_members_and_invitations(api: Api, stack: Stack) -> None:
    client = stack.gateway.client
    owner = api.person("owner")
    ws = await api.create_workspace(owner, "Starter Co")
    paid = await subscribe(api, stack, owner, ws, "starter", 1)
    people = [api.person(f"s{i}") for i in range(5)]
    invited = [await api.invite(owner, ws, p.email) for p in people]
    # Owner + 4 invitations reach Starter's 5; the fifth invitation is refused.
    assert [i["userErrors"] for i in invited[:4]] == [[]] * 4
    assert invited[4]["userErrors"][0]["code"] == "SEAT_LIMIT_REACHED"
    assert "at most 5 members" in invited[4]["userErrors"][0]["message"]
    for person, invitation in zip(people[:4], invited[:4], strict=True):
        assert (await api.accept(person, invitation["token"]))["userErrors"] == []
    await synced_at(api, owner, ws, 5)
    workspace = await billing_of(api, owner, ws)
    assert workspace["seats"] == {"billable": 5, "purchased": 5, "limit": 5, "available": 0}
    assert await stripe_seats(client, paid.subscription) == 5
    # Still full: auto mode bills what is used, max_seats caps it.
    again = await api.invite(owner, ws, people[4].email)
    assert again["userErrors"][0]["code"] == "SEAT_LIMIT_REACHED"


# The outbox --------------------------------------------------------------------------------


async def test_workspace_without_subscription_needs_no_stripe_call(api: Api, stack: Stack) -> None:
    owner, ann = api.person("owner"), api.person("ann")
    ws = await api.create_workspace(owner, "Free Co")
    await api.join(owner, ws, ann)
    row = await eventually(
        lambda: SeatOutbox.get_or_none(workspace_id=ws, processed_at__isnull=False)
    )
    assert row.reason == "member_joined" and row.last_error is None and row.attempts == 0
    assert await Subscription.filter(workspace_id=ws).count() == 0


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    backoff = Backoff(base_seconds=1.0, max_seconds=300.0)
    assert [backoff.ceiling(n) for n in range(1, 11)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
    ]
    # Jitter keeps each delay within [ceiling / 2, ceiling].
    assert backoff.delay(4, rand=lambda: 0.0) == 4.0
    assert backoff.delay(4, rand=lambda: 1.0) == 8.0
    assert backoff.delay(40, rand=lambda: 0.5) == 225.0


def test_advisory_keys_are_32_bit() -> None:
    import uuid

    keys = {seat_sync.advisory_key(uuid.uuid4()) for _ in range(1000)}
    assert all(-(2**31) <= key < 2**31 for key in keys)
    assert len(keys) > 990


async def test_member_joining_during_checkout_is_billed_once_the_subscription_appears(
    api: Api, stack: Stack
) -> None:
    owner, ann = api.person("owner"), api.person("ann")
    ws = await api.create_workspace(owner, "Racing Co")
    await sync_catalog(stack.gateway, stack_catalog())
    started = await start_checkout(api, owner, ws, "pro")
    assert started["userErrors"] == []
    # Ann joins while the owner is on the checkout page (for one seat): no subscription yet.
    await api.join(owner, ws, ann)
    await eventually(
        lambda: SeatOutbox.filter(workspace_id=ws, processed_at__isnull=False).exists()
    )
    session = await complete_checkout(stack, started["sessionId"])
    # When the subscription appears, seat sync bills what the members are now.
    await synced_at(api, owner, ws, 2)
    assert await stripe_seats(stack.gateway.client, str(session.subscription)) == 2
