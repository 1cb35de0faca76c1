"""/v1/billing_portal/sessions (the hosted page lives in pages.py)."""

from __future__ import annotations

from stripe_emulator import objects
from stripe_emulator.protocol import Obj, get_str, req_str
from stripe_emulator.routes.core import Ctx, Router
from stripe_emulator.store import new_id


def create(ctx: Ctx) -> Obj:
    customer_id = req_str(ctx.params, "customer")
    ctx.state.get(customer_id, "customer", "customer")
    session: Obj = {
        "id": new_id("bps_"),
        "object": "billing_portal.session",
        "configuration": "bpc_emulated",
        "created": ctx.now(customer_id),
        "customer": customer_id,
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": None,
        "on_behalf_of": None,
        "return_url": get_str(ctx.params, "return_url"),
        "url": None,
    }
    session["url"] = f"{ctx.base_url}portal/{session['id']}"
    ctx.state.add(session)
    return objects.render(ctx.state, session)


def register(r: Router) -> None:
    r.add("POST", "/v1/billing_portal/sessions", create)
