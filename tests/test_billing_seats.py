"""Scenarios: licensed seats bought and given back, with previews that match the invoices."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import UTC, datetime

from seatbill.catalog import default_catalog_path, parse_catalog
from seatbill.models import AuditLog, User, Workspace
from seatbill.services import billing as services_billing
from seatbill.services.billing import Billing
from tests.billing_support import (
    APRIL_1,
    DAY,
    advance,
    billing,
    invoices,
    preview_seats,
    seat_quantity,
    stripe_subscription,
    subscribe,
    update_seats,
    workspace_billing,
)
from tests.conftest import Api, Stack

__all__ = ["billing"]

MAY_1 = APRIL_1 + 30 * DAY


async def test_seat_added_halfway_through_a_30_day_period_costs_half_a_seat(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=5)
    assert subscribed.clock_id
    await advance(billing, subscribed.clock_id, APRIL_1 + 15 * DAY)  # 15 of 30 days left

    preview = await preview_seats(api, subscribed.owner, subscribed.workspace_id, 6)
    changed = await update_seats(api, subscribed.owner, subscribed.workspace_id, 6)

    assert changed["userErrors"] == []
    assert changed["subscription"]["seats"] == 6
    assert changed["subscription"]["pendingSeatChange"] is None
    charged = (await invoices(billing, subscribed.subscription_id))[-1]
    assert charged.billing_reason == "subscription_update"
    assert [(line.amount, line.description) for line in charged.lines.data] == [
        (-2500, "Unused time on 5 \u00d7 Team seat (at $10.00 / month) after 16 Apr 2026"),
        (3000, "Remaining time on 6 \u00d7 Team seat (at $10.00 / month) after 16 Apr 2026"),
    ]
    assert (charged.amount_due, charged.amount_paid, charged.status) == (500, 500, "paid")
    # The preview promised exactly that invoice, line by line.
    assert preview["amountDueNow"] == 500
    assert preview["currency"] == "usd"
    assert [(line["amount"], line["proration"]) for line in preview["lines"]] == [
        (-2500, True),
        (3000, True),
    ]
    assert preview["nextInvoiceTotal"] == 6000
    await advance(billing, subscribed.clock_id, MAY_1)
    renewal = (await invoices(billing, subscribed.subscription_id))[-1]
    assert (renewal.billing_reason, renewal.total) == ("subscription_cycle", 6000)

    audit = await AuditLog.filter(
        workspace_id=subscribed.workspace_id, action="billing.seats_increased"
    ).prefetch_related("actor")
    assert len(audit) == 1
    owner = await User.get(subject=subscribed.owner.sub)
    assert audit[0].actor.id == owner.id
    assert (audit[0].before["seats"], audit[0].after["seats"]) == (5, 6)


async def test_licensed_decrease_is_pending_bills_nothing_and_applies_at_the_period_end(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=5)
    assert subscribed.clock_id
    await advance(billing, subscribed.clock_id, APRIL_1 + 10 * DAY)
    preview = await preview_seats(api, subscribed.owner, subscribed.workspace_id, 3)
    assert preview["amountDueNow"] == 0 and preview["lines"] == []
    assert preview["nextInvoiceTotal"] == 3000
    assert preview["effectiveAt"] == "2026-05-01T00:00:00+00:00"

    changed = await update_seats(api, subscribed.owner, subscribed.workspace_id, 3)

    assert changed["userErrors"] == []
    assert changed["subscription"]["seats"] == 5  # usable until the period ends
    assert changed["subscription"]["pendingSeatChange"] == {
        "seats": 3,
        "effectiveAt": "2026-05-01T00:00:00+00:00",
    }
    assert len(await invoices(billing, subscribed.subscription_id)) == 1  # nothing billed now
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert seat_quantity(sub) == 5 and sub.schedule is not None

    await advance(billing, subscribed.clock_id, MAY_1 + DAY)

    renewal = (await invoices(billing, subscribed.subscription_id))[-1]
    assert (renewal.billing_reason, renewal.total, renewal.amount_paid) == (
        "subscription_cycle",
        3000,
        3000,
    )
    assert renewal.total == preview["nextInvoiceTotal"]
    ws = await workspace_billing(api, subscribed.owner, subscribed.workspace_id)
    assert ws["subscription"]["seats"] == 3
    assert ws["subscription"]["pendingSeatChange"] is None
    assert ws["seats"]["purchased"] == 3
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert seat_quantity(sub) == 3


async def test_asking_for_the_current_seats_drops_a_pending_decrease(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=4)
    assert subscribed.clock_id
    assert (await update_seats(api, subscribed.owner, subscribed.workspace_id, 2))[
        "userErrors"
    ] == []
    kept = await update_seats(api, subscribed.owner, subscribed.workspace_id, 4)
    assert kept["userErrors"] == []
    assert kept["subscription"]["pendingSeatChange"] is None
    await advance(billing, subscribed.clock_id, MAY_1 + DAY)
    renewal = (await invoices(billing, subscribed.subscription_id))[-1]
    assert renewal.total == 4000


async def test_an_increase_replaces_a_pending_decrease_and_is_charged_now(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=4)
    assert subscribed.clock_id
    await update_seats(api, subscribed.owner, subscribed.workspace_id, 2)
    await advance(billing, subscribed.clock_id, APRIL_1 + 20 * DAY)  # 10 of 30 days left
    grown = await update_seats(api, subscribed.owner, subscribed.workspace_id, 7)
    assert grown["userErrors"] == []
    assert grown["subscription"]["seats"] == 7
    assert grown["subscription"]["pendingSeatChange"] is None
    charged = (await invoices(billing, subscribed.subscription_id))[-1]
    assert charged.amount_paid == 1000  # 3 more seats x $10 x 1/3 of the month
    await advance(billing, subscribed.clock_id, MAY_1 + DAY)
    assert (await invoices(billing, subscribed.subscription_id))[-1].total == 7000


async def test_seats_never_go_below_the_members_and_auto_plans_refuse_seat_changes(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=4, members=2)
    below = await update_seats(api, subscribed.owner, subscribed.workspace_id, 2)
    assert below["subscription"] is None
    assert [(e["code"], e["field"]) for e in below["userErrors"]] == [
        ("VALIDATION", ["input", "seats"])
    ]
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert seat_quantity(sub) == 4 and sub.schedule is None

    auto = await subscribe(api, billing, "pro", members=1)
    refused = await update_seats(api, auto.owner, auto.workspace_id, 5)
    assert refused["userErrors"][0]["code"] == "VALIDATION"
    assert "automatically" in refused["userErrors"][0]["message"]
    sub = await stripe_subscription(billing, auto.subscription_id)
    assert seat_quantity(sub) == 2


async def test_a_restricted_workspace_cannot_add_seats_but_can_remove_them(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=4)
    await Workspace.filter(id=subscribed.workspace_id).update(restricted_at=datetime.now(UTC))
    grow = await update_seats(api, subscribed.owner, subscribed.workspace_id, 5)
    assert grow["userErrors"][0]["code"] == "BILLING_RESTRICTED"
    shrink = await update_seats(api, subscribed.owner, subscribed.workspace_id, 3)
    assert shrink["userErrors"] == []
    assert shrink["subscription"]["pendingSeatChange"]["seats"] == 3
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert seat_quantity(sub) == 4


async def test_auto_plan_preview_of_a_fourth_member_matches_the_next_invoice(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "pro", members=2)  # 3 seats, all included
    assert subscribed.clock_id
    await advance(billing, subscribed.clock_id, APRIL_1 + 15 * DAY)

    preview = await preview_seats(api, subscribed.owner, subscribed.workspace_id, 4)

    # Seat sync adds auto-plan prorations to the next invoice: nothing is due now.
    assert preview["amountDueNow"] == 0
    assert [(line["amount"], line["proration"]) for line in preview["lines"]] == [(750, True)]
    assert preview["lines"][0]["description"].startswith("Remaining time on 4 \u00d7 Pro seat")
    assert preview["nextInvoiceTotal"] == 750 + 1999 + 1500

    await api.join(subscribed.owner, subscribed.workspace_id, api.person("fourth"))
    for _ in range(200):  # the seat-sync worker sends the new quantity
        sub = await stripe_subscription(billing, subscribed.subscription_id)
        if seat_quantity(sub) == 4:
            break
        await asyncio.sleep(0.05)
    assert seat_quantity(sub) == 4
    await advance(billing, subscribed.clock_id, MAY_1)
    renewal = (await invoices(billing, subscribed.subscription_id))[-1]
    assert (renewal.billing_reason, renewal.total) == ("subscription_cycle", 4249)
    assert renewal.total == preview["nextInvoiceTotal"]


async def test_a_plan_that_prorates_decreases_credits_them_at_once(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=5)
    assert subscribed.clock_id
    await advance(billing, subscribed.clock_id, APRIL_1 + 15 * DAY)
    # The same Stripe prices, in a catalog whose team plan says seat_decrease = "prorate".
    data = tomllib.loads(default_catalog_path().read_text())
    data["plans"]["team"]["seat_decrease"] = "prorate"
    prorating = Billing(billing.gateway, parse_catalog(data), billing.settings)
    owner = await User.get(subject=subscribed.owner.sub)

    row = await services_billing.update_seats(prorating, owner, subscribed.workspace_id, 3)

    assert row is not None and row.seat_quantity == 3 and row.pending_seat_quantity is None
    credit = (await invoices(billing, subscribed.subscription_id))[-1]
    assert [line.amount for line in credit.lines.data] == [-2500, 1500]
    assert (credit.total, credit.amount_due) == (-1000, 0)
    await advance(billing, subscribed.clock_id, MAY_1)
    renewal = (await invoices(billing, subscribed.subscription_id))[-1]
    assert (renewal.total, renewal.amount_due) == (3000, 2000)  # the $10 credit is used


async def test_the_same_seat_increase_sent_twice_is_charged_once(api: Api, billing: Stack) -> None:
    subscribed = await subscribe(api, billing, "team", seats=2)
    assert subscribed.clock_id
    await advance(billing, subscribed.clock_id, APRIL_1 + 15 * DAY)
    both = await asyncio.gather(
        update_seats(api, subscribed.owner, subscribed.workspace_id, 3),
        update_seats(api, subscribed.owner, subscribed.workspace_id, 3),
    )
    again = await update_seats(api, subscribed.owner, subscribed.workspace_id, 3)
    assert all(p["userErrors"] == [] and p["subscription"]["seats"] == 3 for p in (*both, again))
    charges = (await invoices(billing, subscribed.subscription_id))[1:]
    assert [(i.billing_reason, i.amount_paid) for i in charges] == [("subscription_update", 500)]
