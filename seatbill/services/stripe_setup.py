"""`seatbill stripe setup`: the Stripe account settings Seatbill relies on, made idempotently.

- The webhook endpoint for ``{PUBLIC_URL}/webhooks/stripe``, enabled for exactly the events
  Seatbill handles (the caller passes the handlers' registry) and pinned to the SDK's API
  version (``stripe.api_version``), so events arrive in the shapes the mirror reads. Stripe
  shows an endpoint's signing secret only when it is created: it is returned then, once.
  Stripe cannot change an endpoint's API version, so an endpoint for the URL in another version
  is left in place (it keeps delivering under the secret in use) and reported: create-and-swap
  is the operator's step (docs/stripe-setup.md).
- The customer-portal configuration portal sessions use: payment method update, invoice
  history, cancel at period end; customer details and subscription updates off, so a customer
  cannot change seat quantities past Seatbill's rules. It is found again by its metadata.

Running it again changes nothing and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import stripe
from stripe.params.billing_portal import ConfigurationCreateParams, ConfigurationUpdateParams

from seatbill.services.catalog_sync import SyncAction
from seatbill.services.stripe_gateway import (
    PORTAL_CONFIGURATION_METADATA,
    StripeGateway,
    fingerprint,
    intent_key,
    is_seatbill_portal_configuration,
)

WEBHOOK_PATH = "/webhooks/stripe"


# One line of what setup did, e.g. ``webhook endpoint https://...: created we_1``: the same
# record as catalog sync's (kind: webhook endpoint | portal configuration; outcome: created |
# updated | unchanged | stale).
SetupAction = SyncAction


@dataclass
class SetupReport:
    actions: list[SetupAction] = field(default_factory=list)
    # The new endpoint's signing secret: Stripe shows it only in the create answer.
    webhook_secret: str | None = None

    @property
    def changed(self) -> int:
        return sum(action.changed for action in self.actions)


def webhook_url(public_url: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH


# Webhook endpoint ----------------------------------------------------------------------


async def ensure_webhook_endpoint(
    gateway: StripeGateway, url: str, events: Sequence[str], api_version: str
) -> tuple[list[SetupAction], str | None]:
    wanted = sorted(set(events))
    same_url = [e for e in await gateway.list_webhook_endpoints() if e.url == url]
    current = next((e for e in same_url if e.api_version == api_version), None)
    actions: list[SetupAction] = []
    secret: str | None = None
    if current is None:
        created = await gateway.create_webhook_endpoint(
            url, enabled_events=wanted, api_version=api_version
        )
        secret = created.secret
        actions.append(
            SetupAction(
                "webhook endpoint",
                url,
                "created",
                f"{created.id} ({len(wanted)} events, API version {api_version})",
            )
        )
    else:
        have = sorted(current.enabled_events or [])
        if have != wanted or current.status != "enabled":
            key = intent_key("webhook-endpoint-update", current.id, fingerprint((have, wanted)))
            await gateway.update_webhook_endpoint(
                current.id,
                {"enabled_events": cast(Any, wanted), "disabled": False},
                idempotency_key=key,
            )
            added = sorted(set(wanted) - set(have))
            removed = sorted(set(have) - set(wanted))
            detail = "; ".join(
                part
                for part in (
                    f"+{', '.join(added)}" if added else "",
                    f"-{', '.join(removed)}" if removed else "",
                    "enabled again" if current.status != "enabled" else "",
                )
                if part
            )
            actions.append(
                SetupAction("webhook endpoint", url, "updated", f"{current.id} ({detail})")
            )
        else:
            actions.append(SetupAction("webhook endpoint", url, "unchanged", current.id))
    for other in same_url:
        if other.api_version != api_version:
            actions.append(
                SetupAction(
                    "webhook endpoint",
                    url,
                    "stale",
                    f"{other.id} is pinned to API version {other.api_version or '(account default)'}"
                    f"; delete it once STRIPE_WEBHOOK_SECRET holds the new endpoint's secret",
                )
            )
    return actions, secret


# Customer portal configuration -------------------------------------------------------------


def portal_configuration_params() -> ConfigurationCreateParams:
    key, value = PORTAL_CONFIGURATION_METADATA
    return {
        "features": {
            "payment_method_update": {"enabled": True},
            "invoice_history": {"enabled": True},
            "subscription_cancel": {
                "enabled": True,
                "mode": "at_period_end",
                "proration_behavior": "none",
            },
            # Seats follow Seatbill's rules (members, limits, schedules): no quantity or plan
            # changes in the portal.
            "subscription_update": {"enabled": False},
            "customer_update": {"enabled": False},
        },
        "metadata": {key: value},
    }


def portal_differences(config: stripe.billing_portal.Configuration) -> list[str]:
    """What in ``config`` differs from Seatbill's portal configuration."""
    features: dict[str, Any] = config.features.to_dict(recursive=True)
    wanted: dict[str, Any] = dict(portal_configuration_params()["features"])
    found: list[str] = []
    for name, fields in wanted.items():
        have = features.get(name) or {}
        for key, value in fields.items():
            if have.get(key) != value:
                found.append(f"{name}.{key} {have.get(key)!r} != {value!r}")
    if not config.active:
        found.append("inactive")
    return found


async def ensure_portal_configuration(gateway: StripeGateway) -> SetupAction:
    mine = [
        config
        for config in await gateway.list_portal_configurations()
        if is_seatbill_portal_configuration(config)
    ]
    # The newest active one, else the newest (lists are newest first).
    current = next((c for c in mine if c.active), mine[0] if mine else None)
    if current is None:
        created = await gateway.create_portal_configuration(portal_configuration_params())
        return SetupAction("portal configuration", "seatbill", "created", created.id)
    differences = portal_differences(current)
    if not differences:
        return SetupAction("portal configuration", "seatbill", "unchanged", current.id)
    params: ConfigurationUpdateParams = {
        "active": True,
        "features": portal_configuration_params()["features"],  # type: ignore[typeddict-item]
    }
    key = intent_key(
        "portal-configuration-update", current.id, current.updated, fingerprint(params)
    )
    await gateway.update_portal_configuration(current.id, params, idempotency_key=key)
    return SetupAction(
        "portal configuration", "seatbill", "updated", f"{current.id} ({'; '.join(differences)})"
    )


async def setup_stripe(
    gateway: StripeGateway,
    public_url: str,
    events: Sequence[str],
    *,
    api_version: str | None = None,
) -> SetupReport:
    """Create or update the webhook endpoint and the portal configuration."""
    report = SetupReport()
    actions, report.webhook_secret = await ensure_webhook_endpoint(
        gateway, webhook_url(public_url), events, api_version or stripe.api_version
    )
    report.actions.extend(actions)
    report.actions.append(await ensure_portal_configuration(gateway))
    return report
