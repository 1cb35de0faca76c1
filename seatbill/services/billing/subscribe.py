"""Subscribing with a card saved in the app (Stripe Elements), and saving one.

``createSetupIntent`` gives the frontend a SetupIntent's client secret: Stripe.js collects and
confirms the card (``usage=off_session``, so later renewals can charge it without the
customer). ``subscribe`` then makes the card the customer's default and creates the
subscription with ``payment_behavior=default_incomplete``
(https://docs.stripe.com/billing/subscriptions/build-subscriptions): Stripe finalizes the first
invoice and leaves its PaymentIntent for confirmation, which Seatbill does at once with the
saved card, the customer being present:

- paid (or a free trial, nothing due): the subscription is active (trialing) and mirrored now;
- the card asks for 3D Secure: ``requiresAction`` with the PaymentIntent's client secret for
  Stripe.js (``handleNextAction``); the webhooks activate the subscription once it is paid;
- declined: the incomplete subscription is canceled at once and the answer is PAYMENT_FAILED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import stripe
from stripe.params import SubscriptionCreateParams

from seatbill.catalog import Interval
from seatbill.models import Subscription, User
from seatbill.services.billing.checkout import already_subscribed, prepare_order
from seatbill.services.billing.core import (
    Billing,
    audit,
    billing_version,
    ensure_customer,
    find_plan,
    id_of,
    live_subscription,
    mirror_now,
    plan_price_for,
    provider_errors,
    require_manager,
)
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.stripe_gateway import GatewayError, intent_key

log = logging.getLogger("seatbill.billing")

MAX_PAYMENT_METHOD_ID = 255


@dataclass(frozen=True)
class Subscribed:
    subscription: Subscription | None
    requires_action: bool = False
    client_secret: str | None = None


@dataclass(frozen=True)
class Card:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


async def create_setup_intent(billing: Billing, viewer: User, raw_workspace_id: str) -> str:
    """A SetupIntent for the workspace's customer; returns its client secret. Keyed by the
    workspace's billing version, so a retried request gets the same one and the next
    deliberate request a new one."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "createSetupIntent")
    async with provider_errors():
        customer_id = await ensure_customer(billing, workspace)
        version = await billing_version(workspace)
        key = intent_key("setup-intent", str(workspace.id), version)
        setup = await billing.stripe().create_setup_intent(customer_id, idempotency_key=key)
    await audit(workspace, viewer, "billing.setup_intent_created", None, {"setup_intent": setup.id})
    if not setup.client_secret:
        raise DomainError(ErrorCode.BILLING_PROVIDER_ERROR, "The billing provider gave no secret")
    return str(setup.client_secret)


def _payment_method_id(raw: str) -> str:
    value = raw.strip()
    if not value.startswith("pm_") or len(value) > MAX_PAYMENT_METHOD_ID:
        raise DomainError(
            ErrorCode.VALIDATION,
            "Give the id of a payment method (pm_...) from Stripe.js",
            ("input", "paymentMethodId"),
        )
    return value


def _declined(detail: str) -> DomainError:
    return DomainError(
        ErrorCode.PAYMENT_FAILED,
        f"The card was declined{detail}: nothing was bought. Try another card.",
        ("input", "paymentMethodId"),
    )


async def subscribe(
    billing: Billing,
    viewer: User,
    raw_workspace_id: str,
    plan_id: str,
    interval: Interval,
    seat_count: int | None,
    raw_payment_method: str,
) -> Subscribed:
    """A first subscription charged to a saved card (see the module's docstring). Same seat
    rules, trial rule and idempotency as checkout: a retry of the same request finds the
    subscription it made (its metadata carries the intent) instead of a CONFLICT."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "subscribe")
    plan = find_plan(billing.catalog, plan_id)
    plan_price = plan_price_for(plan, interval)
    payment_method = _payment_method_id(raw_payment_method)
    gateway = billing.stripe()
    async with provider_errors():
        order = await prepare_order(billing, workspace, plan, interval, plan_price, seat_count)
        intent = order.intent(payment_method)
        live = await live_subscription(billing, workspace)
        if live is not None:
            metadata = live.raw.metadata.to_dict() if live.raw.metadata else {}
            if metadata.get("seatbill_intent") != intent:
                raise already_subscribed()
            return await _outcome(billing, await gateway.retrieve_subscription(live.id), None)
        try:
            version = await billing_version(workspace)
            card = await gateway.save_default_card(order.customer_id, payment_method, version)
        except GatewayError as exc:
            if exc.status == 402:  # Stripe checks a card as it saves it
                raise _declined("") from None
            raise
        workspace_id = str(workspace.id)
        params: SubscriptionCreateParams = {
            "customer": order.customer_id,
            "items": [
                {"price": price, "quantity": count}
                for price, count in zip(order.price_ids, order.quantities, strict=True)
            ],
            "payment_behavior": "default_incomplete",
            "metadata": {"workspace_id": workspace_id, "seatbill_intent": intent},
        }
        if order.trial_days:
            params["trial_period_days"] = order.trial_days
        key = await order.idempotency_key("subscribe", intent)
        sub = await gateway.create_subscription(params, idempotency_key=key)
        subscribed = await _outcome(billing, sub, card)
    await audit(
        workspace,
        viewer,
        "billing.subscribed",
        None,
        {
            "subscription": sub.id,
            "status": subscribed.subscription.status if subscribed.subscription else None,
            "requires_action": subscribed.requires_action,
            **order.audit_fields(),
        },
    )
    return subscribed


async def _outcome(billing: Billing, sub: stripe.Subscription, card: str | None) -> Subscribed:
    """Pay the first invoice's PaymentIntent with the card (when something is due and it is
    not paid yet), and mirror the result."""
    gateway = billing.stripe()
    if sub.status != "incomplete":
        return Subscribed(await mirror_now(billing, sub))
    invoice_id = id_of(sub.latest_invoice)
    payment = await gateway.invoice_payment_intent(invoice_id) if invoice_id else None
    if payment is not None and payment.status == "requires_action":
        return Subscribed(await mirror_now(billing, sub), True, payment.client_secret)
    if payment is None or card is None:
        return Subscribed(await mirror_now(billing, sub))
    try:
        confirmed = await gateway.confirm_payment_intent(
            payment.id, card, idempotency_key=intent_key("subscribe-confirm", payment.id, card)
        )
    except GatewayError as exc:
        if exc.status != 402:
            raise
        # No live subscription is left behind a declined first payment.
        log.info("first payment of %s declined; canceling it", sub.id)
        await mirror_now(billing, await gateway.cancel_subscription_now(sub.id))
        raise _declined(" for the first payment") from None
    current = await gateway.retrieve_subscription(sub.id)
    row = await mirror_now(billing, current)
    if confirmed.status == "requires_action":
        return Subscribed(row, True, confirmed.client_secret)
    return Subscribed(row)


async def default_card(billing: Billing, customer_id: str | None) -> Card | None:
    """The card the workspace's invoices are charged to (Stripe's customer default), read from
    Stripe; None without one, or when Stripe cannot be reached (a read never fails for it)."""
    if not customer_id or billing.gateway is None:
        return None
    try:
        found = await billing.gateway.default_card(customer_id)
    except GatewayError:
        return None
    if found is None or found.card is None:
        return None
    card = found.card
    return Card(str(card.brand), str(card.last4), int(card.exp_month), int(card.exp_year))
