"""Every field the emulator returns exists in Stripe's fixtures3.json and in the SDK's classes."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import typing
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

import stripe
from stripe._list_object import ListObject
from stripe._object_classes import get_object_class
from stripe._stripe_object import StripeObject, UntypedStripeObject

from tests.emulator.helpers import (
    APRIL_1,
    DAY,
    advance,
    clock_customer,
    complete,
    price,
    sub_item,
    subscribe,
)

# Fields Stripe returns that the fixture file leaves out (documented in the API reference):
# tiers only with expand[]=tiers, a webhook endpoint's secret only on creation, and the
# price a line / invoice item is for, a session's line_items only when expanded, and an
# update event's previous_attributes.
NOT_IN_FIXTURE = {
    "checkout.session:line_items",
    "event:data.previous_attributes",
    "price:tiers",
    "webhook_endpoint:secret",
    "line_item:pricing.price_details",
    "invoiceitem:pricing.price_details",
    # the PaymentIntent an invoice payment of type payment_intent names
    # (https://docs.stripe.com/api/invoice-payment/object#invoice_payment_object-payment-payment_intent)
    "invoice_payment:payment.payment_intent",
    # only when expanded; the client secret of the invoice's PaymentIntent
    # (https://docs.stripe.com/api/invoices/object#invoice_object-confirmation_secret)
    "invoice:confirmation_secret",
    # what Stripe.js needs for 3D Secure
    # (https://docs.stripe.com/api/payment_intents/object#payment_intent_object-next_action-use_stripe_sdk)
    "payment_intent:next_action.use_stripe_sdk",
    "setup_intent:next_action.use_stripe_sdk",
}
FREE_FORM = {"metadata", "previous_attributes", "status_details"}


def walk(
    value: Any, fixtures: dict[str, Any], ref: Any, kind: str, path: str, errors: list[str]
) -> None:
    if isinstance(value, list):
        ref_item = ref[0] if isinstance(ref, list) and ref else None
        for entry in value:
            walk(entry, fixtures, ref_item, kind, path, errors)
        return
    if not isinstance(value, dict):
        return
    obj_kind = value.get("object")
    if obj_kind == "list":
        assert set(value) <= {"object", "data", "has_more", "url"}, path
        ref_data = ref.get("data") if isinstance(ref, dict) else None
        walk(value["data"], fixtures, ref_data, kind, f"{path}.data" if path else "data", errors)
        return
    if isinstance(obj_kind, str) and (obj_kind in fixtures or f"deleted_{obj_kind}" in fixtures):
        if value.get("deleted"):
            ref, kind, path = fixtures[f"deleted_{obj_kind}"], obj_kind, ""
        else:
            ref, kind, path = fixtures[obj_kind], obj_kind, ""
    if not isinstance(ref, dict):
        return
    for key, child in value.items():
        where = f"{path}.{key}" if path else key
        if key not in ref:
            if f"{kind}:{where}" not in NOT_IN_FIXTURE:
                errors.append(f"{kind}:{where}")
            continue
        if key in FREE_FORM:
            continue
        walk(child, fixtures, ref[key], kind, where, errors)


async def everything(client: stripe.StripeClient) -> list[Any]:
    """Every kind of object the emulator returns, as JSON, from one story through the SDK."""
    seen: list[Any] = []

    def keep(obj: Any) -> Any:
        # The JSON as sent (the SDK's to_dict() has already decoded e.g. decimals).
        response = getattr(obj, "last_response", None)
        seen.append(response.data if response is not None else obj.to_dict())
        return obj

    clock, customer = await clock_customer(client)
    keep(clock)
    keep(customer)
    base = keep(await price(client, 5000, name="Base"))
    seat = keep(await price(client, 1000, name="Seat"))
    keep(await client.v1.products.retrieve_async(str(seat.product)))
    keep(
        await price(
            client,
            None,
            billing_scheme="tiered",
            tiers_mode="volume",
            tiers=[
                {"up_to": 3, "unit_amount": 100},
                {"up_to": "inf", "unit_amount": 50, "flat_amount": 9},
            ],
        )
    )
    keep(await client.v1.prices.list_async(params={"expand": ["data.tiers"], "limit": 3}))
    hook = keep(
        await client.v1.webhook_endpoints.create_async(
            params={"url": "http://127.0.0.1:9/x", "enabled_events": ["*"]}
        )
    )
    keep(await client.v1.webhook_endpoints.delete_async(hook.id))
    session = keep(
        await client.v1.checkout.sessions.create_async(
            params={
                "mode": "subscription",
                "customer": customer.id,
                "client_reference_id": "w1",
                "line_items": [
                    {"price": base.id, "quantity": 1},
                    {"price": seat.id, "quantity": 3},
                ],
                "success_url": "https://example.com/s",
                "cancel_url": "https://example.com/c",
            }
        )
    )
    keep(
        await client.v1.checkout.sessions.retrieve_async(
            session.id, params={"expand": ["line_items"]}
        )
    )
    keep(await complete(client, session.id, "pm_card_visa"))
    sub = keep(
        await client.v1.subscriptions.retrieve_async(
            str((await client.v1.checkout.sessions.retrieve_async(session.id)).subscription),
            params={"expand": ["latest_invoice", "customer"]},
        )
    )
    keep(await client.v1.subscription_items.list_async(params={"subscription": sub.id}))
    inpays = keep(
        await client.v1.invoice_payments.list_async(params={"invoice": sub.latest_invoice.id})
    )
    inpay = keep(await client.v1.invoice_payments.retrieve_async(inpays.data[0].id))
    intent = keep(await client.v1.payment_intents.retrieve_async(str(inpay.payment.payment_intent)))
    keep(
        await client.v1.refunds.create_async(
            params={"payment_intent": intent.id, "amount": 100, "reason": "duplicate"}
        )
    )
    keep(await client.v1.refunds.list_async(params={"payment_intent": intent.id}))
    await advance(client, clock.id, APRIL_1 + 5 * DAY)
    keep(
        await client.v1.subscription_items.update_async(
            sub_item(sub, seat.id).id, params={"quantity": 4}
        )
    )
    keep(await client.v1.invoice_items.list_async(params={"customer": customer.id}))
    keep(
        await client.v1.invoices.create_preview_async(
            params={"customer": customer.id, "subscription": sub.id}
        )
    )
    sched = keep(
        await client.v1.subscription_schedules.create_async(params={"from_subscription": sub.id})
    )
    keep(await client.v1.subscription_schedules.release_async(sched.id))
    config = keep(
        await client.v1.billing_portal.configurations.create_async(
            params={
                "features": {
                    "invoice_history": {"enabled": True},
                    "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
                },
                "metadata": {"k": "v"},
            }
        )
    )
    keep(
        await client.v1.billing_portal.sessions.create_async(
            params={
                "customer": customer.id,
                "return_url": "https://example.com",
                "configuration": config.id,
            }
        )
    )
    await advance(client, clock.id, APRIL_1 + 31 * DAY)
    invoices = keep(await client.v1.invoices.list_async(params={"customer": customer.id}))
    keep(await client.v1.invoices.line_items.list_async(invoices.data[0].id))
    other = await subscribe(client, customer, [(seat.id, 1)])
    keep(
        await client.v1.subscription_items.delete_async(
            sub_item(
                await client.v1.subscriptions.update_async(
                    other.id, params={"items": [{"price": base.id}]}
                ),
                seat.id,
            ).id
        )
    )
    keep(await client.v1.subscriptions.cancel_async(other.id))
    keep(
        await client.v1.subscriptions.create_async(
            params={
                "customer": customer.id,
                "items": [{"price": seat.id}],
                "trial_period_days": 7,
                "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
            }
        )
    )
    seti = keep(await client.v1.setup_intents.create_async(params={"customer": customer.id}))
    secure = keep(
        await client.v1.setup_intents.confirm_async(
            seti.id, params={"payment_method": "pm_card_threeDSecure2Required"}
        )
    )
    incomplete = keep(
        await client.v1.subscriptions.create_async(
            params={
                "customer": customer.id,
                "items": [{"price": base.id}],
                "payment_behavior": "default_incomplete",
                "expand": ["latest_invoice.confirmation_secret"],
            }
        )
    )
    pays = await client.v1.invoice_payments.list_async(
        params={"invoice": incomplete.latest_invoice.id}
    )
    keep(
        await client.v1.payment_intents.confirm_async(
            str(pays.data[0].payment.payment_intent),
            params={"payment_method": str(secure.payment_method)},
        )
    )
    keep(await client.v1.customers.delete_async(customer.id))
    keep(await client.v1.test_helpers.test_clocks.delete_async(clock.id))
    keep(await client.v1.events.list_async(params={"limit": 100}))
    return seen


async def test_every_field_is_in_the_fixture(
    client: stripe.StripeClient, fixtures: dict[str, Any]
) -> None:
    seen = await everything(client)
    errors: list[str] = []
    for obj in seen:
        walk(obj, fixtures, None, "", "", errors)
    assert sorted(set(errors)) == []
    kinds = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("object"), str):
                kinds.add(value["object"])
            for child in value.values():
                collect(child)
        elif isinstance(value, list):
            for child in value:
                collect(child)

    collect(seen)
    assert kinds >= {
        "customer",
        "product",
        "price",
        "plan",
        "checkout.session",
        "item",
        "subscription",
        "subscription_item",
        "subscription_schedule",
        "invoice",
        "line_item",
        "invoiceitem",
        "event",
        "webhook_endpoint",
        "test_helpers.test_clock",
        "billing_portal.session",
        "billing_portal.configuration",
        "invoice_payment",
        "payment_intent",
        "refund",
        "setup_intent",
    }


# ---- the SDK's resource classes ------------------------------------------------------------


@cache
def _names(module_name: str) -> dict[str, Any]:
    """A resource module's names, plus those it imports only for type checking."""
    module = sys.modules[module_name]
    names = dict(vars(module))
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stripe"):
            imported = importlib.import_module(node.module)
            for alias in node.names:
                names.setdefault(alias.asname or alias.name, getattr(imported, alias.name, None))
    return names


@cache
def sdk_fields(cls: type) -> dict[str, Any]:
    """JSON field -> annotation of a StripeObject class (``typing.get_type_hints``)."""
    names: dict[str, Any] = {}
    for base in reversed(cls.__mro__):  # the class's own module wins
        if base.__module__.startswith("stripe"):
            names.update(_names(base.__module__))
    hints = typing.get_type_hints(cls, globalns=names)
    remapped = {v: k for k, v in getattr(cls, "_field_remappings", {}).items()}
    return {
        remapped.get(name, name): tp
        for name, tp in hints.items()
        if not name.startswith("_") and get_origin(tp) is not ClassVar
    }


def _registered(value: Any) -> type | None:
    if isinstance(value, dict) and isinstance(value.get("object"), str):
        cls: type | None = get_object_class("V1", value["object"])
        return cls
    return None


def _open(tp: Any) -> bool:
    """Annotations that take any hash: Dict[...], Any, untyped or plain StripeObject."""
    origin = get_origin(tp) or tp
    return tp is Any or origin in (dict, UntypedStripeObject, StripeObject)


def _same_kind(tp: Any, value: Any) -> bool:
    """Whether ``value``'s JSON kind (null, hash, array, scalar) can fit branch ``tp`` at all."""
    origin = get_origin(tp) or tp
    if value is None:
        return tp is type(None) or tp is Any
    if isinstance(value, dict):
        return (
            _open(tp)
            or origin is ListObject
            or (isinstance(origin, type) and issubclass(origin, StripeObject))
        )
    if isinstance(value, list):
        return origin is list or tp is Any
    return origin in (str, int, float, bool, Decimal, Literal) or tp is Any


def fit(tp: Any, value: Any, path: str, errors: list[str]) -> None:
    """Record in ``errors`` where ``value`` (JSON) does not fit the SDK annotation ``tp``."""
    origin = get_origin(tp)
    if origin is Union:
        enum = [v for b in get_args(tp) if get_origin(b) is Literal for v in get_args(b)]
        if isinstance(value, str) and enum and str in get_args(tp):
            # Literal[...] | str: the SDK stays open to new values; the emulator has no new ones.
            if value not in enum:
                errors.append(f"{path}: {value!r} is not one of {enum}")
            return
        branches = [b for b in get_args(tp) if _same_kind(b, value)]
        tries: list[list[str]] = []
        for branch in branches:
            found: list[str] = []
            fit(branch, value, path, found)
            if not found:
                return
            tries.append(found)
        # Report the closest branch (a hash against a class says which field is wrong).
        errors.extend(min(tries, key=len) if tries else [f"{path}: {value!r} is not {tp}"])
        return
    if tp is type(None):
        if value is not None:
            errors.append(f"{path}: {value!r} is not None")
        return
    if origin is Literal:
        if value not in get_args(tp):
            errors.append(f"{path}: {value!r} is not one of {get_args(tp)}")
        return
    if tp is Decimal:  # sent as a decimal string (the SDK's "decimal_string" encoding)
        if not (isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value)):
            errors.append(f"{path}: {value!r} is not a decimal string")
        return
    if tp in (str, int, float, bool):
        ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        if tp is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            errors.append(f"{path}: {value!r} is not {tp.__name__}")
        return
    if origin is list:
        if not isinstance(value, list):
            errors.append(f"{path}: {value!r} is not a list")
            return
        for i, item in enumerate(value):
            fit(get_args(tp)[0], item, f"{path}[{i}]", errors)
        return
    if tp is ListObject or origin is ListObject:
        if not (isinstance(value, dict) and value.get("object") == "list"):
            errors.append(f"{path}: {value!r} is not a list object")
            return
        item_type = get_args(tp)[0] if get_args(tp) else StripeObject
        for i, item in enumerate(value.get("data", [])):
            fit(item_type, item, f"{path}.data[{i}]", errors)
        return
    if _open(tp):
        cls = _registered(value)
        if cls is not None:  # e.g. an event's data.object: check it as its own resource
            fit(cls, value, path, errors)
        return
    if isinstance(tp, type) and issubclass(tp, StripeObject):
        if not isinstance(value, dict):
            errors.append(f"{path}: {value!r} is not a {tp.__name__} hash")
            return
        fields = sdk_fields(tp)
        for key, child in value.items():
            where = f"{path}.{key}"
            if key not in fields:
                errors.append(f"{where}: not an attribute of {tp.__module__}.{tp.__qualname__}")
            else:
                fit(fields[key], child, where, errors)
        return
    if tp is Any:
        return
    errors.append(f"{path}: no rule for annotation {tp}")


async def test_every_field_is_an_attribute_of_the_sdk_class_and_fits_its_type(
    client: stripe.StripeClient,
) -> None:
    seen = await everything(client)
    errors: list[str] = []
    for obj in seen:
        cls = _registered(obj)
        assert cls is not None, obj
        fit(cls, obj, str(obj["object"]), errors)
    assert sorted(set(errors)) == []
