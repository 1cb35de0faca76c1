"""Billing mutations and previews: check the viewer, call services.billing, map the result."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from seatbill import models
from seatbill.catalog import Interval
from seatbill.schema.billing import Subscription
from seatbill.schema.billing_inputs import (
    BillingPortalPayload,
    CancelSubscriptionInput,
    CheckoutPayload,
    CreateSetupIntentInput,
    OpenBillingPortalInput,
    ProrationPreview,
    ResumeSubscriptionInput,
    SetupIntentPayload,
    StartCheckoutInput,
    SubscribeInput,
    SubscribePayload,
    SubscriptionPayload,
    SwitchPlanInput,
    UpdateSeatsInput,
)
from seatbill.schema.context import Context
from seatbill.schema.enums import BillingInterval
from seatbill.schema.payloads import attempt
from seatbill.schema.types import Workspace
from seatbill.services import billing
from seatbill.services.billing import Billing, Preview
from seatbill.services.errors import DomainError

Ctx = Info[Context, None]


def _billing(info: Ctx) -> Billing:
    context = info.context
    return Billing(gateway=context.gateway, catalog=context.catalog, settings=context.settings)


def _interval(value: BillingInterval) -> Interval:
    return Interval(value.value)


async def _subscription_payload(
    call: Awaitable[models.Subscription | None], workspace_id: strawberry.ID
) -> SubscriptionPayload:
    row, errors = await attempt(call)
    if errors:
        return SubscriptionPayload(user_errors=errors)
    workspace = await models.Workspace.get_or_none(id=uuid.UUID(str(workspace_id)))
    return SubscriptionPayload(
        subscription=Subscription.of(row) if row else None,
        workspace=Workspace.of(workspace) if workspace else None,
    )


async def start_checkout(info: Ctx, input: StartCheckoutInput) -> CheckoutPayload:
    viewer = await info.context.viewer()
    checkout, errors = await attempt(
        billing.start_checkout(
            _billing(info),
            viewer,
            str(input.workspace_id),
            str(input.plan_id),
            _interval(input.interval),
            input.seats,
            input.success_url,
            input.cancel_url,
        )
    )
    if checkout is None:
        return CheckoutPayload(user_errors=errors)
    return CheckoutPayload(checkout_url=checkout.url, session_id=checkout.session_id)


async def create_setup_intent(info: Ctx, input: CreateSetupIntentInput) -> SetupIntentPayload:
    viewer = await info.context.viewer()
    secret, errors = await attempt(
        billing.create_setup_intent(_billing(info), viewer, str(input.workspace_id))
    )
    return SetupIntentPayload(client_secret=secret, user_errors=errors)


async def subscribe(info: Ctx, input: SubscribeInput) -> SubscribePayload:
    viewer = await info.context.viewer()
    done, errors = await attempt(
        billing.subscribe(
            _billing(info),
            viewer,
            str(input.workspace_id),
            str(input.plan_id),
            _interval(input.interval),
            input.seats,
            input.payment_method_id,
        )
    )
    if done is None:
        return SubscribePayload(user_errors=errors)
    return SubscribePayload(
        subscription=Subscription.of(done.subscription) if done.subscription else None,
        requires_action=done.requires_action,
        payment_intent_client_secret=done.client_secret,
    )


async def update_seats(info: Ctx, input: UpdateSeatsInput) -> SubscriptionPayload:
    viewer = await info.context.viewer()
    return await _subscription_payload(
        billing.update_seats(
            _billing(info), viewer, str(input.workspace_id), input.seats, input.proration_date
        ),
        input.workspace_id,
    )


async def switch_plan(info: Ctx, input: SwitchPlanInput) -> SubscriptionPayload:
    viewer = await info.context.viewer()
    return await _subscription_payload(
        billing.swap_plan(
            _billing(info),
            viewer,
            str(input.workspace_id),
            str(input.plan_id),
            _interval(input.interval),
            input.proration_date,
        ),
        input.workspace_id,
    )


async def cancel_subscription(info: Ctx, input: CancelSubscriptionInput) -> SubscriptionPayload:
    viewer = await info.context.viewer()
    return await _subscription_payload(
        billing.cancel(
            _billing(info), viewer, str(input.workspace_id), at_period_end=input.at_period_end
        ),
        input.workspace_id,
    )


async def resume_subscription(info: Ctx, input: ResumeSubscriptionInput) -> SubscriptionPayload:
    viewer = await info.context.viewer()
    return await _subscription_payload(
        billing.resume(_billing(info), viewer, str(input.workspace_id)), input.workspace_id
    )


async def open_billing_portal(info: Ctx, input: OpenBillingPortalInput) -> BillingPortalPayload:
    viewer = await info.context.viewer()
    url, errors = await attempt(
        billing.open_portal(_billing(info), viewer, str(input.workspace_id), input.return_url)
    )
    return BillingPortalPayload(url=url, user_errors=errors)


async def _preview(call: Awaitable[Preview]) -> ProrationPreview:
    """Queries have no userErrors: an expected failure is a GraphQL error whose
    ``extensions`` carry the same ``code`` and ``field`` a mutation's userError would."""
    try:
        return ProrationPreview.of(await call)
    except DomainError as error:
        extensions: dict[str, object] = {
            "code": error.code.value,
            # Query arguments are not wrapped in `input`.
            "field": [part for part in error.field if part != "input"] if error.field else None,
        }
        if error.retry_after is not None:
            extensions["retryAfter"] = error.retry_after  # RATE_LIMITED: seconds
        raise GraphQLError(error.message, extensions=extensions) from None


async def preview_seat_change(
    info: Ctx, workspace_id: strawberry.ID, seats: int
) -> ProrationPreview:
    viewer = await info.context.viewer()
    return await _preview(
        billing.preview_seat_change(_billing(info), viewer, str(workspace_id), seats)
    )


async def preview_plan_change(
    info: Ctx, workspace_id: strawberry.ID, plan_id: strawberry.ID, interval: BillingInterval
) -> ProrationPreview:
    viewer = await info.context.viewer()
    return await _preview(
        billing.preview_plan_change(
            _billing(info), viewer, str(workspace_id), str(plan_id), _interval(interval)
        )
    )
