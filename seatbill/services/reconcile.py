"""Reconciliation: compare the mirror with Stripe, workspace by workspace, and repair it.

Webhooks get lost (an endpoint disabled for a while, a deploy that refused them for too
long) and people change subscriptions in the Dashboard. :func:`reconcile` walks every
workspace with a Stripe customer (in pages, by id), reads what Stripe has now (the customer's
subscriptions in every status, page after page, with their items read to the end, and its
latest invoices) and compares it with what the mirror stores, field by field, using the
mirror's own mapping (:func:`mirror.subscription_state`, :func:`mirror.invoice_state`). On an
auto-seat plan it also compares Stripe's seat quantity with the billable members.

With ``fix`` it re-mirrors each drifted object from a fresh read, through the mirror's
ordering rule: the snapshot is dated at the customer's "now" (its test clock's time in test
mode) read *before* the fresh read, and not marked fresh, so a webhook the running server
applied meanwhile (a newer snapshot) is never overwritten, and one from the same second makes
the mirror read Stripe again. A seat quantity that does not follow the members is handed to
seat sync (an outbox row), which sends it. docs/reconcile.md describes it for operators.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from seatbill.catalog import Catalog, SeatMode
from seatbill.models import Invoice, SeatOutbox, Subscription, SubscriptionItem, Workspace
from seatbill.services import mirror, seat_outbox, seat_sync, seats
from seatbill.services.stripe_gateway import GatewayError, StripeGateway

log = logging.getLogger("seatbill.reconcile")

RECONCILED = "reconciled"  # the seat outbox reason of a quantity drift found here
DEFAULT_PAGE_SIZE = 100
DEFAULT_INVOICE_LIMIT = 10  # "the latest invoices": how many per customer are compared

_ITEM_FIELDS = ("price_id", "quantity", "role", "current_period_start", "current_period_end")
# Statuses whose seat quantity seat sync keeps equal to the members (not before the first
# payment, not once ended).
_SEAT_SYNCED_STATUSES = ("active", "trialing", "past_due", "unpaid", "paused")

Progress = Callable[[int, int], None]


@dataclass
class Drift:
    """One difference between the mirror and Stripe. ``mirror`` and ``stripe`` are the two
    values (JSON-ready); ``fixed``: re-mirrored (or, for ``seats``, handed to seat sync)."""

    workspace_id: str
    object: str  # subscription | invoice | seats
    stripe_id: str
    field: str
    mirror: Any
    stripe: Any
    fixed: bool = False
    note: str | None = None

    def line(self) -> str:
        what = f"{self.object} {self.stripe_id} {self.field}"
        if self.object == "seats":
            what = f"seats of {self.stripe_id}: Stripe bills {self.stripe}, members need"
            text = f"workspace {self.workspace_id}: {what} {self.mirror}"
        else:
            text = (
                f"workspace {self.workspace_id}: {what}: mirror {_shown(self.mirror)}, "
                f"Stripe {_shown(self.stripe)}"
            )
        if self.fixed:
            text += " [queued for seat sync]" if self.object == "seats" else " [fixed]"
        if self.note:
            text += f" ({self.note})"
        return text

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _shown(value: Any) -> str:
    return "none" if value is None else repr(value) if isinstance(value, str) else str(value)


@dataclass
class Report:
    workspaces: int = 0
    drifts: list[Drift] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "workspace <id>: <safe message>"

    @property
    def unfixed(self) -> list[Drift]:
        return [drift for drift in self.drifts if not drift.fixed]

    def as_json(self) -> dict[str, Any]:
        return {
            "workspaces": self.workspaces,
            "drifts": [drift.as_json() for drift in self.drifts],
            "unfixed": len(self.unfixed),
            "errors": self.errors,
        }


@dataclass(frozen=True)
class _Found:
    """One Stripe object's drifts (empty: none)."""

    kind: str
    stripe_id: str
    drifts: list[Drift]


async def reconcile(
    gateway: StripeGateway,
    catalog: Catalog,
    *,
    fix: bool = False,
    workspace_ids: Sequence[uuid.UUID] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    invoice_limit: int = DEFAULT_INVOICE_LIMIT,
    dunning_max_attempts: int = 3,
    progress: Progress | None = None,
) -> Report:
    """Compare (and with ``fix`` repair) every workspace that has a Stripe customer, or only
    ``workspace_ids``. A Stripe error about one workspace is recorded in ``Report.errors`` and
    the walk goes on; Stripe unreachable (a retryable error) raises :class:`GatewayError`."""
    query = Workspace.filter(stripe_customer_id__isnull=False)
    if workspace_ids is not None:
        query = query.filter(id__in=list(workspace_ids))
    total = await query.count()
    report = Report()
    after: uuid.UUID | None = None
    while True:
        page_query = query.filter(id__gt=after) if after is not None else query
        page = await page_query.order_by("id").limit(page_size)
        if not page:
            return report
        for workspace in page:
            try:
                report.drifts += await _workspace(
                    gateway, catalog, workspace, fix, invoice_limit, dunning_max_attempts
                )
            except GatewayError as exc:
                if exc.retryable:
                    raise
                report.errors.append(f"workspace {workspace.id}: {exc.message}")
            report.workspaces += 1
            if progress is not None:
                progress(report.workspaces, total)
        after = page[-1].id


async def _workspace(
    gateway: StripeGateway,
    catalog: Catalog,
    workspace: Workspace,
    fix: bool,
    invoice_limit: int,
    dunning_max_attempts: int,
) -> list[Drift]:
    customer_id = str(workspace.stripe_customer_id)
    subs = [
        await _all_items(gateway, mirror.plain(s))
        for s in await gateway.list_subscriptions(customer_id)
    ]
    invoices = [
        mirror.plain(i) for i in await gateway.list_invoices(customer_id, limit=invoice_limit)
    ]
    found: list[_Found] = []
    sub_rows = {
        row.stripe_id: row
        for row in await Subscription.filter(stripe_id__in=[str(s["id"]) for s in subs])
    }
    for sub in subs:
        found.append(await _subscription(workspace, sub, sub_rows.get(str(sub["id"])), catalog))
    listed = {str(s["id"]) for s in subs}
    for row in await Subscription.filter(
        workspace_id=workspace.id, stripe_customer_id=customer_id
    ).exclude(stripe_id__in=list(listed)):
        found.append(
            _Found(
                "subscription",
                row.stripe_id,
                [_drift(workspace, "subscription", row.stripe_id, "exists", True, False)],
            )
        )
    inv_rows = {
        row.stripe_id: row
        for row in await Invoice.filter(stripe_id__in=[str(i["id"]) for i in invoices])
    }
    for inv in invoices:
        found.append(await _invoice(workspace, inv, inv_rows.get(str(inv["id"])), gateway))
    seat_drifts = await _seats(workspace, subs, catalog)
    drifts = [drift for item in found for drift in item.drifts] + seat_drifts
    if fix and drifts:
        now = await _customer_now(gateway, subs, invoices)
        for item in found:
            if item.drifts and (item.kind != "subscription" or item.stripe_id in listed):
                await _repair(gateway, catalog, workspace, item, now, dunning_max_attempts)
        if any(not drift.fixed for drift in seat_drifts):
            # The mirror holds Stripe's quantity now: seat sync sees the difference and sends.
            await seat_outbox.enqueue(workspace.id, RECONCILED)
            seat_sync.wake()  # a worker of this process (`seatbill worker`); others poll
            for drift in seat_drifts:
                drift.fixed = True
    return drifts


async def _all_items(gateway: StripeGateway, sub: dict[str, Any]) -> dict[str, Any]:
    """The subscription with every item: an embedded list holds the first page only."""
    embedded = sub.get("items")
    if isinstance(embedded, Mapping) and embedded.get("has_more"):
        items = await gateway.list_subscription_items(str(sub["id"]))
        sub["items"] = {**embedded, "data": [mirror.plain(i) for i in items], "has_more": False}
    return sub


def _drift(
    workspace: Workspace, kind: str, stripe_id: str, name: str, ours: Any, theirs: Any
) -> Drift:
    return Drift(
        workspace_id=str(workspace.id),
        object=kind,
        stripe_id=stripe_id,
        field=name,
        mirror=mirror.json_value(ours),
        stripe=mirror.json_value(theirs),
    )


def _compare(
    workspace: Workspace,
    kind: str,
    stripe_id: str,
    row: Any,
    values: Mapping[str, Any],
    names: Sequence[str],
) -> list[Drift]:
    return [
        _drift(workspace, kind, stripe_id, name, getattr(row, name), values[name])
        for name in names
        if name in values and getattr(row, name) != values[name]
    ]


async def _subscription(
    workspace: Workspace, sub: Mapping[str, Any], row: Subscription | None, catalog: Catalog
) -> _Found:
    stripe_id = str(sub["id"])
    values, items = await mirror.subscription_state(sub, catalog)
    if row is None:
        drift = _drift(workspace, "subscription", stripe_id, "exists", False, True)
        return _Found("subscription", stripe_id, [drift])
    drifts = _compare(workspace, "subscription", stripe_id, row, values, mirror.SUBSCRIPTION_FIELDS)
    ours = {
        item.stripe_id: {k: getattr(item, k) for k in _ITEM_FIELDS}
        for item in await SubscriptionItem.filter(subscription_id=row.id)
    }
    theirs = {item["stripe_id"]: {k: item[k] for k in _ITEM_FIELDS} for item in items}
    for item_id in sorted(set(ours) | set(theirs)):
        mine, stripes = ours.get(item_id), theirs.get(item_id)
        if mine is None or stripes is None:
            name = f"item {item_id} exists"
            drifts.append(
                _drift(workspace, "subscription", stripe_id, name, bool(mine), bool(stripes))
            )
            continue
        drifts += [
            _drift(workspace, "subscription", stripe_id, f"item {item_id} {k}", mine[k], stripes[k])
            for k in _ITEM_FIELDS
            if mine[k] != stripes[k]
        ]
    return _Found("subscription", stripe_id, drifts)


async def _invoice(
    workspace: Workspace, inv: Mapping[str, Any], row: Invoice | None, gateway: StripeGateway
) -> _Found:
    stripe_id = str(inv["id"])
    if row is None:
        return _Found(
            "invoice", stripe_id, [_drift(workspace, "invoice", stripe_id, "exists", False, True)]
        )
    values = await mirror.invoice_state(inv, gateway)
    return _Found(
        "invoice",
        stripe_id,
        _compare(workspace, "invoice", stripe_id, row, values, mirror.INVOICE_FIELDS),
    )


async def _seats(
    workspace: Workspace, subs: Sequence[Mapping[str, Any]], catalog: Catalog
) -> list[Drift]:
    """On an auto-seat plan, Stripe's seat quantity against the billable members."""
    if workspace.deleted_at is not None:
        return []
    drifts: list[Drift] = []
    for sub in subs:
        if sub.get("status") not in _SEAT_SYNCED_STATUSES:
            continue
        values, _ = await mirror.subscription_state(sub, catalog)
        plan = catalog.get(values["plan_key"]) if values["plan_key"] else None
        if plan is None or plan.seat_mode is not SeatMode.AUTO:
            continue
        wanted = seats.auto_quantity(await seats.billable_count(workspace.id))
        if values["seat_quantity"] != wanted:
            drift = _drift(
                workspace, "seats", str(sub["id"]), "seat_quantity", wanted, values["seat_quantity"]
            )
            if await _seat_sync_queued(workspace.id):
                # A membership change seat sync has not sent yet (or retries): under way.
                drift.fixed, drift.note = True, "a membership change seat sync has not sent yet"
            drifts.append(drift)
    return drifts


async def _seat_sync_queued(workspace_id: uuid.UUID) -> bool:
    return await SeatOutbox.filter(workspace_id=workspace_id, processed_at__isnull=True).exists()


async def _customer_now(
    gateway: StripeGateway,
    subs: Sequence[Mapping[str, Any]],
    invoices: Sequence[Mapping[str, Any]],
) -> int:
    """Stripe's "now" for the customer: its test clock's time in test mode (the time its
    events carry), else the real time."""
    clock = next(
        (mirror.object_id(o.get("test_clock")) for o in [*subs, *invoices] if o.get("test_clock")),
        None,
    )
    return await gateway.retrieve_test_clock_time(clock) if clock else int(time.time())


async def _repair(
    gateway: StripeGateway,
    catalog: Catalog,
    workspace: Workspace,
    found: _Found,
    now: int,
    dunning_max_attempts: int,
) -> None:
    """Re-mirror one object from a fresh read dated ``now`` (read before it), then compare
    again: the drifts are fixed when none is left."""
    if found.kind == "subscription":
        fresh = await mirror.fetch_or_none(gateway.retrieve_subscription(found.stripe_id))
        if fresh is None:
            return
        sub = await _all_items(gateway, mirror.plain(fresh))
        row = await mirror.sync_subscription(
            sub,
            observed_at=now,
            workspace_id=workspace.id,
            catalog=catalog,
            gateway=gateway,
            dunning_max_attempts=dunning_max_attempts,
            fresh=False,
        )
        left = (await _subscription(workspace, sub, row, catalog)).drifts if row else [None]
    else:
        fresh_invoice = await mirror.fetch_or_none(gateway.retrieve_invoice(found.stripe_id))
        if fresh_invoice is None:
            return
        inv = mirror.plain(fresh_invoice)
        invoice_row = await mirror.sync_invoice(
            inv,
            observed_at=now,
            gateway=gateway,
            dunning_max_attempts=dunning_max_attempts,
            fresh=False,
        )
        left = (
            (await _invoice(workspace, inv, invoice_row, gateway)).drifts if invoice_row else [None]
        )
    for drift in found.drifts:
        drift.fixed = not left
        if left:
            drift.note = "still differs after re-mirroring: changed meanwhile? run again"


async def run_periodically(
    gateway: StripeGateway,
    catalog: Catalog,
    every_seconds: float,
    stop: asyncio.Event,
    *,
    dunning_max_attempts: int = 3,
) -> None:
    """`seatbill worker` with RECONCILE_EVERY: ``reconcile --fix`` every ``every_seconds``
    until ``stop`` is set; each drift is logged, a failed run is logged and tried next time."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
            return
        except TimeoutError:
            pass
        try:
            report = await reconcile(
                gateway, catalog, fix=True, dunning_max_attempts=dunning_max_attempts
            )
        except Exception:
            log.exception("periodic reconciliation failed; trying again in %ss", every_seconds)
            continue
        for drift in report.drifts:
            log.warning("reconcile: %s", drift.line())
        for error in report.errors:
            log.error("reconcile: %s", error)
        log.info(
            "reconcile: %d workspace(s), %d drift(s), %d not fixed",
            report.workspaces,
            len(report.drifts),
            len(report.unfixed),
        )
