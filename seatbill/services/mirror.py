"""The one place that maps Stripe objects to rows: subscriptions, their items, invoices.

Stripe delivers events late, twice and out of order, so every write here follows one rule:
a snapshot older than the stored one never overwrites it. Each row keeps ``snapshot_at``, the
Unix time of the Stripe snapshot its fields came from (an event's ``created``):

- ``observed_at`` > ``snapshot_at``: the snapshot is newer; apply it.
- ``observed_at`` < ``snapshot_at``: it is older; keep the row as it is.
- equal (events within one second), or another event about the object from that second or
  later was already received but not applied (it came before the object could be linked):
  unsure which is newer; re-fetch the object through the gateway and apply what Stripe says
  now.

A *fresh* snapshot (just returned by a Stripe API call, or re-fetched here) is the current
state: it is always applied, and the stored ``snapshot_at`` only moves forward, to
``max(snapshot_at, observed_at)``, so the events that follow it still apply.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

import stripe
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from seatbill.catalog import (
    Catalog,
    SeatMode,
    default_catalog_path,
    load_catalog,
    match_stripe_price,
)
from seatbill.models import (
    ENDED_SUBSCRIPTION_STATUSES,
    AuditLog,
    Invoice,
    ItemRole,
    Subscription,
    SubscriptionItem,
    WebhookEvent,
    Workspace,
)
from seatbill.prepared import PreparedModels
from seatbill.services import dunning, seat_outbox
from seatbill.services.stripe_gateway import GatewayError, StripeGateway

log = logging.getLogger("seatbill.mirror")

StripeData = stripe.StripeObject | Mapping[str, Any]
T = TypeVar("T")

# Subscription statuses that are not (or no longer) billing anyone.
ENDED_STATUSES = ENDED_SUBSCRIPTION_STATUSES

SUBSCRIPTION_FIELDS = (
    "status",
    "plan_key",
    "interval",
    "seat_quantity",
    "cancel_at_period_end",
    "cancel_at",
    "canceled_at",
    "ended_at",
    "current_period_start",
    "current_period_end",
    "trial_end",
    "latest_invoice_stripe_id",
    "schedule_stripe_id",
    "pending_seat_quantity",
    "pending_seat_effective_at",
)
INVOICE_FIELDS = (
    "number",
    "status",
    "currency",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "total",
    "hosted_invoice_url",
    "attempt_count",
    "billing_reason",
    "period_start",
    "period_end",
    "service_period_start",
    "service_period_end",
    "subscription_stripe_id",
)


@lru_cache(maxsize=1)
def _bundled_catalog() -> Catalog:
    return load_catalog(default_catalog_path())


def plain(obj: StripeData) -> dict[str, Any]:
    """A Stripe object (SDK object or decoded JSON) as plain dicts and lists."""
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict()
    return dict(obj)


def object_id(value: Any) -> str | None:
    """The id of an expandable field: a string, an expanded object, or None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    return None


def timestamp(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(int(value), UTC)


def parse_uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _fields(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: json_value(getattr(row, name)) for name in names}


async def audit(
    action: str,
    *,
    workspace_id: Any,
    event_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """One audit row for a state change driven by Stripe (the event id says which)."""
    if before is not None and after is not None:
        changed = [k for k in after if before.get(k) != after.get(k)]
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    await AuditLog.create(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        event_id=event_id,
        action=action,
        before=before,
        after=after,
    )


# Workspaces ------------------------------------------------------------------------------


async def workspace_by_id(raw: Any) -> Workspace | None:
    """A workspace by the id Seatbill put in Stripe metadata (soft-deleted ones included:
    late webhooks still belong to them)."""
    workspace_id = parse_uuid(raw)
    return await Workspace.get_or_none(id=workspace_id) if workspace_id else None


async def link_customer(
    workspace: Workspace,
    customer_id: str | None,
    event_id: str | None,
    *,
    dunning_max_attempts: int = 3,
) -> None:
    """Remember the workspace's Stripe customer (one per workspace) and claim the invoices
    that arrived before the link was known."""
    if not customer_id:
        return
    if workspace.stripe_customer_id is None:
        holder = await Workspace.get_or_none(stripe_customer_id=customer_id)
        if holder is not None and holder.id != workspace.id:
            log.warning(
                "customer %s already belongs to workspace %s; not linking %s",
                customer_id,
                holder.id,
                workspace.id,
            )
            return
        workspace.stripe_customer_id = customer_id
        await workspace.save(update_fields=["stripe_customer_id"])
        await audit(
            "customer.linked",
            workspace_id=workspace.id,
            event_id=event_id,
            before={"stripe_customer_id": None},
            after={"stripe_customer_id": customer_id},
        )
    if workspace.stripe_customer_id == customer_id:
        claimed = await Invoice.filter(
            stripe_customer_id=customer_id, workspace_id__isnull=True
        ).update(workspace_id=workspace.id)
        if claimed:
            await dunning.refresh_restriction(
                workspace.id, max_attempts=dunning_max_attempts, event_id=event_id
            )


async def unlink_customer(customer_id: str, event_id: str | None) -> Workspace | None:
    """The customer was deleted in Stripe: the workspace gets a new one at its next checkout."""
    workspace = await Workspace.get_or_none(stripe_customer_id=customer_id)
    if workspace is None:
        return None
    workspace.stripe_customer_id = None
    await workspace.save(update_fields=["stripe_customer_id"])
    await audit(
        "customer.unlinked",
        workspace_id=workspace.id,
        event_id=event_id,
        before={"stripe_customer_id": customer_id},
        after={"stripe_customer_id": None},
    )
    return workspace


async def _subscription_workspace(
    sub: Mapping[str, Any], row: Subscription | None, workspace_id: uuid.UUID | None
) -> Workspace | None:
    if row is not None:
        return await Workspace.get(id=row.workspace_id)
    for candidate in (workspace_id, (sub.get("metadata") or {}).get("workspace_id")):
        found = await workspace_by_id(str(candidate) if candidate else None)
        if found is not None:
            return found
    customer_id = object_id(sub.get("customer"))
    if customer_id:
        return await Workspace.get_or_none(stripe_customer_id=customer_id)
    return None


# Ordering --------------------------------------------------------------------------------


async def _again_on_conflict(write: Callable[[], Awaitable[T]]) -> T:
    try:
        return await write()
    except IntegrityError:
        # A concurrent writer created the same row first: go again, now as an update.
        return await write()


async def fetch_or_none(call: Awaitable[T]) -> T | None:
    """A Stripe read, or None when Stripe no longer has the object (404): the caller keeps
    what the event said rather than failing the delivery for ever."""
    try:
        return await call
    except GatewayError as exc:
        if exc.missing:
            return None
        raise


def _need(gateway: StripeGateway | None) -> StripeGateway:
    if gateway is None:
        raise ValueError("re-fetching a Stripe object needs a gateway")
    return gateway


async def _unsure(
    stripe_id: str, row: Subscription | Invoice | None, observed_at: int, event_id: str | None
) -> bool:
    """Whether an event's snapshot may be older than Stripe's current object: the row holds a
    snapshot of the same second, or another event about the object from that second or later
    was already received (and not applied: say it came before the object could be linked)."""
    if row is not None and observed_at == row.snapshot_at:
        return True
    if event_id is None:
        return False
    seen_at = datetime.fromtimestamp(observed_at, UTC)
    return (
        await WebhookEvent.filter(object_id=stripe_id, stripe_created__gte=seen_at)
        .exclude(id=event_id)
        .exists()
    )


# Subscriptions ---------------------------------------------------------------------------


def _items(sub: Mapping[str, Any], catalog: Catalog) -> list[dict[str, Any]]:
    """The subscription's items with their catalog role, plan and interval."""
    out: list[dict[str, Any]] = []
    for item in (sub.get("items") or {}).get("data") or []:
        price = item.get("price")
        price_id = object_id(price) or ""
        lookup_key = price.get("lookup_key") if isinstance(price, Mapping) else None
        recurring = price.get("recurring") if isinstance(price, Mapping) else None
        # By id, lookup key, then catalog sync's metadata: a superseded price keeps its plan.
        match = (
            match_stripe_price(catalog, price)
            if isinstance(price, Mapping)
            else catalog.match_price(price_id=price_id)
        )
        out.append(
            {
                "stripe_id": str(item["id"]),
                "price_id": price_id,
                "price_lookup_key": lookup_key,
                "quantity": int(item.get("quantity") or 0),
                "role": ItemRole(match.role) if match else ItemRole.UNKNOWN,
                "plan_key": match.plan.key if match else None,
                "interval": (
                    match.interval.value
                    if match
                    else (recurring or {}).get("interval")
                    if isinstance(recurring, Mapping)
                    else None
                ),
                "current_period_start": timestamp(item.get("current_period_start")),
                "current_period_end": timestamp(item.get("current_period_end")),
            }
        )
    return out


def _seat_item(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    for item in items:
        if item["role"] == ItemRole.SEAT:
            return item
    unknown = [i for i in items if i["role"] == ItemRole.UNKNOWN]
    # Not a catalog price (e.g. made in the Dashboard): the largest quantity is the seats.
    return max(unknown, key=lambda i: i["quantity"]) if unknown else None


def pending_seat_change(
    schedule: Mapping[str, Any] | None,
    seat_price_ids: set[str],
    base_price_ids: set[str],
    current_seats: int,
) -> tuple[int, datetime] | None:
    """The seat quantity a subscription schedule's next phase sets, and when; None when the
    schedule has no later phase, is not running, or keeps the seats as they are."""
    if not schedule or schedule.get("status") not in ("not_started", "active"):
        return None
    phases = list(schedule.get("phases") or [])
    current = schedule.get("current_phase") or None
    after = int(current["start_date"]) if current else None
    upcoming = [p for p in phases if after is None or int(p.get("start_date") or 0) > after]
    if not upcoming:
        return None
    phase = min(upcoming, key=lambda p: int(p.get("start_date") or 0))
    phase_items = list(phase.get("items") or [])
    quantities = [
        int(i.get("quantity") or 0)
        for i in phase_items
        if object_id(i.get("price")) in seat_price_ids
    ] or sorted(
        # The next phase swaps the seat price (a plan change): the item that is not a base.
        (
            int(i.get("quantity") or 0)
            for i in phase_items
            if object_id(i.get("price")) not in base_price_ids
        ),
        reverse=True,
    )
    if not quantities:
        return None
    seats = quantities[0]
    if seats == current_seats:
        return None
    return seats, datetime.fromtimestamp(int(phase["start_date"]), UTC)


async def sync_subscription(
    stripe_sub: StripeData,
    *,
    observed_at: int,
    event_id: str | None = None,
    workspace_id: uuid.UUID | None = None,
    catalog: Catalog | None = None,
    gateway: StripeGateway | None = None,
    dunning_max_attempts: int = 3,
    fresh: bool | None = None,
    notification: bool = False,
) -> Subscription | None:
    """Mirror one Stripe subscription (and its items) into the database; returns the row, or
    None when no workspace claims it (nothing is written then).

    Call it with every subscription Stripe hands you:

    - from a webhook: ``observed_at=event.created, event_id=event.id`` (older snapshots than
      the stored one are ignored; one from the same second is re-fetched through ``gateway``);
    - right after your own Stripe API call: ``observed_at=0`` (or any time) and no
      ``event_id``. The object is then *fresh*, the current state: it is applied as it is and
      the stored snapshot time only moves forward, so later webhooks still apply.
    - ``notification=True``: the snapshot is not to be read (an event rendered in another API
      version than the SDK's, whose shape differs: the billing period is not on the items
      before 2025). It only says the object changed: unless it is older than the stored one,
      the object is re-fetched through ``gateway`` (required) and that is applied; nothing
      is written when Stripe no longer has it.

    The workspace is the row's own, else ``workspace_id``, else ``metadata.workspace_id``,
    else the workspace whose ``stripe_customer_id`` is the subscription's customer. Plan,
    interval and roles come from ``match_stripe_price`` (id, lookup key, then price metadata;
    the bundled catalog when None); the seat quantity is the seat item's. A schedule expanded on the object (the gateway's
    ``retrieve_subscription`` expands it) sets the pending seat change; a schedule id alone is
    fetched through ``gateway`` when it is new. Runs in its own transaction (a savepoint inside
    the caller's) and writes an audit row when anything changed.
    """
    return await _again_on_conflict(
        lambda: _sync_subscription(
            plain(stripe_sub),
            observed_at=observed_at,
            event_id=event_id,
            workspace_id=workspace_id,
            catalog=catalog or _bundled_catalog(),
            gateway=gateway,
            dunning_max_attempts=dunning_max_attempts,
            is_fresh=event_id is None if fresh is None else fresh,
            notification=notification,
        )
    )


async def subscription_state(
    sub: Mapping[str, Any],
    catalog: Catalog,
    *,
    row: Subscription | None = None,
    gateway: StripeGateway | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the mirror stores for a Stripe subscription: the row's values and its items (with
    role, plan and interval). Writes nothing; reconciliation compares it with the rows. The
    pending seat change is only set when the schedule is expanded on ``sub``, the row already
    knows the schedule, or ``gateway`` can fetch it (else the key is absent)."""
    items = _items(sub, catalog)
    seat = _seat_item(items)
    base = next((i for i in items if i["role"] == ItemRole.BASE), None)
    described = seat if seat and seat["plan_key"] else base or seat
    first = items[0] if items else None
    values: dict[str, Any] = {
        "stripe_customer_id": object_id(sub.get("customer")) or "",
        "status": str(sub.get("status") or "incomplete"),
        "plan_key": described["plan_key"] if described else None,
        "interval": (described or first or {}).get("interval"),
        "seat_quantity": seat["quantity"] if seat else 0,
        "cancel_at_period_end": bool(sub.get("cancel_at_period_end")),
        "cancel_at": timestamp(sub.get("cancel_at")),
        "canceled_at": timestamp(sub.get("canceled_at")),
        "ended_at": timestamp(sub.get("ended_at")),
        # 2025+ shape: the billing period lives on the items.
        "current_period_start": (seat or first or {}).get("current_period_start"),
        "current_period_end": (seat or first or {}).get("current_period_end"),
        "trial_end": timestamp(sub.get("trial_end")),
        "latest_invoice_stripe_id": object_id(sub.get("latest_invoice")),
        "stripe_created": timestamp(sub.get("created")) or datetime.now(UTC),
    }
    period_end, cancel_at = values["current_period_end"], values["cancel_at"]
    if cancel_at is not None and period_end is not None and cancel_at <= period_end:
        # A schedule ending in cancel (or a release that kept its date) sets only cancel_at.
        values["cancel_at_period_end"] = True
    await _apply_schedule(values, sub, row, items, seat, gateway)
    return values, items


async def _sync_subscription(
    sub: dict[str, Any],
    *,
    observed_at: int,
    event_id: str | None,
    workspace_id: uuid.UUID | None,
    catalog: Catalog,
    gateway: StripeGateway | None,
    dunning_max_attempts: int,
    is_fresh: bool,
    notification: bool,
) -> Subscription | None:
    stripe_id = str(sub["id"])
    async with in_transaction():
        row = await Subscription.filter(stripe_id=stripe_id).select_for_update().first()
        if not is_fresh:
            if row is not None and observed_at < row.snapshot_at:
                return row
            if notification or (
                gateway is not None and await _unsure(stripe_id, row, observed_at, event_id)
            ):
                current = await fetch_or_none(_need(gateway).retrieve_subscription(stripe_id))
                if current is not None:
                    sub, is_fresh = plain(current), True
                elif notification:
                    return row  # gone from Stripe: keep what we had, never read the event
        workspace = await _subscription_workspace(sub, row, workspace_id)
        if workspace is None:
            return None
        customer_id = object_id(sub.get("customer")) or ""
        if workspace.stripe_customer_id is None and customer_id:
            await link_customer(
                workspace, customer_id, event_id, dunning_max_attempts=dunning_max_attempts
            )

        values, items = await subscription_state(sub, catalog, row=row, gateway=gateway)

        before = _fields(row, SUBSCRIPTION_FIELDS) if row is not None else None
        if row is None:
            row = await Subscription.create(
                id=uuid.uuid4(),
                stripe_id=stripe_id,
                workspace=workspace,
                snapshot_at=observed_at,
                **values,
            )
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.snapshot_at = max(row.snapshot_at, observed_at)
            # Only the mirrored fields: seat_sync_* belong to the seat-sync worker.
            await row.save(update_fields=[*values, "snapshot_at", "updated_at"])
        await _replace_items(row, items)
        trial_start = timestamp(sub.get("trial_start"))
        if trial_start is not None:
            # One trial per workspace, ever: recorded as soon as Stripe shows one started.
            await Workspace.filter(id=workspace.id, trial_used_at__isnull=True).update(
                trial_used_at=trial_start
            )
        if before is None and _auto_seats(catalog, row.plan_key):
            # Members may have joined or left since checkout: seat sync counts them again.
            await seat_outbox.enqueue(workspace.id, seat_outbox.SUBSCRIPTION_LINKED)
        after = _fields(row, SUBSCRIPTION_FIELDS)
        if before != after:
            await audit(
                "subscription.created" if before is None else "subscription.updated",
                workspace_id=workspace.id,
                event_id=event_id,
                before=before,
                after=after,
            )
        # Invoices that arrived before the subscription could be linked.
        claimed = await Invoice.filter(
            subscription_stripe_id=stripe_id, workspace_id__isnull=True
        ).update(workspace_id=workspace.id)
        if claimed:
            await dunning.refresh_restriction(
                workspace.id, max_attempts=dunning_max_attempts, event_id=event_id
            )
        return row


def _auto_seats(catalog: Catalog, plan_key: str | None) -> bool:
    plan = catalog.get(plan_key) if plan_key else None
    return plan is not None and plan.seat_mode is SeatMode.AUTO


async def _apply_schedule(
    values: dict[str, Any],
    sub: Mapping[str, Any],
    row: Subscription | None,
    items: list[dict[str, Any]],
    seat: dict[str, Any] | None,
    gateway: StripeGateway | None,
) -> None:
    schedule = sub.get("schedule")
    schedule_id = object_id(schedule)
    values["schedule_stripe_id"] = schedule_id
    if schedule_id is None:
        values["pending_seat_quantity"] = None
        values["pending_seat_effective_at"] = None
        return
    if not isinstance(schedule, Mapping):
        if row is not None and row.schedule_stripe_id == schedule_id:
            return  # the same schedule: its own events keep the pending change current
        if gateway is None:
            return
        fetched = await fetch_or_none(gateway.retrieve_subscription_schedule(schedule_id))
        if fetched is None:
            return
        schedule = plain(fetched)
    seat_prices = {seat["price_id"]} if seat else set()
    base_prices = {i["price_id"] for i in items if i["role"] == ItemRole.BASE}
    pending = pending_seat_change(
        schedule, seat_prices, base_prices, seat["quantity"] if seat else 0
    )
    values["pending_seat_quantity"] = pending[0] if pending else None
    values["pending_seat_effective_at"] = pending[1] if pending else None


async def _replace_items(row: Subscription, items: list[dict[str, Any]]) -> None:
    existing = {item.stripe_id: item for item in await SubscriptionItem.filter(subscription=row)}
    wanted = {item["stripe_id"] for item in items}
    stale = [item.id for sid, item in existing.items() if sid not in wanted]
    if stale:
        await SubscriptionItem.filter(id__in=stale).delete()
    for item in items:
        fields = {
            k: item[k]
            for k in (
                "price_id",
                "price_lookup_key",
                "quantity",
                "role",
                "current_period_start",
                "current_period_end",
            )
        }
        found = existing.get(item["stripe_id"])
        if found is None:
            await SubscriptionItem.create(
                id=uuid.uuid4(), stripe_id=item["stripe_id"], subscription=row, **fields
            )
        elif any(getattr(found, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(found, k, v)
            await found.save()


# Invoices --------------------------------------------------------------------------------


def invoice_subscription_id(inv: Mapping[str, Any]) -> str | None:
    """The invoice's subscription: ``parent.subscription_details.subscription`` since 2025."""
    parent = inv.get("parent") or {}
    details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
    if isinstance(details, Mapping) and details.get("subscription"):
        return object_id(details["subscription"])
    return object_id(inv.get("subscription"))


async def _invoice_workspace(inv: Mapping[str, Any], row: Invoice | None) -> uuid.UUID | None:
    if row is not None and row.workspace_id is not None:
        return uuid.UUID(str(row.workspace_id))
    customer_id = object_id(inv.get("customer"))
    if customer_id:
        found = await Workspace.get_or_none(stripe_customer_id=customer_id)
        if found is not None:
            return found.id
    subscription_id = invoice_subscription_id(inv)
    if subscription_id:
        sub = await Subscription.get_or_none(stripe_id=subscription_id)
        if sub is not None:
            return uuid.UUID(str(sub.workspace_id))
    parent = inv.get("parent") or {}
    details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
    metadata = (details or {}).get("metadata") if isinstance(details, Mapping) else None
    found = await workspace_by_id((metadata or {}).get("workspace_id"))
    return found.id if found else None


def _is_proration(line: Mapping[str, Any]) -> bool:
    parent = line.get("parent")
    if isinstance(parent, Mapping):
        for key in ("subscription_item_details", "invoice_item_details"):
            details = parent.get(key)
            if isinstance(details, Mapping) and details.get("proration"):
                return True
    return bool(line.get("proration"))  # before 2025: on the line itself


def _is_subscription_line(line: Mapping[str, Any]) -> bool:
    """A line billing a subscription item for its period (not an invoice item)."""
    parent = line.get("parent")
    if isinstance(parent, Mapping) and parent.get("type"):
        return parent.get("type") == "subscription_item_details"
    return line.get("type") == "subscription"  # before 2025


def service_period(lines: Sequence[Mapping[str, Any]]) -> tuple[int | None, int | None]:
    """The service period an invoice bills: from the earliest start to the latest end of its
    subscription lines that are not prorations (a renewal invoice's own ``period_start`` and
    ``period_end`` are the period that ENDED, not the one billed). An invoice of prorations
    only (a mid-period change invoiced at once) bills the span of its lines' periods; an
    invoice without line periods has none (None, None)."""
    with_period = [line for line in lines if isinstance(line.get("period"), Mapping)]
    billed = [
        line for line in with_period if _is_subscription_line(line) and not _is_proration(line)
    ] or with_period
    starts = [int(line["period"]["start"]) for line in billed if line["period"].get("start")]
    ends = [int(line["period"]["end"]) for line in billed if line["period"].get("end")]
    return (min(starts) if starts else None, max(ends) if ends else None)


async def _invoice_lines(
    inv: Mapping[str, Any], gateway: StripeGateway | None
) -> list[Mapping[str, Any]]:
    """All of the invoice's lines: the embedded list, and the rest through the invoice lines
    endpoint when Stripe truncated it (``has_more``)."""
    embedded = inv.get("lines") if isinstance(inv.get("lines"), Mapping) else {}
    lines: list[Mapping[str, Any]] = list((embedded or {}).get("data") or [])
    if (embedded or {}).get("has_more") and gateway is not None and inv.get("id"):
        lines = [plain(line) for line in await gateway.list_invoice_lines(str(inv["id"]))]
    return lines


async def _deleted_invoice(stripe_id: str) -> bool:
    return await WebhookEvent.filter(object_id=stripe_id, type="invoice.deleted").exists()


async def remove_invoice(
    stripe_id: str, *, event_id: str | None, dunning_max_attempts: int = 3
) -> Invoice | None:
    """A draft invoice was deleted in Stripe (``invoice.deleted``): drop it from the mirror.
    Returns the removed row (None when none was stored). Later (older) events about it are
    ignored, since the recorded ``invoice.deleted`` event marks it gone."""
    async with in_transaction():
        row = await Invoice.filter(stripe_id=stripe_id).select_for_update().first()
        if row is None:
            return None
        before = _fields(row, INVOICE_FIELDS)
        await row.delete()
        if row.workspace_id is not None:
            workspace_id = uuid.UUID(str(row.workspace_id))
            await audit(
                "invoice.deleted",
                workspace_id=workspace_id,
                event_id=event_id,
                before=before,
                after=None,
            )
            await dunning.refresh_restriction(
                workspace_id, max_attempts=dunning_max_attempts, event_id=event_id
            )
        return row


async def sync_invoice(
    stripe_invoice: StripeData,
    *,
    observed_at: int,
    event_id: str | None = None,
    gateway: StripeGateway | None = None,
    dunning_max_attempts: int = 3,
    fresh: bool | None = None,
    notification: bool = False,
) -> Invoice | None:
    """Mirror one Stripe invoice (same ordering rule, and ``notification``, as
    :func:`sync_subscription`) and re-evaluate its workspace's dunning state. An invoice whose
    workspace is not known yet is still stored (``workspace`` null) and claimed when its
    customer or subscription is linked. None when nothing is stored: a deleted draft
    (``invoice.deleted`` already received), or a notification about an invoice Stripe no
    longer has.

    The service period shown for it comes from its lines (:func:`service_period`); when
    Stripe's embedded list is truncated (``has_more``) the rest is read through ``gateway``.
    """
    return await _again_on_conflict(
        lambda: _sync_invoice(
            plain(stripe_invoice),
            observed_at=observed_at,
            event_id=event_id,
            gateway=gateway,
            dunning_max_attempts=dunning_max_attempts,
            is_fresh=event_id is None if fresh is None else fresh,
            notification=notification,
        )
    )


async def invoice_state(inv: Mapping[str, Any], gateway: StripeGateway | None) -> dict[str, Any]:
    """What the mirror stores for a Stripe invoice (its workspace aside). Writes nothing;
    reconciliation compares it with the rows. ``gateway`` reads the lines Stripe left out of
    a truncated embedded list (``has_more``)."""
    period_start, period_end = service_period(await _invoice_lines(inv, gateway))
    return {
        "stripe_customer_id": object_id(inv.get("customer")) or "",
        "subscription_stripe_id": invoice_subscription_id(inv),
        "number": inv.get("number"),
        "status": str(inv.get("status") or "draft"),
        "currency": str(inv.get("currency") or "usd"),
        "amount_due": int(inv.get("amount_due") or 0),
        "amount_paid": int(inv.get("amount_paid") or 0),
        "amount_remaining": int(inv.get("amount_remaining") or 0),
        "total": int(inv.get("total") or 0),
        "hosted_invoice_url": inv.get("hosted_invoice_url"),
        "attempt_count": int(inv.get("attempt_count") or 0),
        "billing_reason": inv.get("billing_reason"),
        "period_start": timestamp(inv.get("period_start")),
        "period_end": timestamp(inv.get("period_end")),
        "service_period_start": timestamp(period_start),
        "service_period_end": timestamp(period_end),
        "stripe_created": timestamp(inv.get("created")) or datetime.now(UTC),
    }


async def _sync_invoice(
    inv: dict[str, Any],
    *,
    observed_at: int,
    event_id: str | None,
    gateway: StripeGateway | None,
    dunning_max_attempts: int,
    is_fresh: bool,
    notification: bool,
) -> Invoice | None:
    stripe_id = str(inv["id"])
    async with in_transaction():
        row = await Invoice.filter(stripe_id=stripe_id).select_for_update().first()
        if row is None and await _deleted_invoice(stripe_id):
            return None  # a deleted draft: an older event must not bring it back
        if not is_fresh:
            if row is not None and observed_at < row.snapshot_at:
                return row
            if notification or (
                gateway is not None and await _unsure(stripe_id, row, observed_at, event_id)
            ):
                current = await fetch_or_none(_need(gateway).retrieve_invoice(stripe_id))
                if current is not None:
                    inv = plain(current)
                elif notification:
                    return row
        workspace_id = await _invoice_workspace(inv, row)
        values: dict[str, Any] = {"workspace_id": workspace_id, **await invoice_state(inv, gateway)}
        before = _fields(row, INVOICE_FIELDS) if row is not None else None
        if row is None:
            row = await Invoice.create(
                id=uuid.uuid4(), stripe_id=stripe_id, snapshot_at=observed_at, **values
            )
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.snapshot_at = max(row.snapshot_at, observed_at)
            await row.save(update_fields=[*values, "snapshot_at", "updated_at"])
        after = _fields(row, INVOICE_FIELDS)
        if workspace_id is not None:
            if before != after:
                await audit(
                    "invoice.created" if before is None else "invoice.updated",
                    workspace_id=workspace_id,
                    event_id=event_id,
                    before=before,
                    after=after,
                )
            await dunning.refresh_restriction(
                workspace_id, max_attempts=dunning_max_attempts, event_id=event_id
            )
        return row


# Reads -----------------------------------------------------------------------------------


def is_live(row: Subscription) -> bool:
    return row.status not in ENDED_STATUSES


# Read on every workspace view: SQL built once per number of workspaces.
_subscriptions_of = PreparedModels(
    Subscription,
    lambda ids: Subscription.filter(workspace_id__in=ids).order_by("-stripe_created", "-stripe_id"),
)


async def current_subscriptions(
    workspace_ids: Sequence[uuid.UUID],
) -> dict[uuid.UUID, Subscription | None]:
    """Each workspace's current subscription: the live one (newest if Stripe somehow has two),
    else the most recent ended one, else None. One query for any number of workspaces."""
    found: dict[uuid.UUID, Subscription | None] = {i: None for i in workspace_ids}
    for row in await _subscriptions_of(list(workspace_ids)):
        key = uuid.UUID(str(row.workspace_id))
        best = found.get(key)
        if best is None or (is_live(row) and not is_live(best)):
            found[key] = row
    return found


async def current_subscription(workspace_id: uuid.UUID) -> Subscription | None:
    return (await current_subscriptions([workspace_id]))[workspace_id]


async def live_subscription(workspace_id: uuid.UUID) -> Subscription | None:
    """The workspace's live (not canceled or expired) subscription, if any."""
    row = await current_subscription(workspace_id)
    return row if row is not None and is_live(row) else None
