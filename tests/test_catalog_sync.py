"""`seatbill catalog sync`: Stripe's products and prices follow plans.toml, idempotently."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from seatbill.catalog import (
    Catalog,
    default_catalog_path,
    load_catalog,
    match_stripe_price,
    parse_catalog,
)
from seatbill.cli import main
from seatbill.services.catalog_sync import sync_catalog
from seatbill.services.stripe_gateway import StripeGateway
from stripe_emulator import EmulatorServer


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


def gateway_for(server: EmulatorServer) -> StripeGateway:
    return StripeGateway("sk_test_catalog", api_base=server.url, max_network_retries=0)


def changed_catalog(edit: Any) -> Catalog:
    with open(default_catalog_path(), "rb") as file:
        data = tomllib.load(file)
    edit(data["plans"])
    return parse_catalog(data)


def outcomes(actions: list[Any]) -> dict[str, str]:
    return {f"{a.kind} {a.name}": a.outcome for a in actions}


async def test_first_sync_creates_every_product_and_price_the_second_changes_nothing(
    emulator: EmulatorServer,
) -> None:
    gateway = gateway_for(emulator)
    catalog = load_catalog(default_catalog_path())

    first = await sync_catalog(gateway, catalog)

    assert set(outcomes(first).values()) == {"created"}
    assert len([a for a in first if a.kind == "price"]) == 8
    prices = await gateway.find_prices([ref.lookup_key or "" for _, ref in catalog.price_refs()])
    pro_seat = prices["seatbill_pro_seat_month"]
    assert (pro_seat.billing_scheme, pro_seat.tiers_mode, pro_seat.currency) == (
        "tiered",
        "graduated",
        "usd",
    )
    assert [(t.up_to, t.unit_amount) for t in pro_seat.tiers or []] == [
        (3, 0),
        (10, 1500),
        (None, 1200),
    ]
    assert pro_seat.product == "seatbill_pro_seat"
    assert pro_seat.metadata.to_dict() == {
        "seatbill_plan": "pro",
        "seatbill_role": "seat",
        "seatbill_interval": "month",
        "role": "seat",
    }
    team = prices["seatbill_team_seat_year"]
    assert (team.unit_amount, team.recurring.interval if team.recurring else None) == (
        10000,
        "year",
    )

    second = await sync_catalog(gateway, catalog)

    assert set(outcomes(second).values()) == {"unchanged"}
    assert not any(a.changed for a in second)
    state = emulator.emulator.state
    assert len(state.all("price")) == 8 and len(state.all("product")) == 4


async def test_a_changed_amount_is_a_new_price_that_takes_over_the_lookup_key(
    emulator: EmulatorServer,
) -> None:
    gateway = gateway_for(emulator)
    await sync_catalog(gateway, load_catalog(default_catalog_path()))
    old = (await gateway.find_prices(["seatbill_team_seat_month"]))["seatbill_team_seat_month"]

    def raise_team_and_rename_pro(plans: dict[str, Any]) -> None:
        plans["team"]["month"]["seat"]["unit_amount"] = 1200
        plans["pro"]["name"] = "Pro Plus"

    catalog = changed_catalog(raise_team_and_rename_pro)
    actions = await sync_catalog(gateway, catalog)

    result = outcomes(actions)
    assert result["price seatbill_team_seat_month"] == "replaced"
    assert result["product seatbill_pro_base"] == "updated"
    assert result["product seatbill_pro_seat"] == "updated"
    assert sum(a.changed for a in actions) == 3
    replaced = next(a for a in actions if a.name == "seatbill_team_seat_month")
    assert "unit_amount 1000 != 1200" in str(replaced)
    new = (await gateway.find_prices(["seatbill_team_seat_month"]))["seatbill_team_seat_month"]
    assert new.id != old.id and new.unit_amount == 1200
    assert (await gateway.retrieve_price(old.id)).lookup_key is None  # old subscriptions keep it
    assert not any(a.changed for a in await sync_catalog(gateway, catalog))


async def test_a_price_holding_a_catalog_lookup_key_without_metadata_gets_it_once(
    emulator: EmulatorServer,
) -> None:
    # Made by hand in the Dashboard (or by an older Seatbill): right amount, no metadata.
    gateway = gateway_for(emulator)
    await gateway.create_product({"id": "seatbill_team_seat", "name": "Team seat"})
    manual = await gateway.client.v1.prices.create_async(
        params={
            "product": "seatbill_team_seat",
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "lookup_key": "seatbill_team_seat_month",
        }
    )

    actions = await sync_catalog(gateway, load_catalog(default_catalog_path()))

    tagged = next(a for a in actions if a.name == "seatbill_team_seat_month")
    assert tagged.outcome == "updated"
    assert "seatbill_plan=team" in tagged.detail and "seatbill_role=seat" in tagged.detail
    price = await gateway.retrieve_price(manual.id)
    assert price.lookup_key == "seatbill_team_seat_month"  # the same price, not a new one
    assert price.metadata.to_dict() == {
        "seatbill_plan": "team",
        "seatbill_role": "seat",
        "seatbill_interval": "month",
    }
    again = await sync_catalog(gateway, load_catalog(default_catalog_path()))
    assert outcomes(again)["price seatbill_team_seat_month"] == "unchanged"


async def test_a_replaced_price_without_metadata_is_tagged_before_it_loses_its_key(
    emulator: EmulatorServer,
) -> None:
    gateway = gateway_for(emulator)
    await gateway.create_product({"id": "seatbill_team_seat", "name": "Team seat"})
    manual = await gateway.client.v1.prices.create_async(
        params={
            "product": "seatbill_team_seat",
            "currency": "usd",
            "unit_amount": 900,  # not the catalog's 1000: replaced
            "recurring": {"interval": "month"},
            "lookup_key": "seatbill_team_seat_month",
        }
    )

    actions = await sync_catalog(gateway, load_catalog(default_catalog_path()))

    done = [a.outcome for a in actions if a.name == "seatbill_team_seat_month"]
    assert done == ["updated", "replaced"]
    old = await gateway.retrieve_price(manual.id)
    assert old.lookup_key is None
    assert old.metadata.to_dict()["seatbill_plan"] == "team"
    catalog = load_catalog(default_catalog_path())
    match = match_stripe_price(catalog, old)
    assert match is not None and (match.plan.key, match.role, match.interval) == (
        "team",
        "seat",
        "month",
    )


def test_the_cli_prints_what_it_did(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    monkeypatch.setenv("STRIPE_API_BASE", emulator.url)

    assert main(["catalog", "sync"]) == 0
    out = capsys.readouterr().out
    assert "price seatbill_pro_base_month: created price_" in out
    assert out.strip().endswith("12 change(s)")

    assert main(["catalog", "sync"]) == 0
    again = capsys.readouterr().out
    assert "product seatbill_team_seat: unchanged" in again
    assert again.strip().endswith("Stripe already matches the catalog")


def test_the_cli_needs_stripe_or_an_emulator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    monkeypatch.delenv("STRIPE_API_BASE", raising=False)
    assert main(["catalog", "sync"]) == 2
    assert "STRIPE_SECRET_KEY" in capsys.readouterr().err
