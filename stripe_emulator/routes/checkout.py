"""/v1/checkout/sessions and the test helper that completes one."""

from __future__ import annotations

from stripe_emulator import billing, objects, payment_methods
from stripe_emulator.events import emit
from stripe_emulator.money import amount_for
from stripe_emulator.protocol import (
    Obj,
    StripeError,
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
from stripe_emulator.store import RequestInfo, State, new_id

DAY = 86400  # a session expires 24 hours after creation unless expires_at says otherwise
MIN_LIFETIME = 30 * 60


def expire_session(state: State, cs: Obj) -> None:
    cs["status"] = "expired"
    cs["url"] = None
    emit(state, "checkout.session.expired", cs)


def expire_if_due(state: State, cs: Obj) -> Obj:
    """An open session past its ``expires_at`` (customer's clock, else real time) expires."""
    if cs["status"] == "open" and state.customer_now(cs["customer"]) >= int(cs["expires_at"]):
        request = state.request
        state.request = RequestInfo()  # Stripe expires it on its own: no request caused it
        try:
            expire_session(state, cs)
        finally:
            state.request = request
    return cs


def _get(ctx: Ctx) -> Obj:
    return expire_if_due(ctx.state, ctx.state.get(ctx.arg, "checkout.session"))


def _session(now: int, fields: Obj) -> Obj:
    cs: Obj = {
        "id": new_id("cs_test_", 58),
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": None,
        "amount_total": None,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": None,
        "client_reference_id": None,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_account": None,
        "customer_creation": None,
        "customer_details": None,
        "customer_email": None,
        "discounts": [],
        "expires_at": now + DAY,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": None,
        "metadata": {},
        "mode": "subscription",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page",  # renamed from "hosted" in 2026-03-25.dahlia
        "url": None,
        "wallet_options": None,
    }
    cs.update(fields)
    return cs


def line_items_of(state: State, cs: Obj) -> Obj:
    data = []
    for entry in cs["_line_items"]:
        price = state.objects[entry["price"]]
        amount = amount_for(price, entry["quantity"])
        prod = state.objects.get(str(price["product"]))
        data.append(
            {
                "id": entry["id"],
                "object": "item",
                "adjustable_quantity": None,
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": price["currency"],
                "description": prod["name"] if prod else price["id"],
                "metadata": {},
                "price": objects.render(state, price),
                "quantity": entry["quantity"],
            }
        )
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "url": f"/v1/checkout/sessions/{cs['id']}/line_items",
    }


def create(ctx: Ctx) -> Obj:
    state, p = ctx.state, ctx.params
    mode = get_str(p, "mode")
    if mode is None:
        raise missing("mode")
    if mode != "subscription":
        raise invalid("mode", "The emulator supports mode=subscription only.")
    customer_id = get_str(p, "customer")
    if customer_id:
        state.get(customer_id, "customer", "customer")
    entries = get_list(p, "line_items")
    if not entries:
        raise missing("line_items")
    lines = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise invalid(f"line_items[{i}]", "Invalid hash")
        if not entry.get("price"):
            raise missing(f"line_items[{i}][price]")
        price = state.get(str(entry["price"]), "price", f"line_items[{i}][price]")
        if price["type"] != "recurring":
            raise invalid(
                f"line_items[{i}][price]",
                "In subscription mode, you must provide at least one recurring price.",
            )
        if not price["active"]:
            raise invalid(f"line_items[{i}][price]", f"The price `{price['id']}` is not active.")
        qty = get_int(entry, "quantity", label=f"line_items[{i}][quantity]")
        lines.append(
            {"id": new_id("li_"), "price": price["id"], "quantity": 1 if qty is None else qty}
        )
    specs = [billing.ItemSpec("", state.objects[e["price"]], e["quantity"]) for e in lines]
    billing.check_items(specs, "line_items")
    success = req_str(p, "success_url")
    now = ctx.now(customer_id)
    expires_at = get_int(p, "expires_at")
    if expires_at is not None and not now + MIN_LIFETIME <= expires_at <= now + DAY:
        raise invalid(
            "expires_at",
            "The `expires_at` timestamp must be between 30 minutes and 24 hours after the "
            "Checkout Session is created.",
        )
    sub_data = get_dict(p, "subscription_data")
    # A trial is checked now (its days run from completion); nothing is due today
    # (https://docs.stripe.com/payments/checkout/free-trials).
    trial_days = get_int(
        sub_data, "trial_period_days", label="subscription_data[trial_period_days]"
    )
    trial_end = get_int(sub_data, "trial_end", label="subscription_data[trial_end]")
    billing.trial_end_of(now, trial_days, trial_end, "subscription_data")
    missing_pm = billing.missing_payment_method_of(
        get_dict(sub_data, "trial_settings"), "subscription_data"
    )
    trial = trial_days is not None or trial_end is not None
    collection = get_str(p, "payment_method_collection") or "always"
    if collection not in ("always", "if_required"):
        raise invalid(
            "payment_method_collection",
            "Invalid payment_method_collection: must be one of always or if_required",
        )
    total = 0 if trial else sum(amount_for(s.price, s.quantity) for s in specs)
    cs = _session(
        now,
        {
            "cancel_url": get_str(p, "cancel_url"),
            "client_reference_id": get_str(p, "client_reference_id"),
            "customer": customer_id,
            "customer_email": get_str(p, "customer_email"),
            "metadata": merge_metadata({}, p.get("metadata")),
            "success_url": success,
            "currency": specs[0].price["currency"],
            "amount_subtotal": total,
            "amount_total": total,
            "customer_creation": None if customer_id else "always",
            "expires_at": now + DAY if expires_at is None else expires_at,
            "_line_items": lines,
            "_subscription_metadata": merge_metadata({}, sub_data.get("metadata")),
            "_trial": {"days": trial_days, "end": trial_end, "missing_payment_method": missing_pm},
            "payment_method_collection": collection,
        },
    )
    cs["url"] = f"{ctx.base_url}checkout/{cs['id']}"
    state.add(cs)
    return objects.render(state, cs)


def collects_card(cs: Obj) -> bool:
    """Whether the page asks for a card: always, unless ``payment_method_collection`` is
    ``if_required`` and nothing is due today (a free trial)."""
    return cs.get("payment_method_collection") != "if_required" or int(cs["amount_total"]) > 0


def complete(state: State, cs: Obj, token: str | None, email: str | None = None) -> Obj:
    """Pay an open session with a test card (``None``: no card, where the page asks for none):
    customer, subscription, first invoice, events."""
    expire_if_due(state, cs)
    if cs["status"] != "open":
        raise StripeError(
            400, f"This Checkout Session is no longer active (status: {cs['status']})."
        )
    if token is None and collects_card(cs):
        token = "pm_card_visa"
    if token is not None and token not in payment_methods.TOKENS:
        raise invalid("payment_method", f"No such PaymentMethod: '{token}'")
    if cs["customer"]:
        cust = state.get(cs["customer"], "customer")
    else:
        now = state.real_now()
        cust = objects.customer(
            now,
            email=email or cs["customer_email"] or "customer@example.com",
            name=None,
            metadata={},
            clock=None,
        )
        state.add(cust)
        cs["customer"] = cust["id"]
        emit(state, "customer.created", cust)
    # The card entered on the page is saved to the customer and becomes the subscription's
    # default_payment_method (not the customer's invoice_settings default), as Checkout does.
    pm = payment_methods.attach_token(state, cust, token, check=False) if token else None
    now = state.customer_now(cust["id"])
    specs = [
        billing.ItemSpec(new_id("si_", 14), state.objects[e["price"]], e["quantity"], {}, True)
        for e in cs["_line_items"]
    ]
    trial = cs.get("_trial") or {}
    sub, inv = billing.start_subscription(
        state,
        cust,
        specs,
        dict(cs["_subscription_metadata"]),
        now,
        default_payment_method=pm["id"] if pm else None,
        on_session=True,
        trial_end=billing.trial_end_of(now, trial.get("days"), trial.get("end")),
        missing_payment_method=trial.get("missing_payment_method") or "create_invoice",
    )
    cs["subscription"] = sub["id"]
    cs["invoice"] = inv["id"]
    cs["status"] = "complete"
    cs["payment_status"] = "paid" if inv["status"] == "paid" else "unpaid"
    cs["customer_details"] = {
        "address": None,
        "business_name": None,
        "email": cust["email"],
        "individual_name": None,
        "name": cust["name"],
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }
    emit(state, "checkout.session.completed", cs)
    return cs


def success_redirect(cs: Obj) -> str:
    return str(cs["success_url"]).replace("{CHECKOUT_SESSION_ID}", cs["id"])


def complete_helper(ctx: Ctx) -> Obj:
    cs = _get(ctx)
    token = get_str(ctx.params, "payment_method")
    return objects.render(ctx.state, complete(ctx.state, cs, token, get_str(ctx.params, "email")))


def expire(ctx: Ctx) -> Obj:
    cs = _get(ctx)
    if cs["status"] != "open":
        raise StripeError(
            400,
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f"Session has a status of `{cs['status']}`.",
        )
    expire_session(ctx.state, cs)
    return objects.render(ctx.state, cs)


def list_(ctx: Ctx) -> Obj:
    found = [expire_if_due(ctx.state, x) for x in ctx.state.all("checkout.session")]
    for key in ("customer", "subscription", "status"):
        value = get_str(ctx.params, key)
        if value:
            found = [x for x in found if x[key] == value]
    return paginate(
        found, ctx.params, "/v1/checkout/sessions", lambda o: objects.render(ctx.state, o)
    )


def register(r: Router) -> None:
    r.add("POST", "/v1/checkout/sessions", create)
    r.add("GET", "/v1/checkout/sessions", list_)
    r.add(
        "GET",
        "/v1/checkout/sessions/{id}",
        lambda c: objects.render(c.state, _get(c)),
    )
    r.add("POST", "/v1/checkout/sessions/{id}/expire", expire)
    r.add(
        "GET",
        "/v1/checkout/sessions/{id}/line_items",
        lambda c: paginate(
            line_items_of(c.state, c.state.get(c.arg, "checkout.session"))["data"],
            c.params,
            f"/v1/checkout/sessions/{c.arg}/line_items",
        ),
    )
    r.add("POST", "/v1/test_helpers/checkout/sessions/{id}/complete", complete_helper)
    EXPANDERS[("checkout.session", "line_items")] = line_items_of
