"""Scenarios: subscribing with a saved card (Stripe Elements) through GraphQL and the
emulator: a card that pays, one that asks for 3D Secure, declined ones; createSetupIntent and
Workspace.paymentMethod."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from seatbill.models import AuditLog, Workspace
from tests.billing_support import (
    SUBSCRIPTION,
    billing,
    clocked_workspace,
    invoices,
    settle,
    stripe_subscription,
    trial_used,
    workspace_billing,
)
from tests.conftest import Api, Person, Stack

__all__ = ["billing"]

SUBSCRIBED = f"{SUBSCRIPTION} requiresAction paymentIntentClientSecret"
CARD = "query($id: ID!) { workspace(id: $id) { paymentMethod { brand last4 expMonth expYear } } }"


async def subscribe_with(
    api: Api, who: Person, workspace_id: str, card: str, plan: str = "team", seats: int = 2
) -> dict[str, Any]:
    return await api.mutate(
        "subscribe",
        {
            "workspaceId": workspace_id,
            "planId": plan,
            "interval": "MONTH",
            "seats": seats,
            "paymentMethodId": card,
        },
        who,
        SUBSCRIBED,
    )


async def test_subscribe_with_visa_is_active_at_once_and_the_card_is_the_default(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id, customer_id, _ = await clocked_workspace(api, billing, owner)
    done = await subscribe_with(api, owner, workspace_id, "pm_card_visa")
    assert done["userErrors"] == []
    assert done["requiresAction"] is False and done["paymentIntentClientSecret"] is None
    sub = done["subscription"]
    assert (sub["status"], sub["seats"], sub["plan"]) == ("ACTIVE", 2, {"id": "team"})
    assert sub["latestInvoice"]["amountPaid"] == 2000  # 2 x $10, charged now
    customer = await billing.gateway.retrieve_customer(customer_id)
    assert customer.invoice_settings.default_payment_method
    card = (await api.data(CARD, {"id": workspace_id}, owner))["workspace"]["paymentMethod"]
    assert (card["brand"], card["last4"]) == ("visa", "4242")
    assert card["expYear"] >= 2026 and 1 <= card["expMonth"] <= 12
    member = api.person("member")
    await api.join(owner, workspace_id, member)
    seen = await api.data(CARD, {"id": workspace_id}, member)
    assert seen["workspace"]["paymentMethod"] is None  # members see no card
    assert await AuditLog.filter(workspace_id=workspace_id, action="billing.subscribed").exists()

    again = await subscribe_with(api, owner, workspace_id, "pm_card_visa", seats=3)
    assert [e["code"] for e in again["userErrors"]] == ["CONFLICT"]


async def test_a_retried_subscribe_returns_the_same_subscription(api: Api, billing: Stack) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner)
    first = await subscribe_with(api, owner, workspace_id, "pm_card_mastercard", seats=1)
    second = await subscribe_with(api, owner, workspace_id, "pm_card_mastercard", seats=1)
    assert first["userErrors"] == second["userErrors"] == []
    assert first["subscription"]["id"] == second["subscription"]["id"]


async def test_a_3ds_card_requires_action_then_the_authenticated_payment_activates(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner)
    done = await subscribe_with(api, owner, workspace_id, "pm_card_threeDSecure2Required")
    assert done["userErrors"] == []
    assert done["requiresAction"] is True
    secret = done["paymentIntentClientSecret"]
    assert secret and secret.startswith("pi_") and "_secret_" in secret
    assert done["subscription"]["status"] == "INCOMPLETE"
    ws = await workspace_billing(api, owner, workspace_id)
    assert ws["billingState"] == "INCOMPLETE"

    # Stripe.js shows the challenge and the customer passes it (the emulator's helper).
    intent_id = secret.split("_secret_")[0]
    await billing.gateway.client.raw_request_async(
        "post", f"/v1/test_helpers/payment_intents/{intent_id}/authenticate"
    )
    await settle(billing)
    ws = await workspace_billing(api, owner, workspace_id)
    assert (ws["billingState"], ws["subscription"]["status"]) == ("ACTIVE", "ACTIVE")
    (paid,) = await invoices(billing, ws["subscription"]["id"])
    assert (paid.status, paid.amount_paid) == ("paid", 2000)


@pytest.mark.parametrize("card", ["pm_card_chargeDeclined", "pm_card_chargeCustomerFail"])
async def test_a_declined_card_is_payment_failed_with_no_live_subscription(
    api: Api, billing: Stack, card: str
) -> None:
    owner = api.person("owner")
    workspace_id, customer_id, _ = await clocked_workspace(api, billing, owner)
    done = await subscribe_with(api, owner, workspace_id, card)
    assert [e["code"] for e in done["userErrors"]] == ["PAYMENT_FAILED"]
    assert done["userErrors"][0]["field"] == ["input", "paymentMethodId"]
    assert "declined" in done["userErrors"][0]["message"]
    await settle(billing)
    live = await billing.gateway.list_subscriptions(customer_id)
    assert all(s.status in ("canceled", "incomplete_expired") for s in live)
    ws = await workspace_billing(api, owner, workspace_id)
    assert ws["billingState"] in ("NONE", "CANCELED")
    # A good card afterwards subscribes.
    retried = await subscribe_with(api, owner, workspace_id, "pm_card_visa")
    assert retried["userErrors"] == [] and retried["subscription"]["status"] == "ACTIVE"


async def test_subscribe_to_a_plan_with_a_trial_starts_trialing_with_nothing_charged(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner)
    done = await subscribe_with(api, owner, workspace_id, "pm_card_visa", plan="starter")
    assert done["userErrors"] == []
    assert done["subscription"]["status"] == "TRIALING"
    assert done["subscription"]["trialEnd"] is not None
    assert done["subscription"]["latestInvoice"]["amountPaid"] == 0
    sub = await stripe_subscription(billing, done["subscription"]["id"])
    assert sub.default_payment_method is None  # the customer's default card pays later


async def test_a_declined_first_attempt_does_not_use_up_the_trial(api: Api, billing: Stack) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner)
    declined = await subscribe_with(api, owner, workspace_id, "pm_card_chargeCustomerFail")
    assert [e["code"] for e in declined["userErrors"]] == ["PAYMENT_FAILED"]
    await settle(billing)
    done = await subscribe_with(api, owner, workspace_id, "pm_card_visa", plan="starter")
    assert done["userErrors"] == [] and done["subscription"]["status"] == "TRIALING"


async def test_subscribe_refusals(api: Api, billing: Stack) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner)
    await trial_used(workspace_id)
    bad = await subscribe_with(api, owner, workspace_id, "card_4242")
    assert [e["field"] for e in bad["userErrors"]] == [["input", "paymentMethodId"]]
    too_few = await subscribe_with(api, owner, workspace_id, "pm_card_visa", seats=0)
    assert [e["code"] for e in too_few["userErrors"]] == ["VALIDATION"]
    member = api.person("member")
    await api.join(owner, workspace_id, member)
    refused = await subscribe_with(api, member, workspace_id, "pm_card_visa")
    assert [e["code"] for e in refused["userErrors"]] == ["FORBIDDEN"]
    stranger = await subscribe_with(api, api.person("stranger"), workspace_id, "pm_card_visa")
    assert [e["code"] for e in stranger["userErrors"]] == ["NOT_FOUND"]
    await Workspace.filter(id=workspace_id).update(restricted_at=datetime.now(UTC))
    restricted = await subscribe_with(api, owner, workspace_id, "pm_card_visa")
    assert [e["code"] for e in restricted["userErrors"]] == ["BILLING_RESTRICTED"]


async def test_create_setup_intent_for_owners_and_admins(api: Api, billing: Stack) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    made = await api.mutate(
        "createSetupIntent", {"workspaceId": workspace_id}, owner, "clientSecret"
    )
    assert made["userErrors"] == []
    secret = made["clientSecret"]
    assert secret.startswith("seti_") and "_secret_" in secret
    seti = await billing.gateway.client.v1.setup_intents.retrieve_async(secret.split("_secret_")[0])
    assert seti.usage == "off_session" and seti.customer
    # Stripe.js confirms it with the card the customer typed; subscribe then uses that card.
    confirmed = await billing.gateway.client.v1.setup_intents.confirm_async(
        seti.id, params={"payment_method": "pm_card_amex"}
    )
    await trial_used(workspace_id)
    done = await subscribe_with(
        api, owner, workspace_id, str(confirmed.payment_method), plan="pro", seats=1
    )
    assert done["userErrors"] == [] and done["subscription"]["status"] == "ACTIVE"
    card = (await api.data(CARD, {"id": workspace_id}, owner))["workspace"]["paymentMethod"]
    assert (card["brand"], card["last4"]) == ("amex", "0005")

    member = api.person("member")
    await api.join(owner, workspace_id, member)
    refused = await api.mutate(
        "createSetupIntent", {"workspaceId": workspace_id}, member, "clientSecret"
    )
    assert refused["clientSecret"] is None and refused["userErrors"]
