"""Steps the webhook tests share: the catalog's prices in the emulator, checkout through the
emulator, events signed as Stripe signs them, and fixtures3.json shapes. (No tests here.)"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import stripe

from seatbill.catalog import Catalog, default_catalog_path, load_catalog
from seatbill.models import WebhookEvent
from seatbill.services.catalog_sync import sync_catalog
from seatbill.services.stripe_gateway import StripeGateway
from tests.conftest import drain_webhooks, settle_webhooks
from tests.emulator.helpers import complete as complete_checkout
from tests.emulator.helpers import save_card

FIXTURES = Path(__file__).resolve().parent / "fixtures/stripe/fixtures3.json"
JUNE_1 = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())  # June has 30 days
DAY = 86400


def tag() -> str:
    return uuid.uuid4().hex[:10]


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return load_catalog(default_catalog_path())


@lru_cache(maxsize=1)
def _fixtures() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
    return resources


def fixture(kind: str) -> dict[str, Any]:
    """A fresh copy of fixtures3.json's example of a Stripe object (2025+ shapes)."""
    return copy.deepcopy(_fixtures()[kind])


def sign(payload: bytes | str, secret: str, at: int | None = None) -> str:
    """The Stripe-Signature header: t=<unix>,v1=HMAC-SHA256(secret, "t.payload")."""
    text = payload.decode() if isinstance(payload, bytes) else payload
    t = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{t}.{text}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event(type_: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    """An event around ``obj``, shaped like fixtures3.json's."""
    out = fixture("event")
    out.update(
        id=f"evt_{tag()}{tag()}",
        type=type_,
        created=int(time.time()) if created is None else created,
        data={"object": obj},
        api_version=stripe.api_version,
    )
    return out


async def deliver(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    evt: dict[str, Any] | bytes,
    *,
    at: int | None = None,
) -> httpx.Response:
    """POST an event to the API's webhook endpoint, signed as Stripe signs it, and wait until
    the API's event processor has applied what it recorded."""
    body = evt if isinstance(evt, bytes) else json.dumps(evt).encode()
    response = await http.post(
        f"{url}/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": sign(body, secret, at), "Content-Type": "application/json"},
    )
    await drain_webhooks()
    return response


async def outcome(evt: dict[str, Any]) -> str:
    """What the API made of a delivered event (its inbox row's outcome)."""
    row = await WebhookEvent.get(id=evt["id"])
    return row.outcome.value


# The catalog in the emulator -------------------------------------------------------------


async def catalog_prices(gateway: StripeGateway) -> dict[str, str]:
    """The catalog's products and prices in the emulator (``seatbill catalog sync``'s code,
    idempotent); returns lookup key -> price id."""
    await sync_catalog(gateway, catalog())
    keys = [ref.lookup_key for _, ref in catalog().price_refs() if ref.lookup_key]
    listed = await gateway.client.v1.prices.list_async(params={"lookup_keys": keys, "limit": 100})
    return {price.lookup_key: price.id for price in listed.data if price.lookup_key}


def plan_items(
    prices: dict[str, str], plan_key: str, interval: str, seats: int
) -> list[tuple[str, int]]:
    """(price id, quantity) for a plan: base at 1 (when the plan has one), seats at ``seats``."""
    plan = catalog().get(plan_key)
    assert plan is not None
    plan_price = plan.price(interval)
    assert plan_price is not None
    items = []
    if plan_price.base is not None and plan_price.base.lookup_key:
        items.append((prices[plan_price.base.lookup_key], 1))
    assert plan_price.seat.lookup_key
    items.append((prices[plan_price.seat.lookup_key], seats))
    return items


async def checkout(
    client: stripe.StripeClient,
    workspace_id: str,
    items: list[tuple[str, int]],
    *,
    payment_method: str = "pm_card_visa",
    clock_at: int | None = None,
    subscription_metadata: bool = False,
) -> tuple[stripe.checkout.Session, str | None]:
    """Checkout as Seatbill does it (client_reference_id and metadata.workspace_id), completed
    through the emulator's test helper. With ``clock_at`` the customer is on a new test clock
    (so the subscription renews); returns the completed session and the clock id."""
    clock_id = None
    customer_params: dict[str, Any] = {
        "email": f"{tag()}@example.com",
        "metadata": {"workspace_id": workspace_id},
    }
    if clock_at is not None:
        clock = await client.v1.test_helpers.test_clocks.create_async(
            params={"frozen_time": clock_at}
        )
        clock_id = clock.id
        customer_params["test_clock"] = clock.id
    customer = await client.v1.customers.create_async(params=customer_params)
    params: dict[str, Any] = {
        "mode": "subscription",
        "customer": customer.id,
        "line_items": [{"price": p, "quantity": q} for p, q in items],
        "client_reference_id": workspace_id,
        "metadata": {"workspace_id": workspace_id},
        "success_url": "https://example.com/done?session={CHECKOUT_SESSION_ID}",
    }
    if subscription_metadata:
        params["subscription_data"] = {"metadata": {"workspace_id": workspace_id}}
    session = await client.v1.checkout.sessions.create_async(params=params)
    return await complete_checkout(client, session.id, payment_method), clock_id


async def switch_card(
    client: stripe.StripeClient, session: stripe.checkout.Session, token: str
) -> None:
    """After checkout the customer's card changes, as Stripe lets an integration do it: attach
    the new card and make it the customer's and the subscription's default payment method."""
    pm = await save_card(client, str(session.customer), token)
    await client.v1.subscriptions.update_async(
        str(session.subscription), params={"default_payment_method": pm.id}
    )


async def advance(client: stripe.StripeClient, clock_id: str, to: int) -> None:
    await client.v1.test_helpers.test_clocks.advance_async(clock_id, params={"frozen_time": to})
    for _ in range(200):
        clock = await client.v1.test_helpers.test_clocks.retrieve_async(clock_id)
        if clock.status == "ready":
            return
    raise AssertionError("test clock never became ready")


async def all_events(client: stripe.StripeClient) -> list[dict[str, Any]]:
    """Every event the emulator holds, oldest first, as plain JSON."""
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = await client.v1.events.list_async(params=params)
        out.extend(e.to_dict(for_json=True) for e in page.data)
        if not page.has_more:
            break
        params = {"limit": 100, "starting_after": page.data[-1].id}
    out.reverse()
    return out


# Stripe objects from fixtures3.json shapes ---------------------------------------------------


def subscription_object(
    customer: str,
    *,
    sub_id: str | None = None,
    status: str = "active",
    seats: int = 3,
    lookup_key: str = "seatbill_team_seat_month",
    period_start: int = JUNE_1,
    period_end: int = JUNE_1 + 30 * DAY,
    metadata: dict[str, str] | None = None,
    cancel_at_period_end: bool = False,
    latest_invoice: str | None = None,
) -> dict[str, Any]:
    """fixtures3.json's subscription with one seat item whose price has ``lookup_key``."""
    sub = fixture("subscription")
    sub_id = sub_id or f"sub_{tag()}"
    sub.update(
        id=sub_id,
        customer=customer,
        status=status,
        metadata=metadata or {},
        created=period_start,
        start_date=period_start,
        billing_cycle_anchor=period_start,
        cancel_at=period_end if cancel_at_period_end else None,
        cancel_at_period_end=cancel_at_period_end,
        canceled_at=None,
        ended_at=None,
        trial_end=None,
        latest_invoice=latest_invoice,
        schedule=None,
        test_clock=None,
    )
    item = sub["items"]["data"][0]
    item.update(
        id=f"si_{tag()}",
        subscription=sub_id,
        quantity=seats,
        current_period_start=period_start,
        current_period_end=period_end,
    )
    item["price"].update(id=f"price_{tag()}", lookup_key=lookup_key, unit_amount=1000)
    sub["items"]["data"] = [item]
    sub["items"]["url"] = f"/v1/subscription_items?subscription={sub_id}"
    return sub


def invoice_object(
    customer: str,
    *,
    subscription: str | None,
    invoice_id: str | None = None,
    status: str = "open",
    amount_due: int = 3000,
    amount_paid: int = 0,
    attempt_count: int = 0,
    created: int = JUNE_1,
) -> dict[str, Any]:
    """fixtures3.json's invoice, its subscription at parent.subscription_details."""
    inv = fixture("invoice")
    inv.update(
        id=invoice_id or f"in_{tag()}",
        customer=customer,
        status=status,
        number=f"SB-{tag()[:6].upper()}",
        currency="usd",
        amount_due=amount_due,
        amount_paid=amount_paid,
        amount_remaining=amount_due - amount_paid,
        total=amount_due,
        attempt_count=attempt_count,
        attempted=attempt_count > 0,
        billing_reason="subscription_cycle",
        created=created,
        period_start=created,
        period_end=created,
        hosted_invoice_url=f"https://invoice.stripe.com/i/{tag()}",
        parent={
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription},
        },
    )
    return inv


async def settle(emulator: Any, within: float = 10) -> None:
    """Wait until the emulator has delivered every webhook and the API has applied them."""
    await settle_webhooks(emulator, within)
