"""The hosted checkout and billing portal pages, driven in headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import stripe
from playwright.async_api import Browser, async_playwright

from tests.emulator.conftest import Receiver
from tests.emulator.helpers import clock_customer, price, sub_item, subscribe

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def test_hosted_checkout_page_pays_and_redirects(
    client: stripe.StripeClient, browser: Browser, receiver: Receiver
) -> None:
    base = await price(client, 5000, name="Base")
    seat = await price(client, 1000, name="Seat")
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "customer_email": "page@example.com",
            "client_reference_id": "workspace-7",
            "line_items": [{"price": base.id, "quantity": 1}, {"price": seat.id, "quantity": 4}],
            "subscription_data": {"metadata": {"workspace_id": "workspace-7"}},
            "success_url": receiver.url + "/done?session={CHECKOUT_SESSION_ID}",
            "cancel_url": receiver.url + "/cancel",
        }
    )
    page = await browser.new_page()
    try:
        await page.goto(str(session.url))
        assert await page.text_content("#total") == "$90.00"
        await page.check("input[value=pm_card_visa]")
        await page.click("#pay")
        await page.wait_for_url(f"{receiver.url}/done?session={session.id}")
    finally:
        await page.close()
    done = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert done.status == "complete" and done.payment_status == "paid"
    sub = await client.v1.subscriptions.retrieve_async(str(done.subscription))
    assert sub.status == "active" and sub.metadata.to_dict() == {"workspace_id": "workspace-7"}
    customer = await client.v1.customers.retrieve_async(str(done.customer))
    assert customer.email == "page@example.com"


async def test_portal_page_changes_seats_and_cancels(
    client: stripe.StripeClient, browser: Browser
) -> None:
    base = await price(client, 5000, name="Base")
    seat = await price(client, 1000, name="Seat")
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(base.id, 1), (seat.id, 3)])
    portal = await client.v1.billing_portal.sessions.create_async(
        params={"customer": customer.id, "return_url": "https://example.com/account"}
    )
    page = await browser.new_page()
    try:
        await page.goto(str(portal.url))
        await page.fill("#quantity", "6")
        await page.click("#update")
        await page.wait_for_selector("#notice")
        await page.click("#cancel")
        await page.wait_for_selector("text=Cancels at period end")
    finally:
        await page.close()
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub_item(sub, seat.id).quantity == 6
    assert sub_item(sub, base.id).quantity == 1
    assert sub.cancel_at_period_end is True
