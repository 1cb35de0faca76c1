"""Checkout: a Stripe Checkout session for a workspace's first subscription."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from stripe.params.checkout import SessionCreateParams

from seatbill.catalog import Interval, Plan, PlanPrice, SeatMode
from seatbill.models import Invoice, Subscription, User, Workspace
from seatbill.services import seats
from seatbill.services.billing.core import (
    Billing,
    audit,
    check_licensed_seats,
    ensure_customer,
    find_plan,
    fits_plan,
    live_subscription,
    not_restricted,
    plan_price_for,
    provider_errors,
    redirect_url,
    require_manager,
    resolve_price_ids,
)
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.stripe_gateway import intent_key


@dataclass(frozen=True)
class Checkout:
    url: str
    session_id: str


# The order: what checkout and subscribe both sell -------------------------------------


@dataclass(frozen=True)
class Order:
    """A new subscription as the rules allow it: the plan's prices (base at quantity 1, seats
    at ``quantity``), the workspace's customer, and the trial it gets (0: none)."""

    workspace: Workspace
    customer_id: str
    plan: Plan
    interval: Interval
    plan_price: PlanPrice
    quantity: int
    price_ids: list[str]
    trial_days: int

    @property
    def quantities(self) -> list[int]:
        return [1] * (len(self.price_ids) - 1) + [self.quantity]

    def intent(self, *extra: str) -> str:
        """What is being bought, for idempotency keys and to recognise a retry."""
        parts = [self.plan.key, self.interval.value, str(self.quantity), str(self.trial_days)]
        return hashlib.sha256("|".join([*parts, *extra, *self.price_ids]).encode()).hexdigest()[:24]

    async def idempotency_key(self, kind: str, intent: str) -> str:
        """Keyed by workspace, intent, how many subscriptions the workspace has had and the
        current hour (so an expired or completed attempt is not replayed for long)."""
        generation = await Subscription.filter(workspace_id=self.workspace.id).count()
        hour = int(time.time()) // 3600
        return intent_key(kind, str(self.workspace.id), intent, generation, hour)

    def audit_fields(self) -> dict[str, Any]:
        return {
            "plan": self.plan.key,
            "interval": self.interval.value,
            "seats": self.quantity,
            "amount": self.plan_price.quote(self.quantity),
            "currency": self.plan_price.currency,
            **({"trial_days": self.trial_days} if self.trial_days else {}),
        }


async def trial_available(workspace: Workspace) -> bool:
    """One trial per workspace, ever, and only on its first subscription: none once a trial
    started or a subscription of the workspace was paid for (an attempt whose first payment
    was declined, and so canceled, does not count)."""
    await workspace.refresh_from_db(fields=["trial_used_at"])
    if workspace.trial_used_at is not None:
        return False
    paid = Invoice.filter(
        workspace_id=workspace.id, subscription_stripe_id__isnull=False, amount_paid__gt=0
    )
    return not await paid.exists()


async def prepare_order(
    billing: Billing,
    workspace: Workspace,
    plan: Plan,
    interval: Interval,
    plan_price: PlanPrice,
    seat_count: int | None,
) -> Order:
    """Check a first subscription against the rules (seats, restriction, one live
    subscription) and resolve its prices. Call inside ``provider_errors()``."""
    billable = await seats.billable_count(workspace.id)
    fits_plan(plan, billable)
    quantity = _checkout_quantity(plan, billable, seat_count)
    await not_restricted(workspace, "subscribing")
    customer_id = await ensure_customer(billing, workspace)
    refs = [ref for ref in (plan_price.base, plan_price.seat) if ref is not None]
    price_ids = await resolve_price_ids(billing, refs)
    trial_days = plan.trial_days if plan.trial_days and await trial_available(workspace) else 0
    return Order(
        workspace, customer_id, plan, interval, plan_price, quantity, price_ids, trial_days
    )


def already_subscribed() -> DomainError:
    return DomainError(
        ErrorCode.CONFLICT,
        "This workspace already has a subscription: change it with switchPlan or updateSeats",
        ("input", "workspaceId"),
    )


# Checkout -------------------------------------------------------------------------------


async def start_checkout(
    billing: Billing,
    viewer: User,
    raw_workspace_id: str,
    plan_id: str,
    interval: Interval,
    seat_count: int | None,
    success_url: str,
    cancel_url: str,
) -> Checkout:
    """A Stripe Checkout session for a new subscription: base price (quantity 1) plus seats,
    with the plan's free trial when the workspace has not had one.

    The same request retried (or sent twice) returns the same session: an open session of the
    customer with the same intent is reused; any other open session is expired first, so two
    checkouts never make two subscriptions. A new one is created with an idempotency key
    of workspace, plan, interval, seats, URLs, how many subscriptions the workspace has had,
    and the current hour (so an expired or completed session is not replayed for long)."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "startCheckout")
    plan = find_plan(billing.catalog, plan_id)
    plan_price = plan_price_for(plan, interval)
    success = redirect_url(success_url, "successUrl", billing.settings)
    cancel = redirect_url(cancel_url, "cancelUrl", billing.settings)
    async with provider_errors():
        order = await prepare_order(billing, workspace, plan, interval, plan_price, seat_count)
        if await live_subscription(billing, workspace) is not None:
            raise already_subscribed()
        intent = order.intent(success, cancel)
        open_sessions = await billing.stripe().list_open_checkout_sessions(order.customer_id)
        for session in open_sessions:
            metadata = session.metadata.to_dict() if session.metadata else {}
            if metadata.get("seatbill_intent") == intent and session.url:
                return Checkout(url=str(session.url), session_id=session.id)
        # Stripe lets every open session complete into a subscription of its own: only the
        # newest checkout may stay payable.
        for session in open_sessions:
            await billing.stripe().expire_checkout_session(session.id)
        workspace_id = str(workspace.id)
        params: SessionCreateParams = {
            "mode": "subscription",
            "customer": order.customer_id,
            "client_reference_id": workspace_id,
            "line_items": [
                {"price": price, "quantity": count}
                for price, count in zip(order.price_ids, order.quantities, strict=True)
            ],
            "metadata": {
                "workspace_id": workspace_id,
                "plan": plan.key,
                "interval": interval.value,
                "seats": str(order.quantity),
                "seatbill_intent": intent,
            },
            # The plan is read from the prices (one matcher), never from metadata that goes stale.
            "subscription_data": {"metadata": {"workspace_id": workspace_id}},
            "success_url": success,
            "cancel_url": cancel,
        }
        if order.trial_days:
            # https://docs.stripe.com/payments/checkout/free-trials
            params["subscription_data"]["trial_period_days"] = order.trial_days
            if not plan.trial_requires_payment_method:
                params["payment_method_collection"] = "if_required"
                params["subscription_data"]["trial_settings"] = {
                    "end_behavior": {"missing_payment_method": "cancel"}
                }
        key = await order.idempotency_key("checkout", intent)
        session = await billing.stripe().create_checkout_session(params, idempotency_key=key)
    await audit(
        workspace,
        viewer,
        "billing.checkout_started",
        None,
        {"session": session.id, **order.audit_fields()},
    )
    return Checkout(url=str(session.url), session_id=session.id)


def _checkout_quantity(plan: Plan, billable: int, seat_count: int | None) -> int:
    if plan.seat_mode is SeatMode.AUTO:
        return max(1, billable)  # auto plans bill the members; a chosen count is ignored
    if seat_count is None:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The {plan.name} plan is sold by the seat: choose how many",
            ("input", "seats"),
        )
    check_licensed_seats(plan, billable, seat_count)
    return seat_count
