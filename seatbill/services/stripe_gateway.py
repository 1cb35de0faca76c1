"""The only module that calls Stripe.

Every call goes through one ``StripeClient`` (async methods, typed params) with timeouts and
network retries; every POST carries an idempotency key derived from the intent, so the same
intent retried never creates a second object. Stripe's errors become ``GatewayError`` with a
message safe to show; the details go to the log, never the key.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar, cast

import stripe
from stripe.params import (
    CustomerCreateParams,
    InvoiceCreatePreviewParams,
    InvoiceLineItemListParams,
    InvoiceListParams,
    PriceCreateParams,
    PriceUpdateParams,
    ProductCreateParams,
    ProductUpdateParams,
    SetupIntentCreateParams,
    SubscriptionCreateParams,
    SubscriptionItemListParams,
    SubscriptionListParams,
    SubscriptionScheduleUpdateParams,
    SubscriptionUpdateParams,
    WebhookEndpointCreateParams,
    WebhookEndpointListParams,
    WebhookEndpointUpdateParams,
)
from stripe.params.billing_portal import (
    ConfigurationCreateParams,
    ConfigurationListParams,
    ConfigurationUpdateParams,
)
from stripe.params.billing_portal import (
    SessionCreateParams as PortalSessionCreateParams,
)
from stripe.params.checkout import SessionCreateParams

from seatbill.config import Settings
from seatbill.metrics import observe_stripe_call

log = logging.getLogger("seatbill.stripe")

T = TypeVar("T")

SUBSCRIPTION_EXPAND = ["items.data.price", "schedule"]

# The customer-portal configuration `seatbill stripe setup` creates carries this metadata;
# portal sessions use it (no quantity changes: seats follow Seatbill's rules).
PORTAL_CONFIGURATION_METADATA = ("seatbill", "customer_portal")


class GatewayError(Exception):
    """Stripe refused or could not be reached. ``message`` is safe to show to a client;
    ``code`` is Stripe's error code (e.g. ``resource_missing``), for the caller's decisions."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.code = code

    @property
    def missing(self) -> bool:
        """Stripe does not know the object (deleted, or another account's)."""
        return self.status == 404 or self.code == "resource_missing"


def intent_key(kind: str, *parts: object) -> str:
    """``seatbill:<kind>:<parts...>``; long or free-form parts are hashed to stay under
    Stripe's 255 characters and keep URLs and other client text out of request logs."""
    shown = [str(part) for part in parts]
    key = ":".join(["seatbill", kind, *shown])
    if len(key) <= 120:
        return key
    digest = hashlib.sha256("\x1f".join(shown).encode()).hexdigest()[:40]
    return f"seatbill:{kind}:{digest}"


def fingerprint(value: Any) -> str:
    """A short stable digest of request parameters, for idempotency keys."""
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def is_seatbill_portal_configuration(config: stripe.billing_portal.Configuration) -> bool:
    key, value = PORTAL_CONFIGURATION_METADATA
    metadata = config.metadata.to_dict() if config.metadata else {}
    return metadata.get(key) == value


def _expected_missing(exc: stripe.StripeError) -> bool:
    return isinstance(exc, stripe.InvalidRequestError) and exc.http_status == 404


def _status(result: object) -> str:
    """The HTTP status of a successful call, as the SDK recorded it."""
    response = getattr(result, "last_response", None)
    code = getattr(response, "code", None)
    return str(code) if isinstance(code, int) else "ok"


def _translate(exc: stripe.StripeError, *, quiet: bool = False) -> GatewayError:
    status = exc.http_status
    retryable = isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (
        status is not None and status >= 500
    )
    # Log Stripe's own words for operators; the client gets a generic, safe sentence.
    log.log(
        logging.DEBUG if quiet else logging.WARNING,
        "stripe error: type=%s status=%s code=%s request_id=%s message=%s",
        type(exc).__name__,
        status,
        exc.code,
        exc.request_id,
        exc.user_message or str(exc).splitlines()[0][:300],
    )
    code = exc.code
    if isinstance(exc, stripe.CardError):
        return GatewayError(
            "The payment method was declined", retryable=False, status=status, code=code
        )
    if retryable:
        return GatewayError(
            "The billing provider is unavailable; try again shortly",
            retryable=True,
            status=status,
            code=code,
        )
    return GatewayError(
        "The billing provider refused the request", retryable=False, status=status, code=code
    )


class StripeGateway:
    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str | None = None,
        timeout_seconds: float = 20.0,
        max_network_retries: int = 2,
    ) -> None:
        self.api_base = api_base
        self._portal_configuration: str | None = None
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else {},
            max_network_retries=max_network_retries,
            http_client=stripe.HTTPXClient(timeout=timeout_seconds),
        )

    @classmethod
    def from_settings(cls, settings: Settings, secret_key: str | None = None) -> StripeGateway:
        key = secret_key or settings.stripe_secret_key
        if key is None:
            raise ValueError("no Stripe secret key")
        return cls(
            key,
            api_base=settings.stripe_api_base,
            timeout_seconds=settings.stripe_timeout_seconds,
            max_network_retries=settings.stripe_max_network_retries,
        )

    async def _call(self, call: Awaitable[T], *, missing_ok: bool = False) -> T:
        """Every call to Stripe: errors translated, and counted and timed for /metrics under
        the calling gateway method's name (a bounded label, never an id). ``missing_ok``: a
        404 is an expected answer, not logged as a Stripe error."""
        method = sys._getframe(1).f_code.co_name
        started = time.perf_counter()
        status = "network_error"
        try:
            result = await call
            status = _status(result)
            return result
        except stripe.StripeError as exc:
            if exc.http_status is not None:
                status = str(exc.http_status)
            raise _translate(exc, quiet=missing_ok and _expected_missing(exc)) from None
        finally:
            observe_stripe_call(method, status, time.perf_counter() - started)

    # Reads ---------------------------------------------------------------------------

    async def retrieve_subscription(self, subscription_id: str) -> stripe.Subscription:
        return await self._call(
            self.client.v1.subscriptions.retrieve_async(
                subscription_id, params={"expand": SUBSCRIPTION_EXPAND}
            )
        )

    async def retrieve_invoice(self, invoice_id: str) -> stripe.Invoice:
        return await self._call(self.client.v1.invoices.retrieve_async(invoice_id))

    async def list_invoice_lines(self, invoice_id: str) -> list[stripe.InvoiceLineItem]:
        """Every line of an invoice (``GET /v1/invoices/{id}/lines``, page after page): an
        invoice embeds only its first lines."""
        lines: list[stripe.InvoiceLineItem] = []
        params: InvoiceLineItemListParams = {"limit": 100}
        while True:
            page = await self._call(
                self.client.v1.invoices.line_items.list_async(invoice_id, params=params)
            )
            lines.extend(page.data)
            if not page.has_more or not page.data:
                return lines
            params = {"limit": 100, "starting_after": str(page.data[-1].id)}

    async def retrieve_subscription_schedule(self, schedule_id: str) -> stripe.SubscriptionSchedule:
        return await self._call(self.client.v1.subscription_schedules.retrieve_async(schedule_id))

    async def retrieve_customer(self, customer_id: str) -> stripe.Customer:
        return await self._call(self.client.v1.customers.retrieve_async(customer_id))

    async def list_subscriptions(self, customer_id: str) -> list[stripe.Subscription]:
        """The customer's subscriptions in every status, newest first, page after page, in the
        shape ``retrieve_subscription`` answers (items' prices and the schedule expanded)."""
        found: list[stripe.Subscription] = []
        params: SubscriptionListParams = {
            "customer": customer_id,
            "status": "all",
            "limit": 100,
            "expand": [f"data.{path}" for path in SUBSCRIPTION_EXPAND],
        }
        while True:
            page = await self._call(self.client.v1.subscriptions.list_async(params=params))
            found.extend(page.data)
            if not page.has_more or not page.data:
                return found
            params["starting_after"] = page.data[-1].id

    async def list_subscription_items(self, subscription_id: str) -> list[stripe.SubscriptionItem]:
        """Every item of a subscription, prices expanded (a subscription embeds only its first
        items: its ``items.has_more`` says when there are more)."""
        found: list[stripe.SubscriptionItem] = []
        params: SubscriptionItemListParams = {
            "subscription": subscription_id,
            "limit": 100,
            "expand": ["data.price"],
        }
        while True:
            page = await self._call(self.client.v1.subscription_items.list_async(params=params))
            found.extend(page.data)
            if not page.has_more or not page.data:
                return found
            params["starting_after"] = page.data[-1].id

    async def list_invoices(self, customer_id: str, *, limit: int) -> list[stripe.Invoice]:
        """The customer's ``limit`` most recent invoices, newest first (pages of at most 100)."""
        found: list[stripe.Invoice] = []
        params: InvoiceListParams = {"customer": customer_id, "limit": min(100, limit)}
        while len(found) < limit:
            page = await self._call(self.client.v1.invoices.list_async(params=params))
            found.extend(page.data)
            if not page.has_more or not page.data:
                break
            params["starting_after"] = str(page.data[-1].id)
            params["limit"] = min(100, limit - len(found))
        return found[:limit]

    async def list_open_checkout_sessions(self, customer_id: str) -> list[stripe.checkout.Session]:
        page = await self._call(
            self.client.v1.checkout.sessions.list_async(
                params={"customer": customer_id, "status": "open", "limit": 100}
            )
        )
        return list(page.data)

    async def find_prices(self, lookup_keys: Sequence[str]) -> dict[str, stripe.Price]:
        """Active prices by lookup key (with their tiers); keys Stripe does not know are absent."""
        found: dict[str, stripe.Price] = {}
        keys = list(dict.fromkeys(lookup_keys))
        for start in range(0, len(keys), 10):  # Stripe takes at most 10 lookup keys a call
            page = await self._call(
                self.client.v1.prices.list_async(
                    params={
                        "lookup_keys": keys[start : start + 10],
                        "active": True,
                        "limit": 100,
                        "expand": ["data.tiers"],
                    }
                )
            )
            for price in page.data:
                if price.lookup_key:
                    found[price.lookup_key] = price
        return found

    async def retrieve_price(self, price_id: str) -> stripe.Price:
        return await self._call(
            self.client.v1.prices.retrieve_async(price_id, params={"expand": ["tiers"]})
        )

    async def retrieve_product(self, product_id: str) -> stripe.Product | None:
        """The product, or None when Stripe has none with that id (an expected answer)."""
        try:
            return await self._call(
                self.client.v1.products.retrieve_async(product_id), missing_ok=True
            )
        except GatewayError as exc:
            if exc.status == 404:
                return None
            raise

    async def retrieve_test_clock_time(self, clock_id: str) -> int:
        """A test clock's frozen time (test mode only): "now" for its customers."""
        clock = await self._call(self.client.v1.test_helpers.test_clocks.retrieve_async(clock_id))
        return int(clock.frozen_time)

    # Writes. Every POST carries an idempotency key derived from the intent ------------

    async def create_customer(
        self,
        workspace_id: str,
        *,
        test_clock: str | None = None,
        replaces: str | None = None,
    ) -> stripe.Customer:
        """The workspace's one customer. Keyed by workspace, so a retry or a concurrent request
        gets the same customer; ``replaces`` names a customer Stripe lost (deleted). The params
        depend on the workspace id alone (no renamable name), so a retry never conflicts."""
        params: CustomerCreateParams = {
            "description": f"Seatbill workspace {workspace_id}",
            "metadata": {"workspace_id": workspace_id},
        }
        if test_clock:
            params["test_clock"] = test_clock
        parts = ["replaces", replaces] if replaces else []
        key = intent_key("customer", workspace_id, *parts)
        return await self._call(
            self.client.v1.customers.create_async(params=params, options={"idempotency_key": key})
        )

    async def default_card(self, customer_id: str) -> stripe.PaymentMethod | None:
        """The customer's invoice default payment method, or None (none set, or deleted)."""
        customer = await self._call(
            self.client.v1.customers.retrieve_async(
                customer_id, params={"expand": ["invoice_settings.default_payment_method"]}
            )
        )
        if getattr(customer, "deleted", False) or customer.invoice_settings is None:
            return None
        found = customer.invoice_settings.default_payment_method
        return found if isinstance(found, stripe.PaymentMethod) else None

    async def create_setup_intent(
        self, customer_id: str, *, idempotency_key: str
    ) -> stripe.SetupIntent:
        """A SetupIntent saving a card for later charges without the customer present."""
        params: SetupIntentCreateParams = {
            "customer": customer_id,
            "usage": "off_session",
        }
        return await self._call(
            self.client.v1.setup_intents.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        )

    async def save_default_card(self, customer_id: str, payment_method: str, version: int) -> str:
        """Attach the payment method to the customer (a no-op when it already is) and make it
        the default for invoices; returns its id (a test token such as ``pm_card_visa`` is a
        new card with an id of its own). Keyed by both and the workspace's billing version,
        so a retry attaches nothing twice while a later choice of the same card applies."""
        attached = await self._call(
            self.client.v1.payment_methods.attach_async(
                payment_method,
                params={"customer": customer_id},
                options={"idempotency_key": intent_key("attach-card", customer_id, payment_method)},
            )
        )
        await self._call(
            self.client.v1.customers.update_async(
                customer_id,
                params={"invoice_settings": {"default_payment_method": attached.id}},
                options={"idempotency_key": intent_key("default-card", customer_id, attached.id)},
            )
        )
        return str(attached.id)

    async def create_subscription(
        self, params: SubscriptionCreateParams, *, idempotency_key: str
    ) -> stripe.Subscription:
        return await self._call(
            self.client.v1.subscriptions.create_async(
                params={**params, "expand": [*SUBSCRIPTION_EXPAND, "latest_invoice"]},
                options={"idempotency_key": idempotency_key},
            )
        )

    async def invoice_payment_intent(self, invoice_id: str) -> stripe.PaymentIntent | None:
        """The PaymentIntent Stripe made when it finalized the invoice (2025+: linked by an
        invoice payment), or None when there is none (nothing was due)."""
        payments = await self._call(
            self.client.v1.invoice_payments.list_async(params={"invoice": invoice_id, "limit": 10})
        )
        for payment in payments.data:
            intent = payment.payment.payment_intent
            if payment.is_default and intent is not None:
                return await self._call(
                    self.client.v1.payment_intents.retrieve_async(
                        intent if isinstance(intent, str) else intent.id
                    )
                )
        return None

    async def confirm_payment_intent(
        self, intent_id: str, payment_method: str, *, idempotency_key: str
    ) -> stripe.PaymentIntent:
        """Confirm with the customer present (a card may ask for 3D Secure: requires_action)."""
        return await self._call(
            self.client.v1.payment_intents.confirm_async(
                intent_id,
                params={"payment_method": payment_method},
                options={"idempotency_key": idempotency_key},
            )
        )

    async def create_checkout_session(
        self, params: SessionCreateParams, *, idempotency_key: str
    ) -> stripe.checkout.Session:
        return await self._call(
            self.client.v1.checkout.sessions.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        )

    async def expire_checkout_session(self, session_id: str) -> None:
        """Expire an open Checkout session so it can no longer be paid. One that completed or
        expired meanwhile is left as it is (a completed one makes a subscription, which the
        webhooks then find to be a second one)."""
        try:
            await self._call(
                self.client.v1.checkout.sessions.expire_async(
                    session_id,
                    options={"idempotency_key": intent_key("checkout-expire", session_id)},
                )
            )
        except GatewayError as exc:
            if exc.retryable:
                raise
            log.info("checkout session %s was no longer open to expire", session_id)

    async def refund_subscription_payments(
        self, subscription_id: str, *, reason: str
    ) -> list[stripe.Refund]:
        """Refund in full every payment of the subscription's paid invoices (2025+: an
        invoice's payments are invoice_payment objects pointing at a PaymentIntent). Keyed by
        the invoice payment, so a repeat refunds nothing twice."""
        invoices = await self._call(
            self.client.v1.invoices.list_async(
                params={"subscription": subscription_id, "status": "paid", "limit": 100}
            )
        )
        refunds: list[stripe.Refund] = []
        for invoice in invoices.data:
            if not invoice.amount_paid:
                continue
            payments = await self._call(
                self.client.v1.invoice_payments.list_async(
                    params={"invoice": str(invoice.id), "status": "paid", "limit": 100}
                )
            )
            for payment in payments.data:
                intent = payment.payment.payment_intent
                if intent is None:
                    continue
                refunds.append(
                    await self._call(
                        self.client.v1.refunds.create_async(
                            params={
                                "payment_intent": intent if isinstance(intent, str) else intent.id,
                                "reason": "duplicate",
                                "metadata": {"seatbill_reason": reason},
                            },
                            options={"idempotency_key": intent_key("refund", payment.id)},
                        )
                    )
                )
        return refunds

    async def create_portal_session(
        self, customer_id: str, return_url: str, *, idempotency_key: str
    ) -> str:
        """A customer portal session, with Seatbill's portal configuration when `seatbill
        stripe setup` made one (else Stripe's default configuration)."""
        params: PortalSessionCreateParams = {"customer": customer_id, "return_url": return_url}
        configuration = await self.portal_configuration_id()
        if configuration:
            params["configuration"] = configuration
        session = await self._call(
            self.client.v1.billing_portal.sessions.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        )
        return str(session.url)

    async def portal_configuration_id(self) -> str | None:
        """The active portal configuration marked as Seatbill's (found by its metadata, then
        remembered by this gateway), or None when there is none."""
        if self._portal_configuration is None:
            found = next(
                (
                    config
                    for config in await self.list_portal_configurations(active=True)
                    if is_seatbill_portal_configuration(config)
                ),
                None,
            )
            self._portal_configuration = found.id if found else None
        return self._portal_configuration

    async def list_portal_configurations(
        self, *, active: bool | None = None
    ) -> list[stripe.billing_portal.Configuration]:
        found: list[stripe.billing_portal.Configuration] = []
        params: ConfigurationListParams = {"limit": 100}
        if active is not None:
            params["active"] = active
        while True:
            page = await self._call(
                self.client.v1.billing_portal.configurations.list_async(params=params)
            )
            found.extend(page.data)
            if not page.has_more or not page.data:
                return found
            params["starting_after"] = page.data[-1].id

    async def create_portal_configuration(
        self, params: ConfigurationCreateParams
    ) -> stripe.billing_portal.Configuration:
        key = intent_key("portal-configuration", fingerprint(params))
        created = await self._call(
            self.client.v1.billing_portal.configurations.create_async(
                params=params, options={"idempotency_key": key}
            )
        )
        self._portal_configuration = None
        return created

    async def update_portal_configuration(
        self, configuration_id: str, params: ConfigurationUpdateParams, *, idempotency_key: str
    ) -> stripe.billing_portal.Configuration:
        updated = await self._call(
            self.client.v1.billing_portal.configurations.update_async(
                configuration_id, params=params, options={"idempotency_key": idempotency_key}
            )
        )
        self._portal_configuration = None
        return updated

    async def update_subscription(
        self, subscription_id: str, params: SubscriptionUpdateParams, *, idempotency_key: str
    ) -> stripe.Subscription:
        return await self._call(
            self.client.v1.subscriptions.update_async(
                subscription_id,
                params={**params, "expand": SUBSCRIPTION_EXPAND},
                options={"idempotency_key": idempotency_key},
            )
        )

    async def cancel_subscription_now(self, subscription_id: str) -> stripe.Subscription:
        """Cancel at once, no refund. DELETE takes no idempotency key (it is idempotent);
        one already canceled is answered from a fresh read."""
        try:
            return await self._call(
                self.client.v1.subscriptions.cancel_async(
                    subscription_id, params={"expand": SUBSCRIPTION_EXPAND}
                )
            )
        except GatewayError as exc:
            if not exc.missing:
                raise
            current = await self.retrieve_subscription(subscription_id)
            if current.status not in ("canceled", "incomplete_expired"):
                raise
            return current

    async def create_subscription_schedule(
        self, subscription_id: str, *, idempotency_key: str
    ) -> stripe.SubscriptionSchedule:
        return await self._call(
            self.client.v1.subscription_schedules.create_async(
                params={"from_subscription": subscription_id},
                options={"idempotency_key": idempotency_key},
            )
        )

    async def update_subscription_schedule(
        self,
        schedule_id: str,
        params: SubscriptionScheduleUpdateParams,
        *,
        idempotency_key: str,
    ) -> stripe.SubscriptionSchedule:
        return await self._call(
            self.client.v1.subscription_schedules.update_async(
                schedule_id, params=params, options={"idempotency_key": idempotency_key}
            )
        )

    async def release_subscription_schedule(
        self, schedule_id: str, *, preserve_cancel_date: bool = False, idempotency_key: str
    ) -> stripe.SubscriptionSchedule:
        """Stop the schedule; the subscription runs on as it is. ``preserve_cancel_date`` keeps
        a cancellation the schedule set (``end_behavior: cancel``) on the subscription."""
        return await self._call(
            self.client.v1.subscription_schedules.release_async(
                schedule_id,
                params={"preserve_cancel_date": preserve_cancel_date},
                options={"idempotency_key": idempotency_key},
            )
        )

    async def preview_invoice(
        self, params: InvoiceCreatePreviewParams, *, idempotency_key: str
    ) -> stripe.Invoice:
        """``POST /v1/invoices/create_preview``: changes nothing. Keyed by what is previewed
        as of which second (``proration_date``), so a replayed answer is still right."""
        return await self._call(
            self.client.v1.invoices.create_preview_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        )

    async def create_product(self, params: ProductCreateParams) -> stripe.Product:
        key = intent_key("product", params.get("id"), params.get("name"))
        return await self._call(
            self.client.v1.products.create_async(params=params, options={"idempotency_key": key})
        )

    async def update_product(self, product_id: str, params: ProductUpdateParams) -> stripe.Product:
        key = intent_key("product-update", product_id, params.get("name"))
        return await self._call(
            self.client.v1.products.update_async(
                product_id, params=params, options={"idempotency_key": key}
            )
        )

    async def create_price(
        self, params: PriceCreateParams, *, idempotency_key: str
    ) -> stripe.Price:
        return await self._call(
            self.client.v1.prices.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        )

    async def update_price(
        self, price_id: str, params: PriceUpdateParams, *, idempotency_key: str
    ) -> stripe.Price:
        return await self._call(
            self.client.v1.prices.update_async(
                price_id, params=params, options={"idempotency_key": idempotency_key}
            )
        )

    async def create_webhook_endpoint(
        self,
        url: str,
        *,
        enabled_events: Sequence[str] | None = None,
        api_version: str | None = None,
    ) -> stripe.WebhookEndpoint:
        """An endpoint (for every event unless ``enabled_events``; in the account's API version
        unless ``api_version``); its ``secret``, only in this answer, signs the deliveries."""
        params: WebhookEndpointCreateParams = {
            "url": url,
            "enabled_events": cast(Any, list(enabled_events or ["*"])),
        }
        parts: list[object] = [url]
        if enabled_events is not None or api_version is not None:
            parts += [api_version or "account", fingerprint(sorted(enabled_events or ["*"]))]
        if api_version is not None:
            params["api_version"] = cast(Any, api_version)
        return await self._call(
            self.client.v1.webhook_endpoints.create_async(
                params=params,
                options={"idempotency_key": intent_key("webhook-endpoint", *parts)},
            )
        )

    async def list_webhook_endpoints(self) -> list[stripe.WebhookEndpoint]:
        found: list[stripe.WebhookEndpoint] = []
        params: WebhookEndpointListParams = {"limit": 100}
        while True:
            page = await self._call(self.client.v1.webhook_endpoints.list_async(params=params))
            found.extend(page.data)
            if not page.has_more or not page.data:
                return found
            params["starting_after"] = page.data[-1].id

    async def update_webhook_endpoint(
        self, endpoint_id: str, params: WebhookEndpointUpdateParams, *, idempotency_key: str
    ) -> stripe.WebhookEndpoint:
        return await self._call(
            self.client.v1.webhook_endpoints.update_async(
                endpoint_id, params=params, options={"idempotency_key": idempotency_key}
            )
        )

    # Seat sync (owned by the seat-sync worker) ---------------------------------------

    async def update_seat_quantity(
        self,
        subscription_id: str,
        seat_item_id: str,
        quantity: int,
        *,
        covered_change: int,
        attempt: int = 0,
    ) -> stripe.Subscription:
        """Set the seat item's quantity with prorations (auto-mode seat sync).

        The idempotency key is the intent: this subscription at this quantity, covering the
        membership changes up to outbox row ``covered_change``. The worker's retry number
        ``attempt`` is part of it because Stripe replays a saved 5xx for a repeated key, and
        setting an absolute quantity twice changes nothing. The worker owns retries (backoff
        with jitter, kept in the outbox), so the SDK's network retries are off here.
        """
        return await self._call(
            self.client.v1.subscriptions.update_async(
                subscription_id,
                params={
                    "items": [{"id": seat_item_id, "quantity": quantity}],
                    "proration_behavior": "create_prorations",
                    "expand": SUBSCRIPTION_EXPAND,
                },
                options={
                    "idempotency_key": intent_key(
                        "seat-sync", subscription_id, quantity, covered_change, attempt
                    ),
                    "max_network_retries": 0,
                },
            )
        )
