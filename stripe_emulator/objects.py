"""Builders for Stripe-shaped objects (field layout as in fixtures3.json) and rendering."""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator.protocol import Obj
from stripe_emulator.store import State, new_id, strip_private

__all__ = ["strip_private"]


def customer(
    now: int, *, email: str | None, name: str | None, metadata: Obj, clock: str | None
) -> Obj:
    return {
        "id": new_id("cus_", 14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": now,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "invoice_prefix": new_id("", 8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": clock,
    }


def product(now: int, *, name: str, metadata: Obj, active: bool, description: str | None) -> Obj:
    return {
        "id": new_id("prod_", 14),
        "object": "product",
        "active": active,
        "created": now,
        "default_price": None,
        "description": description,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": metadata,
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": now,
        "url": None,
    }


def price(now: int, fields: Obj) -> Obj:
    base: Obj = {
        "id": new_id("price_"),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": now,
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": None,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": None,
        "unit_amount_decimal": None,
        "_tiers": [],
    }
    base.update(fields)
    return base


def plan_from_price(p: Obj) -> Obj:
    recurring = p.get("recurring") or {}
    return {
        "id": p["id"],
        "object": "plan",
        "active": p["active"],
        "amount": p["unit_amount"],
        "amount_decimal": p["unit_amount_decimal"],
        "billing_scheme": p["billing_scheme"],
        "created": p["created"],
        "currency": p["currency"],
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count"),
        "livemode": False,
        "metadata": p["metadata"],
        "meter": None,
        "nickname": p["nickname"],
        "product": p["product"],
        "tiers_mode": p["tiers_mode"],
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def tiers_public(p: Obj) -> list[Obj]:
    out = []
    for tier in p.get("_tiers", []):
        out.append(
            {
                "flat_amount": tier["flat_amount"],
                "flat_amount_decimal": str(tier["flat_amount"]),
                "unit_amount": tier["unit_amount"],
                "unit_amount_decimal": str(tier["unit_amount"]),
                "up_to": tier["up_to"],
            }
        )
    return out


def subscription_item(
    now: int, *, sub_id: str, price_id: str, quantity: int, metadata: Obj, start: int, end: int
) -> Obj:
    return {
        "id": new_id("si_", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": now,
        "current_period_end": end,
        "current_period_start": start,
        "discounts": [],
        "metadata": metadata,
        "price": price_id,
        "quantity": quantity,
        "subscription": sub_id,
        "tax_rates": [],
    }


def subscription(
    now: int, *, customer_id: str, currency: str, metadata: Obj, clock: str | None
) -> Obj:
    return {
        "id": new_id("sub_"),
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"type": "classic"},
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "_item_ids": [],
        "latest_invoice": None,
        "livemode": False,
        "metadata": metadata,
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "incomplete",
        "test_clock": clock,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }


def invoice(
    now: int, *, cust: Obj, sub: Obj | None, reason: str, period_start: int, period_end: int
) -> Obj:
    parent: Obj | None = None
    if sub is not None:
        parent = {
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(sub["metadata"]),
                "subscription": sub["id"],
            },
            "type": "subscription_details",
        }
    return {
        "id": new_id("in_"),
        "object": "invoice",
        "account_country": "US",
        "account_name": "Seatbill (emulated)",
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": reason,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": sub["currency"] if sub else "usd",
        "custom_fields": None,
        "customer": cust["id"],
        "customer_account": None,
        "customer_address": None,
        "customer_email": cust.get("email"),
        "customer_name": cust.get("name"),
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {"object": "list", "data": [], "has_more": False, "url": ""},
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": parent,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": cust.get("test_clock"),
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def price_details(p: Obj) -> Obj:
    return {
        "price_details": {"price": p["id"], "product": p["product"]},
        "type": "price_details",
        "unit_amount_decimal": p.get("unit_amount_decimal"),
    }


def invoiceitem(
    now: int,
    *,
    customer_id: str,
    amount: int,
    currency: str,
    description: str,
    period: Obj,
    proration: bool,
    quantity: int,
    p: Obj | None,
    sub_id: str | None,
    si_id: str | None,
    clock: str | None,
    metadata: Obj | None = None,
) -> Obj:
    return {
        "id": new_id("ii_"),
        "object": "invoiceitem",
        "amount": amount,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "date": now,
        "description": description,
        "discountable": not proration,
        "discounts": [],
        "invoice": None,
        "livemode": False,
        "metadata": metadata or {},
        "net_amount": amount,
        "parent": (
            {"subscription_details": {"subscription": sub_id}, "type": "subscription_details"}
            if sub_id
            else None
        ),
        "period": period,
        "pricing": price_details(p) if p else None,
        "proration": proration,
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": [],
        "test_clock": clock,
        "_subscription_item": si_id,
    }


def line_item(
    *,
    invoice_id: str,
    amount: int,
    currency: str,
    description: str,
    period: Obj,
    quantity: int,
    p: Obj | None,
    sub_id: str | None,
    si_id: str | None,
    ii_id: str | None,
    proration: bool,
    metadata: Obj | None = None,
    temporary: bool = False,
) -> Obj:
    if si_id is not None:
        parent: Obj = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": ii_id,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": sub_id,
                "subscription_item": si_id,
            },
            "type": "subscription_item_details",
        }
    else:
        parent = {
            "invoice_item_details": {
                "invoice_item": ii_id,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": sub_id,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    return {
        "id": new_id("il_tmp_" if temporary else "il_"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": not proration,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": metadata or {},
        "parent": parent,
        "period": period,
        "pretax_credit_amounts": [],
        "pricing": price_details(p) if p else None,
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": sub_id,
        "subtotal": amount,
        "taxes": [],
    }


def payment_intent(
    now: int, *, amount: int, currency: str, customer_id: str, pm_id: str | None
) -> Obj:
    """A card payment that succeeded at once (what paying an invoice off-session records)."""
    pi_id = new_id("pi_")
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": None,
        "amount_received": amount,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{pi_id}_secret_{new_id('', 25)}",
        "confirmation_method": "automatic",
        "created": now,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": pm_id,
        "payment_method_configuration_details": None,
        "payment_method_options": None,
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
        "_refunded": 0,
    }


def invoice_payment(now: int, *, inv: Obj, pi: Obj) -> Obj:
    """The link between an invoice and the PaymentIntent that paid it (``is_default``)."""
    return {
        "id": new_id("inpay_"),
        "object": "invoice_payment",
        "amount_paid": pi["amount_received"],
        "amount_requested": pi["amount"],
        "created": now,
        "currency": pi["currency"],
        "invoice": inv["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"payment_intent": pi["id"], "type": "payment_intent"},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": now},
    }


def refund(now: int, *, pi: Obj, amount: int, reason: str | None, metadata: Obj) -> Obj:
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": None,
        "created": now,
        "currency": pi["currency"],
        "customer": pi["customer"],
        "customer_account": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": metadata,
        "payment_intent": pi["id"],
        "payment_method": pi["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def event(
    now: int,
    *,
    type_: str,
    data_object: Obj,
    previous: Obj | None,
    api_version: str,
    request_id: str | None,
    idempotency_key: str | None,
) -> Obj:
    data: Obj = {"object": data_object}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": api_version,
        "created": now,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type_,
    }


# ---- rendering ----------------------------------------------------------------

# Lists embedded in an object (invoice ``lines``, subscription ``items``) hold the first page
# only, as Stripe's do: 10 entries (the list default), ``has_more`` and the ``url`` to page on.
EMBEDDED_LIMIT = 10


def embedded_list(data: list[Obj], url: str) -> Obj:
    return {
        "object": "list",
        "data": data[:EMBEDDED_LIMIT],
        "has_more": len(data) > EMBEDDED_LIMIT,
        "url": url,
    }


def render_invoice(inv: Obj) -> Obj:
    out: Obj = strip_private(inv)
    out["lines"] = embedded_list(out["lines"]["data"], out["lines"]["url"])
    return out


def render_price(state: State, p: Obj) -> Obj:
    out: Obj = strip_private(p)
    return out


def render_item(state: State, item: Obj) -> Obj:
    out: Obj = strip_private(item)
    p = state.objects[item["price"]]
    out["price"] = render_price(state, p)
    out["plan"] = plan_from_price(p)
    return out


def render_subscription(state: State, sub: Obj) -> Obj:
    out: Obj = strip_private(sub)
    ids = sub["_item_ids"][:EMBEDDED_LIMIT]
    out["items"] = embedded_list(
        [render_item(state, state.objects[i]) for i in ids],
        f"/v1/subscription_items?subscription={sub['id']}",
    )
    out["items"]["has_more"] = len(sub["_item_ids"]) > EMBEDDED_LIMIT
    return out


def render(state: State, obj: Obj) -> Obj:
    """The public JSON of a stored object (embedded children filled in, private keys dropped)."""
    if obj.get("_deleted"):
        return {"id": obj["id"], "object": obj["object"], "deleted": True}
    kind = obj.get("object")
    if kind == "subscription":
        return render_subscription(state, obj)
    if kind == "subscription_item":
        return render_item(state, obj)
    if kind == "invoice":
        return render_invoice(obj)
    out: Obj = strip_private(obj)
    return out


def snapshot(state: State, obj: Obj) -> Obj:
    return copy.deepcopy(render(state, obj))


def diff(before: Obj, after: Obj) -> Obj:
    """Stripe's ``previous_attributes``: old values of the top-level fields that changed."""
    return {k: v for k, v in before.items() if after.get(k) != v}


def value_or_none(value: Any) -> Any:
    return None if value == "" else value
