"""Billing, in the words a billing person uses: start a checkout, update seats, swap the plan,
cancel (at period end by default) and resume, open the portal, preview a change.

One module per concern around a small shared core (``core``: the live subscription view, the
price matcher, audit). Every function checks the viewer (OWNER or ADMIN; a non-member learns
nothing), validates the request against the catalog and the workspace's billable seats
(``services.seats``), talks to Stripe only through the gateway, mirrors the subscription Stripe
returns at once (so the API shows the new state without waiting for the webhook) and writes an
audit row.
"""

from __future__ import annotations

from seatbill.services.billing.cancellation import cancel, cancel_now_for_deleted_workspace, resume
from seatbill.services.billing.checkout import Checkout, start_checkout
from seatbill.services.billing.core import Billing, LiveSubscription, live_subscription
from seatbill.services.billing.plan_changes import swap_plan
from seatbill.services.billing.portal import open_portal
from seatbill.services.billing.previews import (
    Preview,
    PreviewLine,
    preview_plan_change,
    preview_seat_change,
)
from seatbill.services.billing.seat_changes import update_seats
from seatbill.services.billing.subscribe import (
    Card,
    Subscribed,
    create_setup_intent,
    default_card,
    subscribe,
)

__all__ = [
    "Billing",
    "Card",
    "Checkout",
    "LiveSubscription",
    "Preview",
    "PreviewLine",
    "Subscribed",
    "cancel",
    "cancel_now_for_deleted_workspace",
    "create_setup_intent",
    "default_card",
    "live_subscription",
    "open_portal",
    "preview_plan_change",
    "preview_seat_change",
    "resume",
    "start_checkout",
    "subscribe",
    "swap_plan",
    "update_seats",
]
