"""Scenarios: money safety against Stripe's documented behaviour (previews equal charges in
real time, failed payments change nothing, one live subscription per workspace)."""

from __future__ import annotations

import asyncio
from typing import Any

from seatbill.models import AuditLog
from tests.billing_support import (
    APRIL_1,
    DAY,
    PREVIEW_SEATS,
    advance,
    billing,
    complete_checkout,
    invoices,
    settle,
    start_checkout,
    stripe_subscription,
    subscribe,
    update_seats,
    workspace_billing,
)
from tests.conftest import Api, Person, Stack
from tests.emulator.helpers import switch_card
from tests.test_billing_cancel import cancel, resume

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


async def test_a_preview_with_more_lines_than_stripe_embeds_reads_them_all(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=2)
    invoice_items = billing.gateway.client.v1.invoice_items
    for n in range(12):  # twelve one-off charges waiting for the next invoice
        await invoice_items.create_async(
            params={
                "customer": subscribed.customer_id,
                "subscription": subscribed.subscription_id,
                "amount": 100 + n,
                "currency": "usd",
                "description": f"Extra {n}",
            }
        )
    # Stripe embeds the first 10 lines of an invoice; the other 4 come from the lines list.
    data = await api.data(
        PREVIEW_SEATS, {"ws": subscribed.workspace_id, "seats": 3}, subscribed.owner
    )
    preview = data["previewSeatChange"]
    extras = sum(100 + n for n in range(12))
    assert len(preview["lines"]) == 14
    assert sum(line["amount"] for line in preview["lines"]) == preview["amountDueNow"]
    assert preview["amountDueNow"] == extras + 1000  # a whole third seat on the first day

    changed = await update_seats(api, subscribed.owner, subscribed.workspace_id, 3)
    assert changed["userErrors"] == []
    charged = (await invoices(billing, subscribed.subscription_id))[-1]
    assert charged.amount_paid == preview["amountDueNow"]


MAY_1 = APRIL_1 + 30 * DAY


async def test_decrease_then_cancel_then_resume_keeps_the_decrease(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=5)
    assert subscribed.clock_id
    owner, ws = subscribed.owner, subscribed.workspace_id
    assert (await update_seats(api, owner, ws, 3))["userErrors"] == []

    canceled = await cancel(api, owner, ws, True)
    assert canceled["userErrors"] == [], canceled
    assert canceled["subscription"]["cancelAtPeriodEnd"] is True
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert sub.cancel_at == MAY_1  # the schedule ends the subscription with the period

    resumed = await resume(api, owner, ws)
    assert resumed["userErrors"] == [], resumed
    assert resumed["subscription"]["cancelAtPeriodEnd"] is False
    assert resumed["subscription"]["pendingSeatChange"]["seats"] == 3

    await advance(billing, subscribed.clock_id, MAY_1 + 3600)
    renewed = await workspace_billing(api, owner, ws)
    assert renewed["subscription"]["status"] == "ACTIVE"
    assert renewed["subscription"]["seats"] == 3
    assert (await invoices(billing, subscribed.subscription_id))[-1].amount_paid == 3 * 1000


async def test_cancel_then_decrease_keeps_the_cancellation(api: Api, billing: Stack) -> None:
    subscribed = await subscribe(api, billing, "team", seats=5)
    assert subscribed.clock_id
    owner, ws = subscribed.owner, subscribed.workspace_id
    assert (await cancel(api, owner, ws, True))["userErrors"] == []

    decreased = await update_seats(api, owner, ws, 3)
    assert decreased["userErrors"] == [], decreased
    assert decreased["subscription"]["cancelAtPeriodEnd"] is True

    await advance(billing, subscribed.clock_id, MAY_1 + 3600)
    ended = await stripe_subscription(billing, subscribed.subscription_id)
    assert ended.status == "canceled"
    assert len(await invoices(billing, subscribed.subscription_id)) == 1  # never renewed
    # Resuming in time would have brought the decrease back; a preview says there is no
    # next invoice rather than failing.


async def test_previews_on_a_subscription_ending_at_period_end_answer_without_a_next_invoice(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=5)
    owner, ws = subscribed.owner, subscribed.workspace_id
    assert (await cancel(api, owner, ws, True))["userErrors"] == []
    data = await api.data(PREVIEW_SEATS, {"ws": ws, "seats": 6}, owner)
    preview = data["previewSeatChange"]
    assert preview["amountDueNow"] == 1000 and preview["nextInvoiceTotal"] == 0
    fewer = (await api.data(PREVIEW_SEATS, {"ws": ws, "seats": 4}, owner))["previewSeatChange"]
    assert (fewer["amountDueNow"], fewer["nextInvoiceTotal"], fewer["lines"]) == (0, 0, [])


async def card_starts_failing(stack: Stack, subscription_id: str) -> None:
    """The customer's card is replaced by one that attaches but fails every charge."""
    client = stack.gateway.client
    sub = await client.v1.subscriptions.retrieve_async(subscription_id)
    await switch_card(client, sub, "pm_card_chargeCustomerFail")


async def test_a_failing_card_refuses_more_seats_and_stripe_keeps_billing_the_old_quantity(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=2)
    assert subscribed.clock_id
    await card_starts_failing(billing, subscribed.subscription_id)
    owner, ws = subscribed.owner, subscribed.workspace_id

    refused = await api.mutate(
        "updateSeats",
        {"workspaceId": ws, "seats": 5},
        owner,
        "subscription { id } userErrors { url }",
    )

    assert [(e["code"], bool(e["url"])) for e in refused["userErrors"]] == [
        ("PAYMENT_FAILED", True)
    ], refused
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert [int(item.quantity or 0) for item in sub["items"].data] == [2]
    assert sub.pending_update is not None  # Stripe holds the change until it is paid
    shown = await workspace_billing(api, owner, ws)
    assert shown["subscription"]["seats"] == 2 and shown["seats"]["purchased"] == 2

    # The pending update expires unpaid: the renewal bills the two seats bought.
    await advance(billing, subscribed.clock_id, MAY_1 + 3600)
    renewal = (await invoices(billing, subscribed.subscription_id))[-1]
    assert renewal.billing_reason == "subscription_cycle"
    assert renewal.amount_due == 2 * 1000


async def test_a_failing_card_refuses_an_upgrade_that_removes_an_item(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "pro", members=4)  # base + 5 seats
    await card_starts_failing(billing, subscribed.subscription_id)
    before = await stripe_subscription(billing, subscribed.subscription_id)

    refused = await api.mutate(
        "switchPlan",
        {"workspaceId": subscribed.workspace_id, "planId": "team", "interval": "YEAR"},
        subscribed.owner,
        "subscription { id } userErrors { url }",
    )

    assert [e["code"] for e in refused["userErrors"]] == ["PAYMENT_FAILED"], refused
    after = await stripe_subscription(billing, subscribed.subscription_id)
    assert sorted((i.price.id, i.quantity) for i in after["items"].data) == sorted(
        (i.price.id, i.quantity) for i in before["items"].data
    )


async def test_two_completed_checkouts_end_with_one_live_subscription_the_other_refunded(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    pro = await start_checkout(api, owner, workspace_id, "pro")
    client = billing.gateway.client
    first = await client.v1.checkout.sessions.retrieve_async(pro["sessionId"])
    team_seat = (await billing.gateway.find_prices(["seatbill_team_seat_month"]))[
        "seatbill_team_seat_month"
    ]
    # A second session opened in the same instant (another tab): Stripe lets both complete.
    second = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "customer": str(first.customer),
            "client_reference_id": workspace_id,
            "line_items": [{"price": team_seat.id, "quantity": 2}],
            "metadata": {"workspace_id": workspace_id},
            "subscription_data": {"metadata": {"workspace_id": workspace_id}},
            "success_url": "https://app.example.com/done",
        }
    )
    kept = await complete_checkout(billing, first.id)
    duplicate = await complete_checkout(billing, second.id)
    await settle(billing)

    shown = await workspace_billing(api, owner, workspace_id)
    assert shown["subscription"]["plan"] == {"id": "pro"}
    assert shown["subscription"]["status"] == "ACTIVE"
    assert (await stripe_subscription(billing, str(kept.subscription))).status == "active"
    ended = await stripe_subscription(billing, str(duplicate.subscription))
    assert ended.status == "canceled"
    paid = (await invoices(billing, str(duplicate.subscription)))[0]
    assert paid.amount_paid == 2 * 1000
    payments = await client.v1.invoice_payments.list_async(params={"invoice": str(paid.id)})
    intent = str(payments.data[0].payment.payment_intent)
    refunds = await client.v1.refunds.list_async(params={"payment_intent": intent})
    assert [(r.amount, r.status) for r in refunds.data] == [(2000, "succeeded")]
    audit = await AuditLog.filter(
        workspace_id=workspace_id, action="billing.duplicate_subscription_canceled"
    ).all()
    assert len(audit) == 1 and audit[0].after["refunded"] == 2000
