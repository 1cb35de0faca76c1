"""Billing mutation inputs and payloads, and the proration preview type."""

from __future__ import annotations

from datetime import datetime

import strawberry

from seatbill.schema.billing import Subscription
from seatbill.schema.enums import BillingInterval
from seatbill.schema.types import UserError, Workspace
from seatbill.services.billing import Preview


@strawberry.input
class _PlanChoice:
    """The fields a first subscription starts from, checkout and saved card alike (not a
    type of the schema of its own: the inputs below carry them)."""

    workspace_id: strawberry.ID
    plan_id: strawberry.ID
    interval: BillingInterval
    seats: int | None = strawberry.field(
        default=None,
        description="Licensed plans: seats to buy, at least the active members. Auto plans "
        "bill the members and ignore it.",
    )


@strawberry.input
class StartCheckoutInput(_PlanChoice):
    success_url: str = strawberry.field(
        description="Where the hosted checkout returns after paying; "
        "{CHECKOUT_SESSION_ID} is replaced by the session id."
    )
    cancel_url: str = strawberry.field(description="Where the hosted checkout's Cancel leads.")


@strawberry.input
class UpdateSeatsInput:
    workspace_id: strawberry.ID
    seats: int
    proration_date: datetime | None = strawberry.field(
        default=None,
        description="The prorationDate of the preview the user saw: the change is prorated at "
        "that instant, so it charges exactly what the preview showed. Within the current "
        "period and at most an hour old.",
    )


@strawberry.input
class SwitchPlanInput:
    workspace_id: strawberry.ID
    plan_id: strawberry.ID
    interval: BillingInterval
    proration_date: datetime | None = strawberry.field(
        default=None,
        description="The prorationDate of the preview the user saw: the change is prorated at "
        "that instant, so it charges exactly what the preview showed. Within the current "
        "period and at most an hour old.",
    )


@strawberry.input
class CancelSubscriptionInput:
    workspace_id: strawberry.ID
    at_period_end: bool = strawberry.field(
        default=True,
        description="true: at the end of the paid period (resumable until then); "
        "false: now, without a refund.",
    )


@strawberry.input
class ResumeSubscriptionInput:
    workspace_id: strawberry.ID


@strawberry.input
class OpenBillingPortalInput:
    workspace_id: strawberry.ID
    return_url: str


@strawberry.input
class CreateSetupIntentInput:
    workspace_id: strawberry.ID


@strawberry.input
class SubscribeInput(_PlanChoice):
    payment_method_id: str = strawberry.field(
        description="The card to charge (pm_...), e.g. from a SetupIntent confirmed with "
        "Stripe.js; it becomes the workspace's default card."
    )


@strawberry.type
class SetupIntentPayload:
    client_secret: str | None = strawberry.field(
        default=None,
        description="The SetupIntent's client secret for Stripe.js (confirmSetup) to save a "
        "card for later charges. Give it to nobody else.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SubscribePayload:
    subscription: Subscription | None = None
    requires_action: bool = strawberry.field(
        default=False,
        description="The card asks for authentication (3D Secure): pass "
        "paymentIntentClientSecret to Stripe.js (handleNextAction); the subscription becomes "
        "active once it is paid.",
    )
    payment_intent_client_secret: str | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CheckoutPayload:
    checkout_url: str | None = strawberry.field(
        default=None, description="Stripe's hosted checkout page: send the buyer there."
    )
    session_id: str | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SubscriptionPayload:
    subscription: Subscription | None = None
    workspace: Workspace | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BillingPortalPayload:
    url: str | None = strawberry.field(
        default=None, description="Stripe's customer portal for this workspace."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ProrationLine:
    description: str
    amount: int = strawberry.field(description="Minor units; negative for a credit.")
    proration: bool


@strawberry.type(
    description="What a change would cost, from Stripe's invoice preview. Amounts are in "
    "minor units of `currency`."
)
class ProrationPreview:
    currency: str
    amount_due_now: int = strawberry.field(
        description="Charged at once when the change is made (0 when it waits for the next "
        "period, when credits cover it, or on an auto plan, whose seat prorations go on the "
        "next invoice)."
    )
    next_invoice_total: int = strawberry.field(
        description="The total of the next regular invoice after the change."
    )
    lines: list[ProrationLine] = strawberry.field(
        description="What the change itself adds: the lines of the invoice made now "
        "(prorations and, for an interval switch, the new period); on an auto plan, the "
        "prorations the next invoice will carry. Empty when a decrease waits for the period end."
    )
    effective_at: datetime = strawberry.field(
        description="When the change would take effect: now, or the next period start."
    )
    proration_date: datetime = strawberry.field(
        description="The instant Stripe prorated this preview at. Send it back as the "
        "mutation's prorationDate to be charged exactly amountDueNow."
    )

    @classmethod
    def of(cls, preview: Preview) -> ProrationPreview:
        return cls(
            currency=preview.currency,
            amount_due_now=preview.amount_due_now,
            next_invoice_total=preview.next_invoice_total,
            lines=[
                ProrationLine(
                    description=line.description, amount=line.amount, proration=line.proration
                )
                for line in preview.lines
            ],
            effective_at=preview.effective_at,
            proration_date=preview.proration_date,
        )
