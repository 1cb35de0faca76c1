"""The Stripe mirror (customers, subscriptions, items, invoices), the webhook event log, the
audit log and the seat outbox."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from seatbill.models.workspace import User, Workspace


# Subscription statuses that are not (or no longer) billing anyone.
ENDED_SUBSCRIPTION_STATUSES = ("canceled", "incomplete_expired")


class ItemRole(StrEnum):
    BASE = "base"
    SEAT = "seat"
    UNKNOWN = "unknown"


class SeatSyncState(StrEnum):
    SYNCED = "SYNCED"
    PENDING = "PENDING"
    FAILED = "FAILED"


class EventOutcome(StrEnum):
    RECEIVED = "RECEIVED"  # in the inbox, not applied yet (or claimed by a processor now)
    PROCESSED = "PROCESSED"
    IGNORED = "IGNORED"  # unknown type, or nothing Seatbill tracks
    UNLINKED = "UNLINKED"  # about a Stripe object no workspace claims
    SUPERSEDED = "SUPERSEDED"  # a newer snapshot of the same object was applied instead
    FAILED = "FAILED"  # the handler raised; retried with backoff (next_attempt_at)
    DEAD = "DEAD"  # failed WEBHOOK_MAX_ATTEMPTS times; `seatbill events retry ID` revives it


class Subscription(Model):
    id = fields.UUIDField(primary_key=True)
    stripe_id = fields.CharField(max_length=255, unique=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="subscriptions", on_delete=fields.CASCADE
    )
    stripe_customer_id = fields.CharField(max_length=255, db_index=True)
    status = fields.CharField(max_length=32)  # Stripe's status, lower case
    plan_key = fields.CharField(max_length=64, null=True)
    interval = fields.CharField(max_length=8, null=True)  # month | year
    seat_quantity = fields.IntField(default=0)
    cancel_at_period_end = fields.BooleanField(default=False)
    cancel_at = fields.DatetimeField(null=True)
    canceled_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    current_period_start = fields.DatetimeField(null=True)
    current_period_end = fields.DatetimeField(null=True)
    trial_end = fields.DatetimeField(null=True)
    latest_invoice_stripe_id = fields.CharField(max_length=255, null=True)
    stripe_created = fields.DatetimeField()
    # Unix time of the Stripe snapshot these fields came from: an older one never overwrites.
    snapshot_at = fields.BigIntField(default=0)
    # A licensed seat decrease scheduled for the next period (a subscription schedule).
    schedule_stripe_id = fields.CharField(max_length=255, null=True)
    pending_seat_quantity = fields.IntField(null=True)
    pending_seat_effective_at = fields.DatetimeField(null=True)
    # Automatic seat sync (auto-mode plans): what the worker last did.
    seat_sync_state = fields.CharEnumField(
        SeatSyncState, max_length=8, default=SeatSyncState.SYNCED
    )
    seat_sync_error = fields.TextField(null=True)
    seat_synced_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    workspace_id: object
    items: fields.ReverseRelation[SubscriptionItem]

    class Meta:
        table = "subscription"
        # a workspace's subscriptions, newest first (every read of its billing)
        indexes = (("workspace", "stripe_created"),)


class SubscriptionItem(Model):
    id = fields.UUIDField(primary_key=True)
    stripe_id = fields.CharField(max_length=255, unique=True)
    subscription: fields.ForeignKeyRelation[Subscription] = fields.ForeignKeyField(
        "models.Subscription", related_name="items", on_delete=fields.CASCADE
    )
    price_id = fields.CharField(max_length=255)
    price_lookup_key = fields.CharField(max_length=255, null=True)
    quantity = fields.IntField(default=0)
    role = fields.CharEnumField(ItemRole, max_length=8)
    current_period_start = fields.DatetimeField(null=True)
    current_period_end = fields.DatetimeField(null=True)

    subscription_id: object

    class Meta:
        table = "subscription_item"
        indexes = (("subscription",),)


class Invoice(Model):
    id = fields.UUIDField(primary_key=True)
    stripe_id = fields.CharField(max_length=255, unique=True)
    workspace: fields.ForeignKeyNullableRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="invoices", null=True, on_delete=fields.CASCADE
    )
    stripe_customer_id = fields.CharField(max_length=255, db_index=True)
    subscription_stripe_id = fields.CharField(max_length=255, null=True, db_index=True)
    number = fields.CharField(max_length=64, null=True)
    status = fields.CharField(max_length=32)  # draft | open | paid | uncollectible | void
    currency = fields.CharField(max_length=3)
    amount_due = fields.BigIntField(default=0)  # minor units
    amount_paid = fields.BigIntField(default=0)
    amount_remaining = fields.BigIntField(default=0)
    total = fields.BigIntField(default=0)
    hosted_invoice_url = fields.TextField(null=True)
    attempt_count = fields.IntField(default=0)
    billing_reason = fields.CharField(max_length=64, null=True)
    # Stripe's invoice.period_start/end: on a renewal, the period that ENDED (usage period).
    period_start = fields.DatetimeField(null=True)
    period_end = fields.DatetimeField(null=True)
    # The service period billed, from the non-proration subscription lines (what the API shows).
    service_period_start = fields.DatetimeField(null=True)
    service_period_end = fields.DatetimeField(null=True)
    stripe_created = fields.DatetimeField()
    snapshot_at = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    workspace_id: object

    class Meta:
        table = "invoice"
        indexes = (("workspace", "stripe_created"),)


class WebhookEvent(Model):
    """The webhook inbox: every verified event, recorded (with its body) before Stripe gets its
    200, then applied by an event processor (seatbill.webhooks.processor)."""

    id = fields.CharField(max_length=255, primary_key=True)  # Stripe's event id
    type = fields.CharField(max_length=128)
    # The Stripe object the event is about (data.object.id): an event of the same object seen
    # at the same second or later makes a snapshot unsure, so it is re-fetched instead.
    object_id = fields.CharField(max_length=255, null=True)
    stripe_created = fields.DatetimeField()
    received_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)
    outcome = fields.CharEnumField(EventOutcome, max_length=10, default=EventOutcome.RECEIVED)
    error = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    # The verified body as Stripe sent it (null only for events recorded before the inbox).
    payload = fields.TextField(null=True)
    # RECEIVED or FAILED: when a processor may claim it next (a claim pushes it one lease
    # ahead, so an event claimed by a process that died is claimed again once that passes).
    next_attempt_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_event"
        indexes = (("object_id", "stripe_created"), ("outcome", "next_attempt_at"))


class AuditLog(Model):
    id = fields.UUIDField(primary_key=True)
    workspace: fields.ForeignKeyNullableRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="audit_log", null=True, on_delete=fields.CASCADE
    )
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_log", null=True, on_delete=fields.SET_NULL
    )
    event_id = fields.CharField(max_length=255, null=True)  # the Stripe event, when it drove it
    action = fields.CharField(max_length=64)
    before: Any = fields.JSONField(null=True)
    after: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    workspace_id: object

    class Meta:
        table = "audit_log"
        indexes = (("workspace", "created_at"),)


class SeatOutbox(Model):
    """A membership change Stripe's seat quantity must follow; written in the same transaction."""

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="seat_outbox", on_delete=fields.CASCADE
    )
    reason = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)
    next_attempt_at = fields.DatetimeField(db_index=True)
    attempts = fields.IntField(default=0)
    processed_at = fields.DatetimeField(null=True, db_index=True)
    last_error = fields.TextField(null=True)

    workspace_id: object

    class Meta:
        table = "seat_outbox"
