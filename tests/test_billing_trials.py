"""Scenarios: the Starter plan's 14-day trial, through GraphQL and the emulator's test clocks,
with a card and without one; one trial per workspace, ever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from seatbill.catalog import default_catalog_path
from seatbill.models import AuditLog, Workspace
from tests.billing_support import (
    APRIL_1,
    DAY,
    SUBSCRIPTION,
    advance,
    billing,
    clocked_workspace,
    complete_checkout,
    invoices,
    settle,
    start_checkout,
    stripe_subscription,
    workspace_billing,
)
from tests.conftest import Api, Stack, serve

__all__ = ["billing"]

TRIAL_END = APRIL_1 + 14 * DAY


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


async def test_a_trial_with_a_card_runs_to_its_end_then_the_first_invoice_is_paid(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id, _, clock_id = await clocked_workspace(api, billing, owner, members=1)
    started = await start_checkout(api, owner, workspace_id, "starter")
    assert started["userErrors"] == []
    session = await billing.gateway.client.v1.checkout.sessions.retrieve_async(started["sessionId"])
    assert session.amount_total == 0  # nothing due today
    assert session.payment_method_collection == "always"  # starter asks for a card
    done = await complete_checkout(billing, started["sessionId"], "pm_card_visa")

    ws = await workspace_billing(api, owner, workspace_id)
    assert ws["billingState"] == "ACTIVE"
    assert ws["subscription"]["status"] == "TRIALING"
    assert ws["subscription"]["trialEnd"] == iso(TRIAL_END)
    (first,) = await invoices(billing, str(done.subscription))
    assert (first.amount_due, first.status) == (0, "paid")
    assert (await Workspace.get(id=workspace_id)).trial_used_at is not None

    await advance(billing, clock_id, TRIAL_END - 3 * DAY)
    warned = await AuditLog.filter(
        workspace_id=workspace_id, action="subscription.trial_will_end"
    ).count()
    assert warned == 1
    ws = await workspace_billing(api, owner, workspace_id)
    assert (ws["billingState"], ws["subscription"]["status"]) == ("ACTIVE", "TRIALING")

    await advance(billing, clock_id, TRIAL_END + DAY)
    ws = await workspace_billing(api, owner, workspace_id)
    assert (ws["billingState"], ws["subscription"]["status"]) == ("ACTIVE", "ACTIVE")
    paid = (await invoices(billing, str(done.subscription)))[-1]
    assert (paid.amount_paid, paid.billing_reason) == (800, "subscription_cycle")  # 2 x $4


async def test_a_second_subscription_of_the_same_workspace_gets_no_trial(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner)
    started = await start_checkout(api, owner, workspace_id, "starter")
    done = await complete_checkout(billing, started["sessionId"])
    canceled = await api.mutate(
        "cancelSubscription",
        {"workspaceId": workspace_id, "atPeriodEnd": False},
        owner,
        SUBSCRIPTION,
    )
    assert canceled["userErrors"] == [], canceled
    again = await start_checkout(api, owner, workspace_id, "starter")
    assert again["userErrors"] == []
    session = await billing.gateway.client.v1.checkout.sessions.retrieve_async(again["sessionId"])
    assert session.amount_total == 400  # paid at once: no trial this time
    second = await complete_checkout(billing, again["sessionId"])
    assert second.subscription != done.subscription
    ws = await workspace_billing(api, owner, workspace_id)
    assert ws["subscription"]["status"] == "ACTIVE"
    assert ws["subscription"]["trialEnd"] is None


@pytest.fixture
async def cardless(billing: Stack, tmp_path: Path) -> AsyncIterator[Api]:
    """A second API (same database, Stripe and webhooks) whose catalog's Starter trial needs no
    card: ``trial_requires_payment_method = false``."""
    text = default_catalog_path().read_text()
    plans = tmp_path / "plans.toml"
    plans.write_text(
        text.replace(
            "trial_days = 14\n", "trial_days = 14\ntrial_requires_payment_method = false\n"
        )
    )
    settings = replace(billing.settings, plans_path=plans)
    async with serve(settings, gateway=billing.gateway, manage_orm=False) as url:
        async with httpx.AsyncClient(timeout=30) as http:
            yield Api(url, settings, http)


async def test_a_trial_without_a_card_is_canceled_at_its_end(cardless: Api, billing: Stack) -> None:
    api = cardless
    owner = api.person("owner")
    workspace_id, _, clock_id = await clocked_workspace(api, billing, owner)
    started = await start_checkout(api, owner, workspace_id, "starter")
    assert started["userErrors"] == []
    session = await billing.gateway.client.v1.checkout.sessions.retrieve_async(started["sessionId"])
    assert session.payment_method_collection == "if_required"
    # The hosted page asks for no card: completed without one.
    raw = await billing.gateway.client.raw_request_async(
        "post", f"/v1/test_helpers/checkout/sessions/{session.id}/complete"
    )
    await settle(billing)
    sub_id = str(billing.gateway.client.deserialize(raw, api_mode="V1").subscription)
    sub = await stripe_subscription(billing, sub_id)
    assert sub.status == "trialing" and sub.default_payment_method is None
    assert sub.trial_settings.end_behavior.missing_payment_method == "cancel"
    ws = await workspace_billing(api, owner, workspace_id)
    assert (ws["billingState"], ws["subscription"]["status"]) == ("ACTIVE", "TRIALING")
    card = await api.data(
        "query($id: ID!) { workspace(id: $id) { paymentMethod { last4 } } }",
        {"id": workspace_id},
        owner,
    )
    assert card["workspace"]["paymentMethod"] is None

    await advance(billing, clock_id, TRIAL_END + DAY)
    ws = await workspace_billing(api, owner, workspace_id)
    assert (ws["billingState"], ws["subscription"]["status"]) == ("CANCELED", "CANCELED")
    assert [i.amount_due for i in await invoices(billing, sub_id)] == [0]  # nothing charged
    assert await AuditLog.filter(
        workspace_id=workspace_id, action="subscription.trial_will_end"
    ).exists()
