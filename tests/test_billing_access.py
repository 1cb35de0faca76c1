"""Who may bill, and bad input: refused requests change nothing in Seatbill or Stripe."""

from __future__ import annotations

from typing import Any

import pytest

from seatbill.models import AuditLog, Workspace
from tests.billing_support import (
    PREVIEW_PLAN,
    PREVIEW_SEATS,
    billing,
    invoices,
    seat_quantity,
    start_checkout,
    stripe_subscription,
    subscribe,
    update_seats,
)
from tests.conftest import Api, Person, Stack

__all__ = ["billing"]


def mutations(workspace_id: str) -> list[tuple[str, dict[str, Any], str]]:
    """Every billing mutation with valid input, and the result field to select."""
    return [
        (
            "startCheckout",
            {
                "workspaceId": workspace_id,
                "planId": "team",
                "interval": "MONTH",
                "seats": 9,
                "successUrl": "https://app.example.com/ok",
                "cancelUrl": "https://app.example.com/no",
            },
            "checkoutUrl",
        ),
        ("updateSeats", {"workspaceId": workspace_id, "seats": 9}, "subscription { id }"),
        (
            "switchPlan",
            {"workspaceId": workspace_id, "planId": "pro", "interval": "YEAR"},
            "subscription { id }",
        ),
        (
            "cancelSubscription",
            {"workspaceId": workspace_id, "atPeriodEnd": False},
            "subscription { id }",
        ),
        ("resumeSubscription", {"workspaceId": workspace_id}, "subscription { id }"),
        (
            "openBillingPortal",
            {"workspaceId": workspace_id, "returnUrl": "https://app.example.com"},
            "url",
        ),
    ]


async def assert_untouched(stack: Stack, workspace_id: str, subscription_id: str) -> None:
    sub = await stripe_subscription(stack, subscription_id)
    assert (sub.status, seat_quantity(sub), sub.cancel_at_period_end) == ("active", 2, False)
    assert {item.price.lookup_key for item in sub["items"].data} == {"seatbill_team_seat_month"}
    assert len(await invoices(stack, subscription_id)) == 1
    assert not await AuditLog.filter(
        workspace_id=workspace_id, actor_id__isnull=False, action__not="billing.checkout_started"
    ).exists()


@pytest.mark.parametrize("outsider", [False, True], ids=["member", "outsider"])
async def test_members_are_forbidden_and_outsiders_see_nothing(
    api: Api, billing: Stack, outsider: bool
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=2)
    person = api.person("someone")
    if not outsider:
        await api.join(subscribed.owner, subscribed.workspace_id, person)
    expected = "NOT_FOUND" if outsider else "FORBIDDEN"
    for name, payload, selection in mutations(subscribed.workspace_id):
        result = await api.mutate(name, payload, person, selection)
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
            (expected, ["input", "workspaceId"])
        ], name
    for query, variables in (
        (PREVIEW_SEATS, {"ws": subscribed.workspace_id, "seats": 5}),
        (PREVIEW_PLAN, {"ws": subscribed.workspace_id, "plan": "pro", "interval": "MONTH"}),
    ):
        body = await api.raw(query, variables, person)
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": expected, "field": ["workspaceId"]}
    sessions = await billing.gateway.list_open_checkout_sessions(subscribed.customer_id)
    assert sessions == []
    await assert_untouched(billing, subscribed.workspace_id, subscribed.subscription_id)


async def test_admins_manage_billing(api: Api, billing: Stack) -> None:
    subscribed = await subscribe(api, billing, "team", seats=2)
    admin = api.person("admin")
    await api.join(subscribed.owner, subscribed.workspace_id, admin, "ADMIN")
    grown = await update_seats(api, admin, subscribed.workspace_id, 3)
    assert grown["userErrors"] == [] and grown["subscription"]["seats"] == 3


async def test_bad_input_is_refused_and_changes_nothing(api: Api, billing: Stack) -> None:
    subscribed = await subscribe(api, billing, "team", seats=2, members=1)
    owner, workspace_id = subscribed.owner, subscribed.workspace_id

    async def codes(name: str, payload: dict[str, Any], who: Person = owner) -> list[Any]:
        result = await api.mutate(name, payload, who, "__typename")
        return [(e["code"], e["field"]) for e in result["userErrors"]]

    assert await codes(
        "switchPlan", {"workspaceId": workspace_id, "planId": "platinum", "interval": "MONTH"}
    ) == [("VALIDATION", ["input", "planId"])]
    assert await codes("updateSeats", {"workspaceId": workspace_id, "seats": 1}) == [
        ("VALIDATION", ["input", "seats"])
    ]
    assert await codes("updateSeats", {"workspaceId": workspace_id, "seats": -3}) == [
        ("VALIDATION", ["input", "seats"])
    ]
    assert await codes("updateSeats", {"workspaceId": "not-a-uuid", "seats": 3}) == [
        ("NOT_FOUND", ["input", "workspaceId"])
    ]
    assert await codes(
        "openBillingPortal", {"workspaceId": workspace_id, "returnUrl": "javascript:alert(1)"}
    ) == [("VALIDATION", ["input", "returnUrl"])]
    # A bad enum value never reaches a resolver: GraphQL refuses the request.
    body = await api.raw(
        """mutation { switchPlan(input: {workspaceId: "x", planId: "pro", interval: WEEK}) {
           userErrors { code } } }""",
        who=owner,
    )
    assert body["data"] is None and "WEEK" in body["errors"][0]["message"]
    preview = await api.raw(PREVIEW_SEATS, {"ws": workspace_id, "seats": 1}, owner)
    assert preview["errors"][0]["extensions"] == {"code": "VALIDATION", "field": ["seats"]}
    await assert_untouched(billing, workspace_id, subscribed.subscription_id)


async def test_bad_checkout_input_creates_no_customer(api: Api, billing: Stack) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    await api.join(owner, workspace_id, api.person("ann"))
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"plan": "platinum"}, ["input", "planId"]),
        ({"plan": "team", "seats": 1}, ["input", "seats"]),
        ({"plan": "team", "seats": 0}, ["input", "seats"]),
        ({"plan": "team", "seats": 100_000}, ["input", "seats"]),
        (
            {"plan": "team", "seats": 2, "success_url": "ftp://app.example.com"},
            ["input", "successUrl"],
        ),
        ({"plan": "team", "seats": 2, "success_url": "/relative"}, ["input", "successUrl"]),
        ({"plan": "team", "seats": 2, "cancel_url": "javascript:alert(1)"}, ["input", "cancelUrl"]),
    ]
    for case, field in cases:
        plan = case.pop("plan")
        result = await start_checkout(api, owner, workspace_id, plan, **case)
        assert result["checkoutUrl"] is None
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("VALIDATION", field)]
    stored = await Workspace.get(id=workspace_id)
    assert stored.stripe_customer_id is None
    assert not await AuditLog.filter(workspace_id=workspace_id).exists()


async def test_stripe_refusing_is_a_provider_error_with_a_safe_message(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    await billing.gateway.client.raw_request_async(
        "post", "/_emulator/faults", status=400, path_prefix="/v1/checkout/sessions", count=1
    )
    refused = await start_checkout(api, owner, workspace_id, "team", seats=1)
    assert refused["userErrors"] == [
        {
            "code": "BILLING_PROVIDER_ERROR",
            "message": "The billing provider refused the request",
            "field": None,
        }
    ]
    retried = await start_checkout(api, owner, workspace_id, "team", seats=1)
    assert retried["userErrors"] == [] and retried["sessionId"]
