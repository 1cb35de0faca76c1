"""Order independence, as a property: for random subscription lifecycles run in the emulator
(checkout, seat changes, plan and interval swaps, renewals with failing cards, scheduled
decreases, cancel at period end, resume, cancel now), the events delivered shuffled and with
duplicates leave rows equal to the emulator's final objects, every time.

The lifecycles run in an emulator of their own that delivers nothing; the test collects its
events (``GET /v1/events``) and delivers them itself, signed, to an API instance whose gateway
reads from that emulator (so its re-fetches see the same Stripe).
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatbill.models import Invoice, Subscription, SubscriptionItem, Workspace
from seatbill.services.stripe_gateway import StripeGateway
from stripe_emulator import EmulatorServer
from tests.conftest import Api, Stack, drain_webhooks, processors_paused, serve
from tests.test_webhooks_helpers import (
    JUNE_1,
    advance,
    all_events,
    catalog,
    catalog_prices,
    checkout,
    plan_items,
    sign,
    switch_card,
)

SUBSCRIPTION_EXPAND = ["items.data.price", "schedule"]


@dataclass
class Lab:
    url: str
    secret: str
    emulator: EmulatorServer
    gateway: StripeGateway
    http: httpx.AsyncClient

    @property
    def client(self) -> stripe.StripeClient:
        return self.gateway.client


@pytest.fixture(scope="module")
async def lab(stack: Stack) -> AsyncIterator[Lab]:
    """A silent emulator and a second API instance (sharing the stack's database and ORM)
    whose gateway reads from it. The stack's event processor is paused meanwhile: the events
    are about this emulator's objects, so only the lab's processor may apply them."""
    emulator = EmulatorServer().start()
    secret = f"whsec_lab_{uuid.uuid4().hex}"
    gateway = StripeGateway("sk_test_lab", api_base=emulator.url, max_network_retries=2)
    # No seat sync here: an auto plan's new subscription queues a quantity check, and a worker
    # sending it to this emulator would change Stripe after its events were collected.
    app_settings = replace(
        stack.settings,
        stripe_webhook_secret=secret,
        stripe_api_base=emulator.url,
        seat_sync_in_process=False,
    )
    try:
        async with (
            processors_paused(),
            serve(app_settings, gateway=gateway, manage_orm=False) as url,
            httpx.AsyncClient(timeout=30) as http,
        ):
            yield Lab(url=url, secret=secret, emulator=emulator, gateway=gateway, http=http)
    finally:
        emulator.stop()


# Lifecycles -----------------------------------------------------------------------------------

PLANS = [
    ("team", "month"),
    ("team", "year"),
    ("pro", "month"),
    ("pro", "year"),
    ("starter", "month"),
]

steps = st.one_of(
    st.tuples(
        st.just("seats"),
        st.integers(1, 8),
        st.sampled_from(["create_prorations", "always_invoice"]),
    ),
    st.tuples(st.just("swap"), st.sampled_from(PLANS)),
    st.tuples(st.just("renew")),
    st.tuples(st.just("cancel_at_period_end")),
    st.tuples(st.just("resume")),
    st.tuples(st.just("schedule_decrease")),
    st.tuples(st.just("release_schedule")),
    st.tuples(st.just("cancel_now")),
)

lifecycles = st.fixed_dictionaries(
    {
        "plan": st.sampled_from(PLANS),
        "seats": st.integers(1, 6),
        "card": st.sampled_from(
            ["pm_card_visa", "pm_card_chargeCustomerFail", "pm_card_chargeDeclined"]
        ),
        "steps": st.lists(steps, min_size=1, max_size=6),
        "duplicates": st.floats(0, 0.5),
        "seed": st.integers(0, 2**32 - 1),
    }
)


def _seat_item(sub: Any, prices: dict[str, str]) -> Any:
    seat_ids = {
        prices[ref.lookup_key]
        for match, ref in catalog().price_refs()
        if match.role == "seat" and ref.lookup_key
    }
    return next(i for i in sub["items"].data if i.price.id in seat_ids)


async def run_lifecycle(lab: Lab, workspace_id: str, life: dict[str, Any]) -> tuple[str, str]:
    """Play the lifecycle in the lab emulator; returns (customer id, subscription id)."""
    client = lab.client
    prices = await catalog_prices(lab.gateway)
    plan_key, interval = life["plan"]
    # A card that fails later is one a customer switched to after paying with a good one.
    later_failing = life["card"] == "pm_card_chargeCustomerFail"
    session, clock = await checkout(
        client,
        workspace_id,
        plan_items(prices, plan_key, interval, life["seats"]),
        payment_method="pm_card_visa" if later_failing else life["card"],
        clock_at=JUNE_1,
    )
    assert clock is not None
    if later_failing:
        await switch_card(client, session, life["card"])
    sub_id, customer_id = str(session.subscription), str(session.customer)
    for step in life["steps"]:
        sub = await client.v1.subscriptions.retrieve_async(
            sub_id, params={"expand": SUBSCRIPTION_EXPAND}
        )
        if sub.status in ("canceled", "incomplete_expired"):
            break
        try:
            await _play(client, prices, clock, sub, step)
        except stripe.InvalidRequestError:
            pass  # Stripe refuses this step in this state (say, a change to an unpaid one)
    return customer_id, sub_id


async def _play(
    client: stripe.StripeClient,
    prices: dict[str, str],
    clock: str,
    sub: stripe.Subscription,
    step: tuple[Any, ...],
) -> None:
    sub_id = sub.id
    seat = _seat_item(sub, prices)
    period_end = int(seat.current_period_end)
    schedule = sub.schedule
    kind = step[0]
    if kind == "seats" and schedule is None:
        await client.v1.subscriptions.update_async(
            sub_id,
            params={
                "items": [{"id": seat.id, "quantity": step[1]}],
                "proration_behavior": step[2],
            },
        )
    elif kind == "swap" and schedule is None:
        new_plan, new_interval = step[1]
        wanted = plan_items(prices, new_plan, new_interval, int(seat.quantity))
        await client.v1.subscriptions.update_async(
            sub_id,
            params={
                "items": [{"id": i.id, "deleted": True} for i in sub["items"].data]
                + [{"price": p, "quantity": q} for p, q in wanted],
            },
        )
    elif kind == "renew":
        await advance(client, clock, period_end + 3600)
    elif kind == "cancel_at_period_end":
        await client.v1.subscriptions.update_async(sub_id, params={"cancel_at_period_end": True})
    elif kind == "resume":
        await client.v1.subscriptions.update_async(sub_id, params={"cancel_at_period_end": False})
    elif kind == "schedule_decrease" and schedule is None and int(seat.quantity) > 1:
        created = await client.v1.subscription_schedules.create_async(
            params={"from_subscription": sub_id}
        )
        current = [{"price": i.price.id, "quantity": int(i.quantity)} for i in sub["items"].data]
        later = [
            {"price": i.price.id, "quantity": int(i.quantity) - (1 if i.id == seat.id else 0)}
            for i in sub["items"].data
        ]
        await client.v1.subscription_schedules.update_async(
            created.id,
            params={
                "phases": [
                    {"items": current, "end_date": period_end},
                    {"items": later, "duration": {"interval": "month"}},
                ],
                "end_behavior": "release",
            },
        )
    elif kind == "release_schedule" and schedule is not None:
        await client.v1.subscription_schedules.release_async(schedule.id)
    elif kind == "cancel_now":
        await client.v1.subscriptions.cancel_async(sub_id)


async def deliver_shuffled(lab: Lab, events: list[dict[str, Any]], life: dict[str, Any]) -> None:
    """Every event at least once, some twice, in a random order; non-2xx answers are
    delivered again later, as Stripe does."""
    rng = random.Random(life["seed"])
    queue = list(events) + [e for e in events if rng.random() < life["duplicates"]]
    rng.shuffle(queue)
    for _attempt in range(4):
        failed = []
        for evt in queue:
            body = json.dumps(evt).encode()
            response = await lab.http.post(
                f"{lab.url}/webhooks/stripe",
                content=body,
                headers={"Stripe-Signature": sign(body, lab.secret)},
            )
            if response.status_code != 200:
                failed.append(evt)
        if not failed:
            await drain_webhooks()
            return
        queue = failed
    raise AssertionError(f"{len(queue)} events were never accepted")


# What the rows must say ---------------------------------------------------------------------


def ts(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(int(value), UTC)


def expected_pending(sub: Any, seat_price: str, seats: int) -> tuple[int, datetime] | None:
    schedule = sub.schedule
    if schedule is None or schedule.status not in ("active", "not_started"):
        return None
    current = schedule.current_phase
    later = [p for p in schedule.phases if current is None or p.start_date > current.start_date]
    if not later:
        return None
    phase = min(later, key=lambda p: p.start_date)
    quantity = next((int(i.quantity) for i in phase["items"] if i.price == seat_price), None)
    if quantity is None or quantity == seats:
        return None
    return quantity, datetime.fromtimestamp(int(phase.start_date), UTC)


async def assert_mirror_matches(lab: Lab, workspace_id: str, customer_id: str, sub_id: str) -> None:
    client = lab.client
    prices = await catalog_prices(lab.gateway)
    sub = await client.v1.subscriptions.retrieve_async(
        sub_id, params={"expand": SUBSCRIPTION_EXPAND}
    )
    seat = _seat_item(sub, prices)
    match = catalog().match_price(lookup_key=seat.price.lookup_key)
    assert match is not None
    row = await Subscription.get(stripe_id=sub_id)
    assert str(row.workspace_id) == workspace_id
    pending = expected_pending(sub, seat.price.id, int(seat.quantity))
    actual = {
        "status": row.status,
        "plan_key": row.plan_key,
        "interval": row.interval,
        "seat_quantity": row.seat_quantity,
        "cancel_at_period_end": row.cancel_at_period_end,
        "cancel_at": row.cancel_at,
        "canceled_at": row.canceled_at,
        "ended_at": row.ended_at,
        "current_period_start": row.current_period_start,
        "current_period_end": row.current_period_end,
        "latest_invoice": row.latest_invoice_stripe_id,
        "schedule": row.schedule_stripe_id,
        "pending": (row.pending_seat_quantity, row.pending_seat_effective_at)
        if row.pending_seat_quantity is not None
        else None,
    }
    expected = {
        "status": sub.status,
        "plan_key": match.plan.key,
        "interval": match.interval.value,
        "seat_quantity": int(seat.quantity),
        "cancel_at_period_end": bool(sub.cancel_at_period_end),
        "cancel_at": ts(sub.cancel_at),
        "canceled_at": ts(sub.canceled_at),
        "ended_at": ts(sub.ended_at),
        "current_period_start": ts(seat.current_period_start),
        "current_period_end": ts(seat.current_period_end),
        "latest_invoice": sub.latest_invoice,
        "schedule": sub.schedule.id if sub.schedule else None,
        "pending": pending,
    }
    assert actual == expected
    items = {
        (i.stripe_id, i.price_id, i.quantity)
        for i in await SubscriptionItem.filter(subscription_id=row.id)
    }
    assert items == {(i.id, i.price.id, int(i.quantity)) for i in sub["items"].data}

    invoices = await client.v1.invoices.list_async(params={"customer": customer_id, "limit": 100})
    rows = {r.stripe_id: r for r in await Invoice.filter(stripe_customer_id=customer_id)}
    assert set(rows) == {inv.id for inv in invoices.data}
    for inv in invoices.data:
        got = rows[inv.id]
        assert str(got.workspace_id) == workspace_id
        assert (
            got.status,
            got.number,
            got.amount_due,
            got.amount_paid,
            got.amount_remaining,
            got.total,
            got.attempt_count,
            got.currency,
        ) == (
            inv.status,
            inv.number,
            inv.amount_due,
            inv.amount_paid,
            inv.amount_remaining,
            inv.total,
            inv.attempt_count,
            inv.currency,
        ), inv.id
    restricted = any(inv.status == "open" and inv.attempt_count >= 3 for inv in invoices.data)
    workspace = await Workspace.get(id=workspace_id)
    assert (workspace.restricted_at is not None) == restricted
    assert workspace.stripe_customer_id == customer_id


@settings(
    max_examples=int(os.environ.get("SEATBILL_LIFECYCLE_EXAMPLES", "18")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(life=lifecycles)
async def test_shuffled_and_duplicated_events_leave_the_emulators_final_state(
    lab: Lab, api: Api, life: dict[str, Any]
) -> None:
    await lab.http.post(f"{lab.emulator.url}/_emulator/reset")
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner, "Lifecycle Co")
    customer_id, sub_id = await run_lifecycle(lab, workspace_id, life)
    events = await all_events(lab.client)
    await deliver_shuffled(lab, events, life)
    await assert_mirror_matches(lab, workspace_id, customer_id, sub_id)
