"""Previews: what a seat change or plan switch would charge now and on the next invoice, from
Stripe's own invoice previews made the way the change itself would be made."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from seatbill.catalog import Interval
from seatbill.models import User
from seatbill.services.billing.core import (
    Billing,
    LiveSubscription,
    customer_now,
    provider_errors,
    require_manager,
)
from seatbill.services.billing.plan_changes import plan_change, plan_items
from seatbill.services.billing.seat_changes import Timing, seat_change, seat_items
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.stripe_gateway import StripeGateway, intent_key


@dataclass(frozen=True)
class PreviewLine:
    description: str
    amount: int
    proration: bool


@dataclass(frozen=True)
class Preview:
    """What a change would cost: due now (an invoice made at once) and the next invoice."""

    currency: str
    amount_due_now: int
    next_invoice_total: int
    lines: tuple[PreviewLine, ...]
    effective_at: datetime  # when the change takes effect (now, or the next period start)
    proration_date: datetime  # the instant Stripe prorated at: send it back with the change


# Previews -------------------------------------------------------------------------------


async def preview_seat_change(
    billing: Billing, viewer: User, raw_workspace_id: str, seat_count: int
) -> Preview:
    """What ``update_seats(seat_count)`` would charge now and on the next invoice; on an auto
    plan, what ``seat_count`` members would cost as seat sync bills them (prorations on the
    next invoice)."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "previewSeatChange")
    async with provider_errors():
        change = await seat_change(billing, workspace, seat_count, preview=True)
        return await _preview(billing, change.view, seat_items(change), change.timing)


async def preview_plan_change(
    billing: Billing, viewer: User, raw_workspace_id: str, plan_id: str, interval: Interval
) -> Preview:
    """What ``swap_plan(plan_id, interval)`` would charge now and on the next invoice."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "previewPlanChange")
    async with provider_errors():
        change = await plan_change(billing, workspace, plan_id, interval)
        items = await plan_items(billing, change)
        new_period = change.interval != change.view.interval
        return await _preview(billing, change.view, items, "now", new_period=new_period)


async def _preview(
    billing: Billing,
    view: LiveSubscription,
    items: list[dict[str, Any]],
    timing: Timing,
    *,
    new_period: bool = False,
) -> Preview:
    """Stripe's invoice previews for ``items``, made the way the change itself would be made:
    ``now``: the invoice made at once (``always_invoice``) and the next period's;
    ``period_end``: nothing now and the next period's; ``next_invoice``: the prorations
    (``create_prorations``) that the next invoice will carry, and that invoice. A subscription
    set to cancel at the period end has no next invoice: its total is 0, and prorations meant
    for it cannot be previewed (CONFLICT)."""
    gateway = billing.stripe()
    ending = view.cancel_at_period_end
    if ending and timing == "next_invoice":
        raise DomainError(
            ErrorCode.CONFLICT,
            "The subscription ends at the period end, so there is no next invoice to preview: "
            "resume it first",
            ("input", "workspaceId"),
        )
    now = await customer_now(billing, view.test_clock)
    state = view.fingerprint()
    digest = _digest(items)
    lines: tuple[PreviewLine, ...] = ()
    due_now = 0
    currency = str(view.raw.currency)
    if timing == "now":
        immediate = await gateway.preview_invoice(
            {
                "subscription": view.id,
                "subscription_details": {
                    "items": items,  # type: ignore[typeddict-item]
                    "proration_behavior": "always_invoice",
                    "proration_date": now,
                },
            },
            idempotency_key=intent_key("preview-now", view.id, digest, state, now),
        )
        due_now = int(immediate.amount_due)
        currency = str(immediate.currency)
        lines = _lines(await _all_lines(gateway, immediate))
    prorate = timing == "next_invoice"
    if ending:
        return Preview(
            currency=currency,
            amount_due_now=due_now,
            next_invoice_total=0,
            lines=lines,
            effective_at=datetime.fromtimestamp(
                view.period_end if timing == "period_end" else now, UTC
            ),
            proration_date=datetime.fromtimestamp(now, UTC),
        )
    upcoming = await gateway.preview_invoice(
        {
            "subscription": view.id,
            "subscription_details": {
                "items": items,  # type: ignore[typeddict-item]
                "proration_behavior": "create_prorations" if prorate else "none",
                **({"proration_date": now} if prorate else {}),
            },
        },
        idempotency_key=intent_key("preview-next", view.id, digest, state, timing, now),
    )
    next_total = int(upcoming.total)
    if prorate:
        lines = tuple(
            line for line in _lines(await _all_lines(gateway, upcoming)) if line.proration
        )
    elif new_period:
        # Another interval starts a new period now: the invoice made at once bills it, and
        # its regular (non-proration) lines are what every later period costs.
        next_total = sum(line.amount for line in lines if not line.proration)
    effective = view.period_end if timing == "period_end" else now
    return Preview(
        currency=currency,
        amount_due_now=due_now,
        next_invoice_total=next_total,
        lines=lines,
        effective_at=datetime.fromtimestamp(effective, UTC),
        proration_date=datetime.fromtimestamp(now, UTC),
    )


async def _all_lines(
    gateway: StripeGateway, invoice: stripe.Invoice
) -> list[stripe.InvoiceLineItem]:
    """Stripe embeds only the first lines (``has_more``); a preview's pages by its id too."""
    if not invoice.lines.has_more:
        return list(invoice.lines.data)
    return await gateway.list_invoice_lines(str(invoice.id))


def _lines(lines: list[stripe.InvoiceLineItem]) -> tuple[PreviewLine, ...]:
    return tuple(
        PreviewLine(
            description=str(line.description or ""),
            amount=int(line.amount),
            proration=_is_proration(line),
        )
        for line in lines
    )


def _digest(items: list[dict[str, Any]]) -> str:
    text = ";".join(",".join(f"{k}={v}" for k, v in sorted(item.items())) for item in items)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _is_proration(line: stripe.InvoiceLineItem) -> bool:
    parent = line.to_dict().get("parent") or {}
    for key in ("subscription_item_details", "invoice_item_details"):
        details = parent.get(key) or {}
        if details.get("proration"):
            return True
    return False
