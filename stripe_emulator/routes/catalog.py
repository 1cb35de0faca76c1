"""/v1/products and /v1/prices (lookup keys, tiers)."""

from __future__ import annotations

from typing import Any

from stripe_emulator import objects
from stripe_emulator.events import emit, emit_update
from stripe_emulator.money import check_tiers
from stripe_emulator.protocol import (
    Obj,
    StripeError,
    get_bool,
    get_dict,
    get_int,
    get_list,
    get_str,
    invalid,
    merge_metadata,
    missing,
    paginate,
    req_str,
)
from stripe_emulator.routes.core import EXPANDERS, Ctx, Router
from stripe_emulator.store import State

INTERVALS = ("day", "week", "month", "year")


def create_product(ctx: Ctx) -> Obj:
    p = ctx.params
    prod = objects.product(
        ctx.state.real_now(),
        name=req_str(p, "name"),
        metadata=merge_metadata({}, p.get("metadata")),
        active=get_bool(p, "active") is not False,
        description=get_str(p, "description"),
    )
    if get_str(p, "id"):
        prod["id"] = req_str(p, "id")
    ctx.state.add(prod)
    emit(ctx.state, "product.created", prod)
    return objects.render(ctx.state, prod)


def update_product(ctx: Ctx) -> Obj:
    prod = ctx.state.get(ctx.arg, "product")
    before = objects.snapshot(ctx.state, prod)
    p = ctx.params
    for field in ("name", "description", "default_price"):
        if field in p:
            prod[field] = objects.value_or_none(p[field])
    active = get_bool(p, "active")
    if active is not None:
        prod["active"] = active
    if "metadata" in p:
        prod["metadata"] = merge_metadata(prod["metadata"], p["metadata"])
    prod["updated"] = ctx.state.real_now()
    emit_update(ctx.state, "product.updated", prod, before)
    return objects.render(ctx.state, prod)


def list_products(ctx: Ctx) -> Obj:
    found = ctx.state.all("product")
    active = get_bool(ctx.params, "active")
    if active is not None:
        found = [x for x in found if x["active"] == active]
    return paginate(found, ctx.params, "/v1/products", lambda o: objects.render(ctx.state, o))


def _tiers(p: Obj) -> list[Obj]:
    tiers: list[Obj] = []
    for i, raw in enumerate(get_list(p, "tiers")):
        if not isinstance(raw, dict):
            raise invalid(f"tiers[{i}]", "Invalid hash")
        up_raw = raw.get("up_to")
        if up_raw in (None, ""):
            raise missing(f"tiers[{i}][up_to]")
        up_to = None if up_raw == "inf" else get_int(raw, "up_to", label=f"tiers[{i}][up_to]")
        tiers.append(
            {
                "up_to": up_to,
                "unit_amount": get_int(raw, "unit_amount", label=f"tiers[{i}][unit_amount]") or 0,
                "flat_amount": get_int(raw, "flat_amount", label=f"tiers[{i}][flat_amount]") or 0,
            }
        )
    try:
        check_tiers(tiers)
    except ValueError as exc:
        raise invalid("tiers", f"Invalid tiers: {exc}") from None
    return tiers


def _claim_lookup_key(state: State, key: str, transfer: bool) -> None:
    for other in state.all("price"):
        if other["lookup_key"] == key:
            if not transfer:
                raise StripeError(
                    400,
                    f"A price ({other['id']}) already uses that lookup key.",
                    param="lookup_key",
                )
            # transfer_lookup_key: the key moves, the old price keeps no lookup key
            before = objects.snapshot(state, other)
            other["lookup_key"] = None
            emit_update(state, "price.updated", other, before)


def create_price(ctx: Ctx) -> Obj:
    p = ctx.params
    state = ctx.state
    now = state.real_now()
    product_id = get_str(p, "product")
    if product_id:
        state.get(product_id, "product", "product")
    else:
        data = get_dict(p, "product_data")
        if not data:
            raise missing("product")
        prod = objects.product(
            now,
            name=req_str(data, "name"),
            metadata=merge_metadata({}, data.get("metadata")),
            active=True,
            description=None,
        )
        state.add(prod)
        emit(state, "product.created", prod)
        product_id = prod["id"]
    currency = req_str(p, "currency").lower()
    scheme = get_str(p, "billing_scheme") or "per_unit"
    fields: Obj = {
        "product": product_id,
        "currency": currency,
        "billing_scheme": scheme,
        "created": now,
    }
    if scheme == "tiered":
        mode = get_str(p, "tiers_mode")
        if mode not in ("graduated", "volume"):
            raise missing("tiers_mode")
        fields["tiers_mode"] = mode
        fields["_tiers"] = _tiers(p)
    elif scheme == "per_unit":
        amount = get_int(p, "unit_amount")
        if amount is None:
            raw = get_str(p, "unit_amount_decimal")
            if raw is None:
                raise missing("unit_amount")
            amount = int(raw)
        if amount < 0:
            raise invalid("unit_amount", "Invalid unit_amount: must be non-negative")
        fields["unit_amount"] = amount
        fields["unit_amount_decimal"] = str(amount)
    else:
        raise invalid("billing_scheme", "Invalid billing_scheme: must be one of per_unit, tiered")
    recurring = get_dict(p, "recurring")
    if recurring:
        interval = get_str(recurring, "interval")
        if interval not in INTERVALS:
            raise invalid(
                "recurring[interval]",
                f"Invalid recurring[interval]: must be one of {', '.join(INTERVALS)}",
            )
        fields["recurring"] = {
            "interval": interval,
            "interval_count": get_int(
                recurring, "interval_count", label="recurring[interval_count]"
            )
            or 1,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
        fields["type"] = "recurring"
    for key in ("nickname",):
        if get_str(p, key):
            fields[key] = get_str(p, key)
    fields["metadata"] = merge_metadata({}, p.get("metadata"))
    fields["active"] = get_bool(p, "active") is not False
    lookup_key = get_str(p, "lookup_key")
    if lookup_key:
        _claim_lookup_key(state, lookup_key, bool(get_bool(p, "transfer_lookup_key")))
        fields["lookup_key"] = lookup_key
    price = objects.price(now, fields)
    state.add(price)
    emit(state, "price.created", price)
    return objects.render(state, price)


def update_price(ctx: Ctx) -> Obj:
    price = ctx.state.get(ctx.arg, "price")
    before = objects.snapshot(ctx.state, price)
    p = ctx.params
    active = get_bool(p, "active")
    if active is not None:
        price["active"] = active
    if "metadata" in p:
        price["metadata"] = merge_metadata(price["metadata"], p["metadata"])
    if "nickname" in p:
        price["nickname"] = objects.value_or_none(p["nickname"])
    if "lookup_key" in p:
        key = get_str(p, "lookup_key")
        if key and key != price["lookup_key"]:
            _claim_lookup_key(ctx.state, key, bool(get_bool(p, "transfer_lookup_key")))
        price["lookup_key"] = key
    emit_update(ctx.state, "price.updated", price, before)
    return objects.render(ctx.state, price)


def list_prices(ctx: Ctx) -> Obj:
    p = ctx.params
    found = ctx.state.all("price")
    active = get_bool(p, "active")
    if active is not None:
        found = [x for x in found if x["active"] == active]
    product = get_str(p, "product")
    if product:
        found = [x for x in found if x["product"] == product]
    kind = get_str(p, "type")
    if kind:
        found = [x for x in found if x["type"] == kind]
    keys: list[Any] = get_list(p, "lookup_keys")
    if keys:
        found = [x for x in found if x["lookup_key"] in keys]
    currency = get_str(p, "currency")
    if currency:
        found = [x for x in found if x["currency"] == currency]
    return paginate(found, p, "/v1/prices", lambda o: objects.render(ctx.state, o))


def register(r: Router) -> None:
    r.add("POST", "/v1/products", create_product)
    r.add("GET", "/v1/products", list_products)
    r.retrieve("/v1/products/{id}", "product")
    r.add("POST", "/v1/products/{id}", update_product)
    r.add("POST", "/v1/prices", create_price)
    r.add("GET", "/v1/prices", list_prices)
    r.retrieve("/v1/prices/{id}", "price")
    r.add("POST", "/v1/prices/{id}", update_price)
    # Stripe includes a price's tiers only when asked: expand[]=tiers (or data.tiers).
    EXPANDERS[("price", "tiers")] = lambda state, price: objects.tiers_public(price)
