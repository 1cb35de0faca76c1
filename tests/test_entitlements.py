"""Entitlements: plan limits from plans.toml, and the limits a workspace has right now."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from seatbill.catalog import CatalogError, PlanLimit, default_catalog_path, parse_catalog
from tests.billing_support import billing, settle, subscribe, switch_plan
from tests.conftest import Api, Person, Stack, serve

__all__ = ["billing"]

ENTITLEMENTS = """query($id: ID!) { workspace(id: $id) {
  subscription { status plan { id } } entitlements { key value } } }"""


def default_document() -> dict[str, Any]:
    with open(default_catalog_path(), "rb") as file:
        return tomllib.load(file)


def with_plan(key: str, plan: dict[str, Any]) -> dict[str, Any]:
    document = default_document()
    document["plans"][key] = plan
    return document


SEAT = {"month": {"seat": {"lookup_key": "x_seat", "currency": "usd", "unit_amount": 100}}}
BASICS = {"name": "X", "description": "", "features": [], "seat_mode": "auto"}


def test_the_default_catalog_has_limits() -> None:
    plans = {plan.key: plan for plan in parse_catalog(default_document()).plans}
    assert plans["starter"].limits[0] == PlanLimit("projects", 3)
    assert PlanLimit("projects", None) in plans["team"].limits  # "unlimited"
    assert all(plan.limits for plan in plans.values())


@pytest.mark.parametrize(
    ("limits", "field", "reason"),
    [
        ({"projects": -1}, "plans.x.limits.projects", 'must not be negative (write "unlimited"'),
        ({"projects": "lots"}, "plans.x.limits.projects", 'a whole number or "unlimited"'),
        ({"projects": 2.5}, "plans.x.limits.projects", "must be an integer, not a float"),
        ({"projects": True}, "plans.x.limits.projects", "must be an integer, not a boolean"),
        ({"projects": 2**31}, "plans.x.limits.projects", "must be at most 2147483647"),
        ({"Projects": 1}, "plans.x.limits.Projects", "limit name must be lowercase"),
        ({"projects": {"max": 1}}, "plans.x.limits.projects", "must be an integer, not a table"),
    ],
)
def test_bad_limits_are_named(limits: Any, field: str, reason: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(with_plan("x", {**BASICS, **SEAT, "limits": limits}))
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_limits_must_be_a_table() -> None:
    with pytest.raises(CatalogError, match=r"plans\.x\.limits: must be a table"):
        parse_catalog(with_plan("x", {**BASICS, **SEAT, "limits": [1]}))


def test_only_the_free_plan_may_have_no_prices() -> None:
    free = parse_catalog(with_plan("free", {**BASICS, "limits": {"projects": 1}})).get("free")
    assert free is not None and free.prices == () and free.limits == (PlanLimit("projects", 1),)
    with pytest.raises(CatalogError, match="must define at least one interval"):
        parse_catalog(with_plan("basic", {**BASICS, "limits": {"projects": 1}}))


async def test_plans_show_their_limits(api: Api) -> None:
    data = await api.data("{ plans { id limits { key value } } }")
    team = next(plan for plan in data["plans"] if plan["id"] == "team")
    assert team["limits"] == [
        {"key": "projects", "value": None},
        {"key": "storage_gb", "value": 1000},
        {"key": "audit_log_days", "value": 365},
    ]


async def entitlements_of(api: Api, who: Person, workspace_id: str) -> list[dict[str, Any]]:
    data = await api.data(ENTITLEMENTS, {"id": workspace_id}, who)
    found: list[dict[str, Any]] = data["workspace"]["entitlements"]
    return found


async def test_entitlements_follow_the_plan(api: Api, billing: Stack) -> None:
    owner = api.person("owner")
    unsubscribed = await api.create_workspace(owner)
    assert await entitlements_of(api, owner, unsubscribed) == []  # no free plan by default

    sub = await subscribe(api, billing, "starter", members=0)
    member = api.person("member")
    await api.join(sub.owner, sub.workspace_id, member)
    starter = [
        {"key": "projects", "value": 3},
        {"key": "storage_gb", "value": 5},
        {"key": "audit_log_days", "value": 7},
    ]
    assert await entitlements_of(api, sub.owner, sub.workspace_id) == starter
    assert await entitlements_of(api, member, sub.workspace_id) == starter  # MEMBER reads them

    switched = await switch_plan(api, sub.owner, sub.workspace_id, "pro")
    assert switched["userErrors"] == [], switched
    await settle(billing)
    assert (await entitlements_of(api, member, sub.workspace_id))[0] == {
        "key": "projects",
        "value": 25,
    }

    canceled = await api.mutate(
        "cancelSubscription",
        {"workspaceId": sub.workspace_id, "atPeriodEnd": False},
        sub.owner,
        "subscription { status }",
    )
    assert canceled["subscription"]["status"] == "CANCELED", canceled
    await settle(billing)
    assert await entitlements_of(api, member, sub.workspace_id) == []


async def test_a_free_plan_in_a_custom_catalog(api: Api, billing: Stack, tmp_path: Path) -> None:
    subscribed = await subscribe(api, billing, "starter")
    owner = api.person("owner")
    unsubscribed = await api.create_workspace(owner)
    plans = tmp_path / "plans.toml"
    plans.write_text(
        default_catalog_path().read_text()
        + '\n[plans.free]\nname = "Free"\ndescription = "Try it."\nfeatures = []\n'
        'seat_mode = "auto"\n\n[plans.free.limits]\nprojects = 1\nstorage_gb = 1\n'
    )
    settings = replace(billing.settings, plans_path=plans, seat_sync_in_process=False)
    async with serve(settings, manage_orm=False) as url, httpx.AsyncClient(timeout=30) as http:
        custom = Api(url, settings, http)
        free = [{"key": "projects", "value": 1}, {"key": "storage_gb", "value": 1}]
        assert await entitlements_of(custom, owner, unsubscribed) == free
        paid = await entitlements_of(custom, subscribed.owner, subscribed.workspace_id)
        assert paid[0] == {"key": "projects", "value": 3}  # the plan's, not the free plan's
        plans_data = await custom.data("{ plans { id prices { interval } limits { key } } }")
        listed = {plan["id"]: plan for plan in plans_data["plans"]}
        assert listed["free"]["prices"] == []  # not sold: no checkout
        bought = await custom.mutate(
            "startCheckout",
            {
                "workspaceId": unsubscribed,
                "planId": "free",
                "interval": "MONTH",
                "successUrl": "https://app.example.com/done",
                "cancelUrl": "https://app.example.com/billing",
            },
            owner,
            "checkoutUrl",
        )
        assert bought["userErrors"][0]["code"] == "VALIDATION", bought
