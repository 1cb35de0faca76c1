"""Customer portal configurations: what a portal session lets the customer do.

https://docs.stripe.com/api/customer_portal/configurations/create (features required, each
with its ``enabled``), .../update (``active``, ``features``, ``metadata``), .../list
(``active``, ``is_default``), and https://docs.stripe.com/api/customer_portal/sessions/create
(``configuration``: the session uses it; without it, the default configuration).
"""

from __future__ import annotations

import httpx
import pytest
import stripe

from stripe_emulator import EmulatorServer
from tests.emulator.helpers import clock_customer, price, sub_item, subscribe, tag

SEATBILL_LIKE = {
    "invoice_history": {"enabled": True},
    "payment_method_update": {"enabled": True},
    "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
    "subscription_update": {"enabled": False},
    "customer_update": {"enabled": False},
}


async def test_a_configuration_is_created_found_by_metadata_updated_and_used_by_sessions(
    client: stripe.StripeClient,
) -> None:
    marker = tag()
    config = await client.v1.billing_portal.configurations.create_async(
        params={"features": SEATBILL_LIKE, "metadata": {"owner": marker}}  # type: ignore[typeddict-item]
    )
    assert config.id.startswith("bpc_") and config.object == "billing_portal.configuration"
    assert config.active is True and config.is_default is False
    features = config.features
    assert features.invoice_history.enabled and features.payment_method_update.enabled
    assert (features.subscription_cancel.enabled, features.subscription_cancel.mode) == (
        True,
        "at_period_end",
    )
    assert features.subscription_update.enabled is False
    assert features.subscription_update.proration_behavior == "none"  # Stripe's default

    listed = await client.v1.billing_portal.configurations.list_async(
        params={"active": True, "limit": 100}
    )
    assert [
        c.id for c in listed.data if c.metadata and c.metadata.to_dict().get("owner") == marker
    ] == [config.id]

    updated = await client.v1.billing_portal.configurations.update_async(
        config.id,
        params={"features": {"subscription_cancel": {"mode": "immediately"}}},
    )
    # A feature's enabled is kept when only its other fields change.
    assert updated.features.subscription_cancel.enabled is True
    assert updated.features.subscription_cancel.mode == "immediately"
    assert updated.updated >= config.updated
    again = await client.v1.billing_portal.configurations.retrieve_async(config.id)
    assert again.features.subscription_cancel.mode == "immediately"

    _, customer = await clock_customer(client)
    session = await client.v1.billing_portal.sessions.create_async(
        params={"customer": customer.id, "configuration": config.id}
    )
    assert session.configuration == config.id

    await client.v1.billing_portal.configurations.update_async(config.id, params={"active": False})
    inactive = await client.v1.billing_portal.configurations.list_async(
        params={"active": False, "limit": 100}
    )
    assert config.id in [c.id for c in inactive.data]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.billing_portal.sessions.create_async(
            params={"customer": customer.id, "configuration": config.id}
        )
    assert refused.value.http_status == 400


async def test_configurations_need_features_and_sessions_an_existing_one(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as no_features:
        await client.v1.billing_portal.configurations.create_async(params={})  # type: ignore[typeddict-item]
    assert no_features.value.param == "features"
    with pytest.raises(stripe.InvalidRequestError) as no_enabled:
        await client.v1.billing_portal.configurations.create_async(
            params={"features": {"subscription_cancel": {"mode": "at_period_end"}}}  # type: ignore[typeddict-item]
        )
    assert no_enabled.value.param == "features[subscription_cancel][enabled]"
    _, customer = await clock_customer(client)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await client.v1.billing_portal.sessions.create_async(
            params={"customer": customer.id, "configuration": "bpc_nope"}
        )
    assert missing.value.http_status == 404 and missing.value.param == "configuration"


async def test_the_hosted_page_offers_only_what_the_configuration_allows(
    client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    seat = await price(client, 1000, name="Seat")
    _, customer = await clock_customer(client)
    sub = await subscribe(client, customer, [(seat.id, 3)])
    config = await client.v1.billing_portal.configurations.create_async(
        params={"features": SEATBILL_LIKE}  # type: ignore[typeddict-item]
    )
    portal = await client.v1.billing_portal.sessions.create_async(
        params={"customer": customer.id, "configuration": config.id}
    )
    async with httpx.AsyncClient() as http:
        page = await http.get(str(portal.url))
        assert "Update seats" not in page.text and "Cancel at period end" in page.text
        refused = await http.post(
            f"{emulator.url}/portal/{portal.id}/quantity",
            data={"subscription": sub.id, "quantity": "9"},
        )
        assert refused.status_code == 403
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub_item(sub, seat.id).quantity == 3
