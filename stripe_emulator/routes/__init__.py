"""Stripe API endpoints, one module per resource family."""

from __future__ import annotations

from stripe_emulator.routes import (
    catalog,
    checkout,
    clocks,
    customers,
    events,
    intents,
    invoices,
    portal,
    refunds,
    schedules,
    subscriptions,
)
from stripe_emulator.routes.core import Router


def build_router() -> Router:
    router = Router()
    for module in (
        customers,
        catalog,
        checkout,
        portal,
        subscriptions,
        schedules,
        invoices,
        refunds,
        intents,
        events,
        clocks,
    ):
        module.register(router)
    return router
