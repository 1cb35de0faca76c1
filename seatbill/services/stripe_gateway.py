"""The only module that calls Stripe.

Every call goes through one ``StripeClient`` (async methods, typed params) with timeouts and
network retries; every POST carries an idempotency key derived from the intent, so the same
intent retried never creates a second object. Stripe's errors become ``GatewayError`` with a
message safe to show; the details go to the log, never the key.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

import stripe

from seatbill.config import Settings

log = logging.getLogger("seatbill.stripe")

T = TypeVar("T")

SUBSCRIPTION_EXPAND = ["items.data.price", "schedule"]


class GatewayError(Exception):
    """Stripe refused or could not be reached. ``message`` is safe to show to a client."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status


def _translate(exc: stripe.StripeError) -> GatewayError:
    status = exc.http_status
    retryable = isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (
        status is not None and status >= 500
    )
    # Log Stripe's own words for operators; the client gets a generic, safe sentence.
    log.warning(
        "stripe error: type=%s status=%s code=%s request_id=%s message=%s",
        type(exc).__name__,
        status,
        exc.code,
        exc.request_id,
        exc.user_message or str(exc).splitlines()[0][:300],
    )
    if isinstance(exc, stripe.CardError):
        return GatewayError("The payment method was declined", retryable=False, status=status)
    if retryable:
        return GatewayError(
            "The billing provider is unavailable; try again shortly", retryable=True, status=status
        )
    return GatewayError("The billing provider refused the request", retryable=False, status=status)


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

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except stripe.StripeError as exc:
            raise _translate(exc) from None

    # Reads ---------------------------------------------------------------------------

    async def retrieve_subscription(self, subscription_id: str) -> stripe.Subscription:
        return await self._call(
            self.client.v1.subscriptions.retrieve_async(
                subscription_id, params={"expand": SUBSCRIPTION_EXPAND}
            )
        )

    async def retrieve_invoice(self, invoice_id: str) -> stripe.Invoice:
        return await self._call(self.client.v1.invoices.retrieve_async(invoice_id))

    async def retrieve_subscription_schedule(self, schedule_id: str) -> stripe.SubscriptionSchedule:
        return await self._call(self.client.v1.subscription_schedules.retrieve_async(schedule_id))

    async def retrieve_customer(self, customer_id: str) -> stripe.Customer:
        return await self._call(self.client.v1.customers.retrieve_async(customer_id))
