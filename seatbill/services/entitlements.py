"""Entitlements: the limits of the plan a workspace is on, for a frontend to gate features.

A workspace has its current subscription's plan limits while that subscription grants the
plan (:data:`ENTITLED_STATUSES`); otherwise the catalog's ``free`` plan's limits if it
defines one, else none. A limit of ``None`` is unlimited; a feature not listed is not
included (the frontend decides what a missing limit means).
"""

from __future__ import annotations

from seatbill.catalog import FREE_PLAN, Catalog, Plan, PlanLimit
from seatbill.models import Subscription

# What a paying customer expects to keep: a trial, a paid subscription, and one whose renewal
# payment is being retried (past_due: Stripe is still collecting; the workspace may be
# RESTRICTED from growing, but keeps what it has). Not before the first payment (incomplete),
# nor once Stripe gave up collecting (unpaid), paused it (paused: a trial ended without a
# payment method) or it ended (canceled, incomplete_expired). A subscription cancelled at the
# period end keeps its plan until the period ends.
ENTITLED_STATUSES = frozenset({"trialing", "active", "past_due"})


def entitled_plan(subscription: Subscription | None, catalog: Catalog) -> Plan | None:
    """The plan whose limits the workspace has: its subscription's while that grants it,
    else the catalog's free plan (None without one)."""
    if (
        subscription is not None
        and subscription.status in ENTITLED_STATUSES
        and subscription.plan_key is not None
    ):
        plan = catalog.get(subscription.plan_key)
        if plan is not None:
            return plan
    return catalog.get(FREE_PLAN)


def entitlements(subscription: Subscription | None, catalog: Catalog) -> tuple[PlanLimit, ...]:
    plan = entitled_plan(subscription, catalog)
    return plan.limits if plan is not None else ()
