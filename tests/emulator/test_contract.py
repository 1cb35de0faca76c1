"""Requests are held to the SDK's own parameter types, and refused the way Stripe refuses them."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import stripe

from stripe_emulator import contract
from stripe_emulator.routes import build_router
from tests.emulator.helpers import APRIL_1, DAY, clock_customer, price, sub_item, subscribe


async def refused(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as err:
        await call
    assert err.value.http_status == 400
    assert err.value.json_body is not None
    assert err.value.json_body["error"]["type"] == "invalid_request_error"
    return err.value


async def test_a_typo_at_the_top_is_refused_as_unknown_and_nothing_is_created(
    client: stripe.StripeClient,
) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    params: dict[str, Any] = {"email": email, "seats": "3"}
    err = await refused(client.v1.customers.create_async(params=params))  # type: ignore[arg-type]
    assert (err.code, err.param) == ("parameter_unknown", "seats")
    assert err.user_message == "Received unknown parameter: seats"
    found = await client.v1.customers.list_async(params={"email": email})
    assert found.data == []


async def test_a_typo_inside_a_list_item_or_a_hash_names_the_full_bracket_path(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    item = sub_item(sub, seat.id)
    items: list[Any] = [{"id": item.id, "quantity": 3, "foo": "bar"}]
    err = await refused(client.v1.subscriptions.update_async(sub.id, params={"items": items}))
    assert (err.code, err.param) == ("parameter_unknown", "items[0][foo]")
    assert err.user_message == "Received unknown parameter: items[0][foo]"
    assert sub_item(await client.v1.subscriptions.retrieve_async(sub.id), seat.id).quantity == 2

    session: dict[str, Any] = {
        "mode": "subscription",
        "customer": customer.id,
        "line_items": [{"price": seat.id, "quantity": 1}],
        "success_url": "https://example.com/ok",
        "subscription_data": {"trial_days": 3},
    }
    err = await refused(client.v1.checkout.sessions.create_async(params=session))  # type: ignore[arg-type]
    assert (err.code, err.param) == ("parameter_unknown", "subscription_data[trial_days]")


async def test_a_missing_required_param_is_named_at_its_depth(
    client: stripe.StripeClient,
) -> None:
    no_time: dict[str, Any] = {"name": "no time"}
    err = await refused(client.v1.test_helpers.test_clocks.create_async(params=no_time))  # type: ignore[arg-type]
    assert (err.code, err.param) == ("parameter_missing", "frozen_time")
    assert err.user_message == "Missing required param: frozen_time."

    product = await client.v1.products.create_async(params={"name": "Seat"})
    no_interval: dict[str, Any] = {
        "product": product.id,
        "currency": "usd",
        "unit_amount": 1000,
        "recurring": {"interval_count": 1},
    }
    err = await refused(client.v1.prices.create_async(params=no_interval))  # type: ignore[arg-type]
    assert (err.code, err.param) == ("parameter_missing", "recurring[interval]")


async def test_a_value_outside_an_enum_is_refused_with_the_allowed_values(
    client: stripe.StripeClient,
) -> None:
    seat = await price(client, 1000)
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 2)])
    item = sub_item(sub, seat.id)

    err = await refused(
        client.v1.subscriptions.update_async(
            sub.id,
            params={"items": [{"id": item.id, "quantity": 3}], "proration_behavior": "sometimes"},
        )
    )
    assert (err.code, err.param) == ("parameter_invalid_string", "proration_behavior")
    assert err.user_message == (
        "Invalid proration_behavior: must be one of always_invoice, create_prorations, or none"
    )

    err = await refused(
        client.v1.subscriptions.update_async(
            sub.id,
            params={"items": [{"id": item.id, "quantity": 3}], "payment_behavior": "whenever"},
        )
    )
    assert (err.code, err.param) == ("parameter_invalid_string", "payment_behavior")
    assert "pending_if_incomplete" in (err.user_message or "")

    product = await client.v1.products.create_async(params={"name": "Seat"})
    err = await refused(
        client.v1.prices.create_async(
            params={
                "product": product.id,
                "currency": "usd",
                "unit_amount": 1000,
                "recurring": {"interval": "fortnight"},
            }
        )
    )
    assert (err.code, err.param) == ("parameter_invalid_string", "recurring[interval]")
    assert (
        err.user_message == "Invalid recurring[interval]: must be one of day, month, week, or year"
    )
    # Nothing changed: the refused update left the seats at 2.
    assert sub_item(await client.v1.subscriptions.retrieve_async(sub.id), seat.id).quantity == 2


async def test_a_refused_request_does_not_use_up_its_idempotency_key(
    client: stripe.StripeClient,
) -> None:
    key = uuid.uuid4().hex
    bad: dict[str, Any] = {"name": "Seat", "colour": "blue"}
    await refused(client.v1.products.create_async(params=bad, options={"idempotency_key": key}))  # type: ignore[arg-type]
    product = await client.v1.products.create_async(
        params={"name": "Seat"}, options={"idempotency_key": key}
    )
    assert product.name == "Seat"


async def test_valid_calls_with_every_kind_of_param_still_work(
    client: stripe.StripeClient,
) -> None:
    # Tiers: a list of hashes whose up_to is an int or the keyword "inf".
    tiered = await price(
        client,
        None,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}],
        lookup_key=f"seat-{uuid.uuid4().hex[:8]}",
    )
    base = await price(client, 5000, name="Base")
    clock, customer = await clock_customer(client)
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "client_reference_id": "w1",
            "line_items": [{"price": base.id, "quantity": 1}, {"price": tiered.id, "quantity": 3}],
            "metadata": {"workspace_id": "w1"},
            "subscription_data": {"metadata": {"workspace_id": "w1"}},
            "success_url": "https://example.com/ok?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://example.com/cancel",
            "expand": ["line_items"],
        }
    )
    assert session.line_items is not None and len(session.line_items.data) == 2
    sub = await subscribe(client, customer, [(base.id, 1), (tiered.id, 3)])
    seat = sub_item(sub, tiered.id)
    updated = await client.v1.subscriptions.update_async(
        sub.id,
        params={
            "items": [{"id": seat.id, "quantity": 4, "metadata": {"seat": "true"}}],
            "proration_behavior": "create_prorations",
            "proration_date": APRIL_1 + DAY,
            "payment_behavior": "allow_incomplete",
            "metadata": {"workspace_id": "w1", "note": ""},
            "cancel_at": APRIL_1 + 20 * DAY,
            "expand": ["latest_invoice", "items.data.price.product"],
        },
    )
    assert sub_item(updated, tiered.id).quantity == 4
    assert updated.cancel_at == APRIL_1 + 20 * DAY
    kept = await client.v1.subscriptions.update_async(
        sub.id, params={"cancel_at": "", "metadata": ""}
    )
    assert kept.cancel_at is None
    preview = await client.v1.invoices.create_preview_async(
        params={
            "customer": customer.id,
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": seat.id, "quantity": 6}],
                "proration_behavior": "always_invoice",
                "proration_date": APRIL_1 + 2 * DAY,
            },
        }
    )
    assert preview.object == "invoice"
    events = await client.v1.events.list_async(
        params={"types": ["customer.subscription.updated"], "created": {"gte": 0}, "limit": 3}
    )
    assert events.data
    listed = await client.v1.prices.list_async(
        params={"lookup_keys": [str(tiered.lookup_key)], "expand": ["data.tiers"]}
    )
    assert [p.id for p in listed.data] == [tiered.id]
    await client.v1.test_helpers.test_clocks.advance_async(
        clock.id, params={"frozen_time": APRIL_1 + DAY}
    )


# ---- the table covers the router, and every entry is that SDK method's own Params ----------


def sdk_methods() -> dict[tuple[str, str], tuple[str, str]]:
    """(HTTP method, path) -> (module, class) of the params argument, read from the SDK's services."""
    root = Path(stripe.__file__).parent
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for source in root.rglob("*_service.py"):
        tree = ast.parse(source.read_text())
        imported = {
            alias.asname or alias.name: node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            for alias in node.names
        }
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            annotation = next(
                (
                    ast.unparse(a.annotation)
                    for a in fn.args.args
                    if a.arg == "params" and a.annotation
                ),
                None,
            )
            names = re.findall(r"\w+Params\b", annotation or "")
            if not names:
                continue
            name = names[0]
            for call in ast.walk(fn):
                if not (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "_request"
                    and len(call.args) >= 2
                    and isinstance(call.args[0], ast.Constant)
                ):
                    continue
                target = call.args[1]
                if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute):
                    target = target.func.value
                if isinstance(target, ast.Constant):
                    key = contract.route_key(str(call.args[0].value), str(target.value))
                    found[key] = (imported[name], name)
    return found


def test_every_mapping_entry_is_the_sdk_methods_own_params_class() -> None:
    methods = sdk_methods()
    assert len(methods) > 500
    for (verb, pattern), cls in contract.PARAMS.items():
        key = contract.route_key(verb, pattern)
        assert key in methods, f"{verb} {pattern} is not a method of the stripe SDK"
        module, name = methods[key]
        assert isinstance(cls, type)
        assert (cls.__module__, cls.__name__) == (module, name), f"{verb} {pattern}"


def test_every_served_v1_route_is_checked_or_listed_as_an_exception() -> None:
    unlisted = [
        f"{route.method} {route.pattern}"
        for route in build_router().routes()
        if route.pattern.startswith("/v1/")
        and contract.params_class(route.method, route.pattern) is None
        and not contract.is_unchecked(route.method, route.pattern)
    ]
    assert unlisted == []
    # An exception is never also a Stripe method (then it must be checked).
    methods = sdk_methods()
    for verb, pattern in contract.UNCHECKED:
        assert contract.route_key(verb, pattern) not in methods
