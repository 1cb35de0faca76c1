"""The Stripe customer portal."""

from __future__ import annotations

import time

from seatbill.models import User
from seatbill.services.billing.core import (
    Billing,
    audit,
    ensure_customer,
    provider_errors,
    redirect_url,
    require_manager,
)
from seatbill.services.stripe_gateway import intent_key

# Portal ---------------------------------------------------------------------------------


async def open_portal(
    billing: Billing, viewer: User, raw_workspace_id: str, return_url: str
) -> str:
    """A Stripe customer portal session (payment methods, invoices, seats, cancel)."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "openBillingPortal")
    back = redirect_url(return_url, "returnUrl", billing.settings)
    async with provider_errors():
        customer_id = await ensure_customer(billing, workspace)
        # Portal sessions live minutes: the same request within a minute gets the same one.
        minute = int(time.time()) // 60
        key = intent_key("portal", customer_id, back, minute)
        url = await billing.stripe().create_portal_session(customer_id, back, idempotency_key=key)
    await audit(workspace, viewer, "billing.portal_opened", None, {"customer": customer_id})
    return url
