"""`seatbill stripe setup`: the webhook endpoint and the customer portal configuration, made
once and left alone afterwards. Stripe is the emulator, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from seatbill.cli import main
from seatbill.services.stripe_gateway import StripeGateway
from seatbill.services.stripe_setup import setup_stripe
from seatbill.webhooks.handlers import HANDLERS, handled_events
from stripe_emulator import EmulatorServer

PUBLIC_URL = "https://billing.example.com"
WEBHOOK_URL = f"{PUBLIC_URL}/webhooks/stripe"


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


def gateway_for(server: EmulatorServer) -> StripeGateway:
    return StripeGateway("sk_test_setup", api_base=server.url, max_network_retries=0)


async def endpoints(gateway: StripeGateway) -> list[stripe.WebhookEndpoint]:
    return [e for e in await gateway.list_webhook_endpoints() if e.url == WEBHOOK_URL]


def test_the_events_are_the_handlers_registry() -> None:
    events = handled_events()
    assert events == sorted(HANDLERS)
    assert "invoice.deleted" in events and "customer.subscription.updated" in events


def test_the_cli_sets_up_once_prints_the_secret_once_and_then_changes_nothing(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    monkeypatch.setenv("STRIPE_API_BASE", emulator.url)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)

    assert main(["stripe", "setup"]) == 0
    out = capsys.readouterr().out
    assert f"webhook endpoint {WEBHOOK_URL}: created we_" in out
    assert f"API version {stripe.api_version}" in out
    assert "portal configuration seatbill: created bpc_" in out
    assert "Webhook signing secret (shown once; set it as STRIPE_WEBHOOK_SECRET): whsec_" in out
    assert out.strip().endswith("2 change(s)")

    assert main(["stripe", "setup"]) == 0
    again = capsys.readouterr().out
    assert "whsec_" not in again
    assert f"webhook endpoint {WEBHOOK_URL}: unchanged we_" in again
    assert "portal configuration seatbill: unchanged bpc_" in again
    assert again.strip().endswith("Stripe is already set up; nothing changed")

    state = emulator.emulator.state
    (endpoint,) = state.all("webhook_endpoint")
    assert endpoint["url"] == WEBHOOK_URL
    assert endpoint["enabled_events"] == handled_events()
    assert endpoint["api_version"] == stripe.api_version
    (config,) = state.all("billing_portal.configuration")
    features = config["features"]
    assert features["payment_method_update"]["enabled"] is True
    assert features["invoice_history"]["enabled"] is True
    assert (
        features["subscription_cancel"]["enabled"],
        features["subscription_cancel"]["mode"],
    ) == (
        True,
        "at_period_end",
    )
    assert features["subscription_update"]["enabled"] is False  # no seat changes in the portal


async def test_drift_is_put_back_and_reported(emulator: EmulatorServer) -> None:
    gateway = gateway_for(emulator)
    await setup_stripe(gateway, PUBLIC_URL, handled_events())
    (endpoint,) = await endpoints(gateway)
    # Someone trims the events and lets the portal change quantities, in the Dashboard.
    await gateway.client.v1.webhook_endpoints.update_async(
        endpoint.id, params={"enabled_events": ["invoice.paid"], "disabled": True}
    )
    config_id = await gateway.portal_configuration_id()
    assert config_id
    await gateway.client.v1.billing_portal.configurations.update_async(
        config_id, params={"features": {"subscription_update": {"enabled": True}}}
    )

    report = await setup_stripe(gateway, PUBLIC_URL, handled_events())

    lines = [str(a) for a in report.actions]
    assert lines[0].startswith(f"webhook endpoint {WEBHOOK_URL}: updated {endpoint.id} (+")
    assert "enabled again" in lines[0]
    assert lines[1].startswith(f"portal configuration seatbill: updated {config_id}")
    assert "subscription_update.enabled True != False" in lines[1]
    assert report.webhook_secret is None  # the same endpoint: its secret did not change
    (fixed,) = await endpoints(gateway)
    assert sorted(fixed.enabled_events) == handled_events() and fixed.status == "enabled"
    assert (await setup_stripe(gateway, PUBLIC_URL, handled_events())).changed == 0


async def test_an_endpoint_in_another_api_version_gets_a_pinned_successor(
    emulator: EmulatorServer,
) -> None:
    gateway = gateway_for(emulator)
    old = await gateway.client.v1.webhook_endpoints.create_async(
        params={"url": WEBHOOK_URL, "enabled_events": ["*"], "api_version": "2024-06-20"}
    )

    report = await setup_stripe(gateway, PUBLIC_URL, handled_events())

    outcomes = [
        (a.outcome, a.detail.split()[0]) for a in report.actions if a.kind == "webhook endpoint"
    ]
    assert outcomes[0][0] == "created" and outcomes[1] == ("stale", old.id)
    assert report.webhook_secret and report.webhook_secret.startswith("whsec_")
    versions = sorted((e.api_version or "") for e in await endpoints(gateway))
    assert versions == sorted(["2024-06-20", stripe.api_version])


async def test_portal_sessions_use_the_configuration_once_it_exists(
    emulator: EmulatorServer,
) -> None:
    gateway = gateway_for(emulator)
    customer = await gateway.create_customer("workspace-portal")
    before = await gateway.create_portal_session(
        customer.id, "https://app.example.com/billing", idempotency_key="portal-before"
    )
    sessions = emulator.emulator.state.all("billing_portal.session")
    assert before.endswith(sessions[0]["id"]) and sessions[0]["configuration"] == "bpc_emulated"

    await setup_stripe(gateway, PUBLIC_URL, handled_events())
    config_id = await gateway.portal_configuration_id()
    await gateway.create_portal_session(
        customer.id, "https://app.example.com/billing", idempotency_key="portal-after"
    )

    latest = emulator.emulator.state.all("billing_portal.session")[0]
    assert config_id and latest["configuration"] == config_id
