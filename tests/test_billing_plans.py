"""Scenarios: switching plans and intervals in place, with prorations and previews."""

from __future__ import annotations

from datetime import UTC, datetime

from seatbill.models import AuditLog, Workspace
from tests.billing_support import (
    APRIL_1,
    DAY,
    advance,
    billing,
    clocked_workspace,
    invoices,
    preview_plan,
    seat_quantity,
    stripe_subscription,
    subscribe,
    switch_plan,
    workspace_billing,
)
from tests.conftest import Api, Stack

__all__ = ["billing"]

APRIL_11 = APRIL_1 + 10 * DAY  # 20 of April's 30 days left
MAY_1 = APRIL_1 + 30 * DAY


def lines(invoice: object) -> list[tuple[int, str]]:
    return [(line.amount, line.description) for line in invoice.lines.data]  # type: ignore[attr-defined]


async def test_monthly_to_yearly_switch_credits_the_month_and_bills_the_year(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "pro", members=3)  # 4 seats: 3 free + 1 x $15
    assert subscribed.clock_id
    await advance(billing, subscribed.clock_id, APRIL_11)
    preview = await preview_plan(api, subscribed.owner, subscribed.workspace_id, "pro", "YEAR")

    switched = await switch_plan(api, subscribed.owner, subscribed.workspace_id, "pro", "YEAR")

    assert switched["userErrors"] == []
    assert switched["subscription"]["interval"] == "YEAR"
    assert switched["subscription"]["seats"] == 4
    assert switched["subscription"]["plan"] == {"id": "pro"}
    # A new yearly period starts now.
    assert switched["subscription"]["currentPeriodStart"] == "2026-04-11T00:00:00+00:00"
    assert switched["subscription"]["currentPeriodEnd"] == "2027-04-11T00:00:00+00:00"
    charged = (await invoices(billing, subscribed.subscription_id))[-1]
    assert lines(charged) == [
        (-1333, "Unused time on 1 \u00d7 Pro (at $19.99 / month) after 11 Apr 2026"),
        (-1000, "Unused time on 4 \u00d7 Pro seat (Tier pricing, per month) after 11 Apr 2026"),
        (19999, "1 \u00d7 Pro (at $199.99 / year)"),
        (15000, "4 \u00d7 Pro seat (Tier pricing, per year)"),
    ]
    assert (charged.amount_due, charged.amount_paid) == (32666, 32666)
    # The payload shows the invoice at once, without waiting for Stripe's webhooks.
    assert switched["subscription"]["latestInvoice"] == {
        "id": charged.id,
        "amountDue": 32666,
        "amountPaid": 32666,
        "status": "paid",
    }
    assert preview["amountDueNow"] == 32666
    assert [line["amount"] for line in preview["lines"]] == [-1333, -1000, 19999, 15000]
    assert preview["nextInvoiceTotal"] == 34999
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert {item.price.lookup_key for item in sub["items"].data} == {
        "seatbill_pro_base_year",
        "seatbill_pro_seat_year",
    }


async def test_upgrade_is_charged_prorated_and_matches_its_preview(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "starter", members=2)  # 3 x $4
    assert subscribed.clock_id
    await advance(billing, subscribed.clock_id, APRIL_11)
    preview = await preview_plan(api, subscribed.owner, subscribed.workspace_id, "pro")

    upgraded = await switch_plan(api, subscribed.owner, subscribed.workspace_id, "pro")

    assert upgraded["userErrors"] == []
    assert upgraded["subscription"]["plan"] == {"id": "pro"}
    assert upgraded["subscription"]["seats"] == 3
    charged = (await invoices(billing, subscribed.subscription_id))[-1]
    assert lines(charged) == [
        (-800, "Unused time on 3 \u00d7 Starter seat (at $4.00 / month) after 11 Apr 2026"),
        (1333, "Remaining time on 1 \u00d7 Pro (at $19.99 / month) after 11 Apr 2026"),
    ]
    assert charged.amount_paid == 533
    assert (preview["amountDueNow"], preview["nextInvoiceTotal"]) == (533, 1999)
    assert [(line["amount"], line["proration"]) for line in preview["lines"]] == [
        (-800, True),
        (1333, True),
    ]
    await advance(billing, subscribed.clock_id, MAY_1)
    assert (await invoices(billing, subscribed.subscription_id))[-1].total == 1999
    audit = await AuditLog.get(workspace_id=subscribed.workspace_id, action="billing.plan_switched")
    assert (audit.before["plan"], audit.after["plan"]) == ("starter", "pro")


async def test_downgrade_credits_the_difference_against_the_next_invoice(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "pro", members=2)  # 3 seats, all included
    assert subscribed.clock_id
    await advance(billing, subscribed.clock_id, APRIL_11)
    preview = await preview_plan(api, subscribed.owner, subscribed.workspace_id, "starter")

    downgraded = await switch_plan(api, subscribed.owner, subscribed.workspace_id, "starter")

    assert downgraded["userErrors"] == []
    assert downgraded["subscription"]["plan"] == {"id": "starter"}
    credit = (await invoices(billing, subscribed.subscription_id))[-1]
    assert lines(credit) == [
        (-1333, "Unused time on 1 \u00d7 Pro (at $19.99 / month) after 11 Apr 2026"),
        (800, "Remaining time on 3 \u00d7 Starter seat (at $4.00 / month) after 11 Apr 2026"),
    ]
    assert (credit.total, credit.amount_due) == (-533, 0)
    assert (preview["amountDueNow"], preview["nextInvoiceTotal"]) == (0, 1200)
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert [item.price.lookup_key for item in sub["items"].data] == ["seatbill_starter_seat_month"]
    await advance(billing, subscribed.clock_id, MAY_1)
    renewal = (await invoices(billing, subscribed.subscription_id))[-1]
    assert (renewal.total, renewal.amount_due) == (1200, 667)  # the $5.33 credit is used


async def test_licensed_to_auto_switch_bills_the_members(api: Api, billing: Stack) -> None:
    subscribed = await subscribe(api, billing, "team", seats=6, members=3)
    switched = await switch_plan(api, subscribed.owner, subscribed.workspace_id, "pro")
    assert switched["userErrors"] == []
    assert switched["subscription"]["seats"] == 4
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert seat_quantity(sub) == 4


async def test_a_downgrade_below_the_members_is_refused_by_max_seats(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "pro", members=5)  # 6 members; starter allows 5
    preview = await api.raw(
        """query($ws: ID!) { previewPlanChange(workspaceId: $ws, planId: "starter",
           interval: MONTH) { amountDueNow } }""",
        {"ws": subscribed.workspace_id},
        subscribed.owner,
    )
    assert preview["errors"][0]["extensions"]["code"] == "SEAT_LIMIT_REACHED"

    refused = await switch_plan(api, subscribed.owner, subscribed.workspace_id, "starter")

    assert refused["subscription"] is None
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
        ("SEAT_LIMIT_REACHED", ["input", "planId"])
    ]
    assert "at most 5" in refused["userErrors"][0]["message"]
    sub = await stripe_subscription(billing, subscribed.subscription_id)
    assert {item.price.lookup_key for item in sub["items"].data} == {
        "seatbill_pro_base_month",
        "seatbill_pro_seat_month",
    }
    assert len(await invoices(billing, subscribed.subscription_id)) == 1


async def test_switching_needs_a_subscription_and_restricted_workspaces_cannot_upgrade(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner)
    none_yet = await switch_plan(api, owner, workspace_id, "pro")
    assert none_yet["userErrors"][0]["code"] == "NO_SUBSCRIPTION"
    assert "startCheckout" in none_yet["userErrors"][0]["message"]

    subscribed = await subscribe(api, billing, "starter", members=1)
    await Workspace.filter(id=subscribed.workspace_id).update(restricted_at=datetime.now(UTC))
    refused = await switch_plan(api, subscribed.owner, subscribed.workspace_id, "pro")
    assert refused["userErrors"][0]["code"] == "BILLING_RESTRICTED"
    ws = await workspace_billing(api, subscribed.owner, subscribed.workspace_id)
    assert ws["subscription"]["plan"] == {"id": "starter"}
