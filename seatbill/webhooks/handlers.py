"""One handler per Stripe event type. Each runs inside the event processor's transaction (one
per event) and returns the event's outcome; the mapping from Stripe objects to rows lives in
services.mirror."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from seatbill.catalog import Catalog
from seatbill.config import Settings
from seatbill.models import EventOutcome, Subscription
from seatbill.services import duplicates, mirror
from seatbill.services.stripe_gateway import StripeGateway


class GatewayMissing(RuntimeError):
    """The event needs a Stripe read but billing is off; Stripe will deliver it again."""


@dataclass(frozen=True)
class Delivery:
    """A verified event and what the handlers may use."""

    event: Mapping[str, Any]
    settings: Settings
    catalog: Catalog
    gateway: StripeGateway | None

    @property
    def id(self) -> str:
        return str(self.event["id"])

    @property
    def created(self) -> int:
        return int(self.event["created"])

    @property
    def foreign_version(self) -> bool:
        """Stripe rendered the event in another API version than the SDK's pinned one (the
        endpoint's version): its object has another shape, so it is only a notification that
        the object changed and the object is re-fetched (in the SDK's version) instead."""
        return self.event.get("api_version") != stripe.api_version

    @property
    def object(self) -> dict[str, Any]:
        found: dict[str, Any] = dict(self.event["data"]["object"])
        return found

    @property
    def object_id(self) -> str | None:
        """The id of the Stripe object the event is about."""
        return mirror.object_id(self.event.get("data", {}).get("object", {}).get("id"))

    def require_gateway(self) -> StripeGateway:
        if self.gateway is None:
            raise GatewayMissing("billing is not configured")
        return self.gateway


Handler = Callable[[Delivery], Awaitable[EventOutcome]]


async def _sync_subscription(
    delivery: Delivery, stripe_sub: Any, *, fresh: bool, workspace_id: Any = None
) -> Subscription | None:
    notification = not fresh and delivery.foreign_version
    if notification:
        delivery.require_gateway()
    return await mirror.sync_subscription(
        stripe_sub,
        observed_at=delivery.created,
        event_id=delivery.id,
        workspace_id=workspace_id,
        catalog=delivery.catalog,
        gateway=delivery.gateway,
        dunning_max_attempts=delivery.settings.dunning_max_attempts,
        fresh=fresh,
        notification=notification,
    )


async def _refetch_subscription(delivery: Delivery, subscription_id: str) -> Subscription | None:
    """Stripe's current state of the subscription (the event only said it changed)."""
    fetched = await mirror.fetch_or_none(
        delivery.require_gateway().retrieve_subscription(subscription_id)
    )
    if fetched is None:
        return None
    return await _sync_subscription(delivery, fetched, fresh=True)


async def checkout_session_completed(delivery: Delivery) -> EventOutcome:
    session = delivery.object
    if session.get("mode") != "subscription":
        return EventOutcome.IGNORED
    workspace = await mirror.workspace_by_id(session.get("client_reference_id"))
    if workspace is None:
        workspace = await mirror.workspace_by_id(
            (session.get("metadata") or {}).get("workspace_id")
        )
    if workspace is None:
        return EventOutcome.UNLINKED
    await mirror.link_customer(
        workspace,
        mirror.object_id(session.get("customer")),
        delivery.id,
        dunning_max_attempts=delivery.settings.dunning_max_attempts,
    )
    subscription_id = mirror.object_id(session.get("subscription"))
    if subscription_id is None:
        return EventOutcome.PROCESSED
    fetched = await mirror.fetch_or_none(
        delivery.require_gateway().retrieve_subscription(subscription_id)
    )
    if fetched is None:  # gone from Stripe: its own events say what became of it
        return EventOutcome.PROCESSED
    row = await _sync_subscription(delivery, fetched, fresh=True, workspace_id=workspace.id)
    return EventOutcome.PROCESSED if row is not None else EventOutcome.UNLINKED


async def customer_subscription_changed(delivery: Delivery) -> EventOutcome:
    row = await _sync_subscription(delivery, delivery.object, fresh=False)
    return EventOutcome.PROCESSED if row is not None else EventOutcome.UNLINKED


async def customer_subscription_trial_will_end(delivery: Delivery) -> EventOutcome:
    """Three days before a trial ends: mirrored like any change, plus an audit row (the
    workspace stays ACTIVE; the app can remind the owner to add a card)."""
    outcome = await customer_subscription_changed(delivery)
    row = await Subscription.get_or_none(stripe_id=delivery.object_id)
    if row is not None:
        await mirror.audit(
            "subscription.trial_will_end",
            workspace_id=row.workspace_id,
            event_id=delivery.id,
            before=None,
            after={"subscription": row.stripe_id, "trial_end": delivery.object.get("trial_end")},
        )
    return outcome


async def customer_subscription_created(delivery: Delivery) -> EventOutcome:
    outcome = await customer_subscription_changed(delivery)
    row = await Subscription.get_or_none(stripe_id=delivery.object_id)
    await _one_live_subscription(delivery, row)
    return outcome


async def _one_live_subscription(delivery: Delivery, row: Subscription | None) -> None:
    """A new live subscription beside another (two Checkout sessions both paid): the newer is
    canceled and refunded at once, and mirrored as canceled. Every subscription, however it
    was made, announces itself with customer.subscription.created, so that is where to look."""
    if row is None or row.status in duplicates.ENDED or not row.stripe_customer_id:
        return
    ended = await duplicates.cancel_duplicates(
        delivery.require_gateway(), row.workspace_id, row.stripe_customer_id, delivery.id
    )
    for sub in ended:
        await _sync_subscription(delivery, sub, fresh=True)


async def subscription_schedule_changed(delivery: Delivery) -> EventOutcome:
    schedule = delivery.object
    subscription_id = mirror.object_id(schedule.get("subscription")) or mirror.object_id(
        schedule.get("released_subscription")
    )
    if subscription_id is None:
        return EventOutcome.IGNORED
    # The pending seat change is read from the subscription with its schedule expanded.
    row = await _refetch_subscription(delivery, subscription_id)
    return EventOutcome.PROCESSED if row is not None else EventOutcome.UNLINKED


async def invoice_changed(delivery: Delivery) -> EventOutcome:
    if delivery.foreign_version:
        delivery.require_gateway()
    row = await mirror.sync_invoice(
        delivery.object,
        observed_at=delivery.created,
        event_id=delivery.id,
        gateway=delivery.gateway,
        dunning_max_attempts=delivery.settings.dunning_max_attempts,
        fresh=False,
        notification=delivery.foreign_version,
    )
    if row is None:
        return EventOutcome.IGNORED
    return EventOutcome.PROCESSED if row.workspace_id is not None else EventOutcome.UNLINKED


async def invoice_deleted(delivery: Delivery) -> EventOutcome:
    """A draft invoice was deleted: it leaves the mirror (and never comes back from an older
    event about it)."""
    invoice_id = delivery.object_id
    if invoice_id is None:
        return EventOutcome.IGNORED
    row = await mirror.remove_invoice(
        invoice_id,
        event_id=delivery.id,
        dunning_max_attempts=delivery.settings.dunning_max_attempts,
    )
    return EventOutcome.PROCESSED if row is not None else EventOutcome.UNLINKED


async def invoice_payment_settled(delivery: Delivery) -> EventOutcome:
    """invoice.paid / invoice.payment_failed: the subscription's status follows (active or
    past_due), so read it now rather than wait for its own event."""
    outcome = await invoice_changed(delivery)
    subscription_id = mirror.invoice_subscription_id(delivery.object)
    if subscription_id is not None and await Subscription.exists(stripe_id=subscription_id):
        await _refetch_subscription(delivery, subscription_id)
    return outcome


async def customer_deleted(delivery: Delivery) -> EventOutcome:
    customer_id = mirror.object_id(delivery.object.get("id"))
    if customer_id is None:
        return EventOutcome.IGNORED
    workspace = await mirror.unlink_customer(customer_id, delivery.id)
    return EventOutcome.PROCESSED if workspace is not None else EventOutcome.UNLINKED


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": checkout_session_completed,
    "customer.subscription.created": customer_subscription_created,
    "customer.subscription.updated": customer_subscription_changed,
    "customer.subscription.deleted": customer_subscription_changed,
    "customer.subscription.paused": customer_subscription_changed,
    "customer.subscription.resumed": customer_subscription_changed,
    "customer.subscription.pending_update_applied": customer_subscription_changed,
    "customer.subscription.pending_update_expired": customer_subscription_changed,
    "customer.subscription.trial_will_end": customer_subscription_trial_will_end,
    "subscription_schedule.created": subscription_schedule_changed,
    "subscription_schedule.updated": subscription_schedule_changed,
    "subscription_schedule.released": subscription_schedule_changed,
    "subscription_schedule.canceled": subscription_schedule_changed,
    "subscription_schedule.completed": subscription_schedule_changed,
    "subscription_schedule.aborted": subscription_schedule_changed,
    "subscription_schedule.expiring": subscription_schedule_changed,
    "invoice.created": invoice_changed,
    "invoice.finalized": invoice_changed,
    "invoice.updated": invoice_changed,
    "invoice.voided": invoice_changed,
    "invoice.marked_uncollectible": invoice_changed,
    "invoice.deleted": invoice_deleted,
    "invoice.paid": invoice_payment_settled,
    "invoice.payment_failed": invoice_payment_settled,
    "customer.deleted": customer_deleted,
}


def handled_events() -> list[str]:
    """The event types Seatbill handles, sorted: what its Stripe webhook endpoint enables."""
    return sorted(HANDLERS)
