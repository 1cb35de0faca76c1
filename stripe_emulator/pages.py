"""Hosted pages: Checkout (pick a test card and pay) and the billing portal (seats, cancel)."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from stripe_emulator import billing
from stripe_emulator.app_state import Emulator
from stripe_emulator.money import amount_for, format_amount
from stripe_emulator.protocol import Obj, StripeError
from stripe_emulator.routes import checkout, portal
from stripe_emulator.routes.subscriptions import update_subscription
from stripe_emulator.store import RequestInfo, State, new_id

# Stripe's test cards (https://docs.stripe.com/testing). The card becomes the subscription's
# default payment method, so later invoices charge it too.
CARDS = (
    ("pm_card_visa", "Visa 4242 (every payment succeeds)"),
    ("pm_card_chargeDeclined", "Declined card 0002 (every payment is declined)"),
    ("pm_card_chargeCustomerFail", "Visa 0341 (saved, but every charge is declined)"),
    (
        "pm_card_threeDSecure2Required",
        "3D Secure card 3220 (you authenticate here; later off-session charges fail with "
        "authentication_required)",
    ),
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}"
        ".banner{background:#fde68a;padding:.5em}table{border-collapse:collapse}"
        "td,th{padding:.3em .8em;border-bottom:1px solid #ddd}</style></head><body>"
        "<p class='banner'>Stripe emulator &mdash; test mode, no real money moves.</p>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _emu(request: Request) -> Emulator:
    emu: Emulator = request.app.state.emulator
    return emu


def _lookup(state: State, ident: str, kind: str) -> Obj | None:
    obj = state.objects.get(ident)
    return obj if obj is not None and obj.get("object") == kind else None


async def checkout_page(request: Request) -> Response:
    emu = _emu(request)
    ident = request.path_params["id"]
    with emu.state.lock:
        cs = _lookup(emu.state, ident, "checkout.session")
        if cs is None:
            return _page("Checkout session not found", "<p>No such checkout session.</p>", 404)
        emu.state.request = RequestInfo()
        checkout.expire_if_due(emu.state, cs)
        if cs["status"] != "open":
            return _page("Checkout closed", f"<p>This session is {escape(cs['status'])}.</p>", 410)
        rows = []
        per_period = 0
        for entry in cs["_line_items"]:
            price = emu.state.objects[entry["price"]]
            prod = emu.state.objects.get(str(price["product"]))
            per_period += amount_for(price, entry["quantity"])
            amount = format_amount(amount_for(price, entry["quantity"]), price["currency"])
            name = escape(prod["name"] if prod else price["id"])
            rows.append(f"<tr><td>{name}</td><td>{entry['quantity']}</td><td>{amount}</td></tr>")
        currency = str(cs["currency"] or "usd")
        total = format_amount(per_period, currency)
        if per_period != int(cs["amount_total"] or 0):  # a free trial: nothing due today
            due = format_amount(int(cs["amount_total"] or 0), currency)
            rows.append(f"<tr><td>Free trial, due today</td><td></td><td id='due'>{due}</td></tr>")
        asks_card = checkout.collects_card(cs)
        email = cs["customer_email"] or ""
        if cs["customer"]:
            email = emu.state.objects[cs["customer"]].get("email") or email
    cards = "".join(
        f"<label><input type='radio' name='payment_method' value='{v}' {'checked' if i == 0 else ''}> "
        f"{escape(label)}</label><br>"
        for i, (v, label) in enumerate(CARDS)
    )
    cancel = (
        f"<a id='cancel' href='{escape(cs['cancel_url'])}'>Cancel</a>" if cs["cancel_url"] else ""
    )
    body = (
        f"<table><tr><th>Item</th><th>Qty</th><th>Amount</th></tr>{''.join(rows)}"
        f"<tr><th>Total per period</th><td></td><th id='total'>{total}</th></tr></table>"
        f"<form method='post' action='/checkout/{escape(ident)}'>"
        f"<p><label>Email <input name='email' type='email' value='{escape(email)}'></label></p>"
        f"{f'<fieldset><legend>Test card</legend>{cards}</fieldset>' if asks_card else ''}"
        f"<p><button id='pay' type='submit'>Subscribe</button> {cancel}</p></form>"
    )
    return _page("Checkout", body)


async def checkout_submit(request: Request) -> Response:
    emu = _emu(request)
    ident = request.path_params["id"]
    form = await request.form()
    token = str(form.get("payment_method") or "") or None
    email = str(form.get("email") or "") or None
    with emu.state.lock:
        cs = _lookup(emu.state, ident, "checkout.session")
        if cs is None:
            return _page("Checkout session not found", "<p>No such checkout session.</p>", 404)
        emu.state.request = RequestInfo()
        try:
            checkout.complete(emu.state, cs, token, email)
        except StripeError as err:
            return _page("Payment failed", f"<p>{escape(err.message)}</p>", 400)
        target = checkout.success_redirect(cs)
    return RedirectResponse(target, status_code=303)


def seat_item(state: State, sub: Obj) -> Obj:
    """The item the portal edits: one marked as seat in metadata, else the largest quantity."""
    items = [state.objects[i] for i in sub["_item_ids"]]
    for item in items:
        price = state.objects[item["price"]]
        marks = (
            item["metadata"].get("seat"),
            price["metadata"].get("seat"),
            price["metadata"].get("role"),
        )
        if any(str(m).lower() in ("true", "1", "yes", "seat") for m in marks if m is not None):
            return item
    return max(items, key=lambda it: (int(it["quantity"]), items.index(it)))


def _subs(state: State, customer_id: str) -> list[Obj]:
    return [
        s
        for s in state.all("subscription")
        if s["customer"] == customer_id and s["status"] in ("active", "past_due", "trialing")
    ]


async def portal_page(request: Request) -> Response:
    emu = _emu(request)
    ident = request.path_params["id"]
    notice = request.query_params.get("notice", "")
    with emu.state.lock:
        session = _lookup(emu.state, ident, "billing_portal.session")
        if session is None:
            return _page("Portal session not found", "<p>No such portal session.</p>", 404)
        blocks = []
        for sub in _subs(emu.state, session["customer"]):
            item = seat_item(emu.state, sub)
            price = emu.state.objects[item["price"]]
            prod = emu.state.objects.get(str(price["product"]))
            name = escape(prod["name"] if prod else price["id"])
            end = billing.current_period(emu.state, sub)[1]
            state_line = (
                "Cancels at period end" if sub["cancel_at_period_end"] else f"Renews at {end}"
            )
            can_update, can_cancel = portal.allowed(emu.state, session)
            update_form = (
                f"<form method='post' action='/portal/{ident}/quantity'>"
                f"<input type='hidden' name='subscription' value='{sub['id']}'>"
                f"<label>Seats <input id='quantity' name='quantity' type='number' min='1' "
                f"value='{item['quantity']}'></label> <button id='update' type='submit'>Update seats</button></form>"
                if can_update
                else f"<p>Seats: <span id='seats'>{item['quantity']}</span></p>"
            )
            cancel_form = (
                f"<form method='post' action='/portal/{ident}/cancel'>"
                f"<input type='hidden' name='subscription' value='{sub['id']}'>"
                f"<button id='cancel' type='submit'>Cancel at period end</button></form>"
                if can_cancel
                else ""
            )
            blocks.append(
                f"<section data-subscription='{sub['id']}'><h2>{name}</h2>"
                f"<p>Status: <span class='status'>{escape(sub['status'])}</span>. {state_line}.</p>"
                f"{update_form}{cancel_form}</section>"
            )
        back = (
            f"<p><a id='return' href='{escape(session['return_url'])}'>Return</a></p>"
            if session["return_url"]
            else ""
        )
    body = (
        (f"<p id='notice'>{escape(notice)}</p>" if notice else "")
        + ("".join(blocks) or "<p>No active subscriptions.</p>")
        + back
    )
    return _page("Billing portal", body)


async def portal_action(request: Request) -> Response:
    emu = _emu(request)
    ident = request.path_params["id"]
    action = request.path_params["action"]
    form = await request.form()
    with emu.state.lock:
        session = _lookup(emu.state, ident, "billing_portal.session")
        sub = _lookup(emu.state, str(form.get("subscription") or ""), "subscription")
        if session is None or sub is None or sub["customer"] != session["customer"]:
            return _page("Not found", "<p>No such subscription for this session.</p>", 404)
        emu.state.request = RequestInfo(new_id("req_", 14), None)
        now = emu.state.customer_now(sub["customer"])
        can_update, can_cancel = portal.allowed(emu.state, session)
        if (action == "quantity" and not can_update) or (action == "cancel" and not can_cancel):
            emu.state.request = RequestInfo()
            return _page("Not allowed", "<p>This portal does not offer that action.</p>", 403)
        try:
            if action == "quantity":
                quantity = int(str(form.get("quantity") or "0"))
                if quantity < 1:
                    raise StripeError(400, "Quantity must be at least 1.")
                item = seat_item(emu.state, sub)
                params: Obj = {
                    "items": [{"id": item["id"], "quantity": str(quantity)}],
                    "proration_behavior": "create_prorations",
                }
                update_subscription(emu.state, sub, params, now)
                notice = f"Seats updated to {quantity}."
            elif action == "cancel":
                update_subscription(emu.state, sub, {"cancel_at_period_end": "true"}, now)
                notice = "Subscription will cancel at the end of the period."
            else:
                return _page("Not found", "<p>Unknown action.</p>", 404)
        except (StripeError, ValueError) as err:
            return _page("Update failed", f"<p>{escape(str(err))}</p>", 400)
        finally:
            emu.state.request = RequestInfo()
    return RedirectResponse(f"/portal/{ident}?notice={notice.replace(' ', '+')}", status_code=303)
