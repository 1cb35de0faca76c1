"""The GraphQL schema: types, inputs, payloads, and the root Query and Mutation."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as alias_limit
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit
from strawberry.types import ExecutionContext, Info

from seatbill.config import Settings
from seatbill.resolvers import billing as billing_resolvers
from seatbill.resolvers import members as member_resolvers
from seatbill.resolvers import workspaces as workspace_resolvers
from seatbill.schema.billing_inputs import (
    BillingPortalPayload,
    CheckoutPayload,
    ProrationPreview,
    SetupIntentPayload,
    SubscribePayload,
    SubscriptionPayload,
)
from seatbill.schema.context import Context
from seatbill.schema.document_cache import CachedDocuments, DocumentCache
from seatbill.schema.payloads import (
    DeleteWorkspacePayload,
    InvitationPayload,
    LeaveWorkspacePayload,
    MemberPayload,
    RemoveMemberPayload,
    WorkspacePayload,
)
from seatbill.schema.plans import Plan
from seatbill.schema.types import User, Workspace


@strawberry.type
class Query:
    me: User = strawberry.field(resolver=workspace_resolvers.me)
    workspaces: list[Workspace] = strawberry.field(resolver=workspace_resolvers.list_workspaces)
    workspace: Workspace | None = strawberry.field(
        resolver=workspace_resolvers.workspace, description="Null unless you are a member."
    )

    preview_seat_change: ProrationPreview = strawberry.field(
        resolver=billing_resolvers.preview_seat_change,
        description="What updateSeats would charge now and on the next invoice (owners, admins).",
    )
    preview_plan_change: ProrationPreview = strawberry.field(
        resolver=billing_resolvers.preview_plan_change,
        description="What switchPlan would charge now and on the next invoice (owners, admins).",
    )

    @strawberry.field(description="The plans on offer.")
    def plans(self, info: Info[Context, None]) -> list[Plan]:
        return [Plan.of(plan) for plan in info.context.catalog.plans]


@strawberry.type
class Mutation:
    create_workspace: WorkspacePayload = strawberry.mutation(
        resolver=workspace_resolvers.create_workspace
    )
    delete_workspace: DeleteWorkspacePayload = strawberry.mutation(
        resolver=workspace_resolvers.delete_workspace
    )
    invite_member: InvitationPayload = strawberry.mutation(resolver=member_resolvers.invite_member)
    accept_invitation: MemberPayload = strawberry.mutation(
        resolver=member_resolvers.accept_invitation
    )
    revoke_invitation: InvitationPayload = strawberry.mutation(
        resolver=member_resolvers.revoke_invitation
    )
    remove_member: RemoveMemberPayload = strawberry.mutation(
        resolver=member_resolvers.remove_member
    )
    leave_workspace: LeaveWorkspacePayload = strawberry.mutation(
        resolver=member_resolvers.leave_workspace
    )
    change_member_role: MemberPayload = strawberry.mutation(
        resolver=member_resolvers.change_member_role
    )
    start_checkout: CheckoutPayload = strawberry.mutation(resolver=billing_resolvers.start_checkout)
    create_setup_intent: SetupIntentPayload = strawberry.mutation(
        resolver=billing_resolvers.create_setup_intent,
        description="A SetupIntent to save a card with Stripe.js (owners and admins).",
    )
    subscribe: SubscribePayload = strawberry.mutation(
        resolver=billing_resolvers.subscribe,
        description="Subscribe charging a saved card at once (owners and admins); the first "
        "subscription on a plan with a trial starts trialing.",
    )
    update_seats: SubscriptionPayload = strawberry.mutation(resolver=billing_resolvers.update_seats)
    switch_plan: SubscriptionPayload = strawberry.mutation(resolver=billing_resolvers.switch_plan)
    cancel_subscription: SubscriptionPayload = strawberry.mutation(
        resolver=billing_resolvers.cancel_subscription
    )
    resume_subscription: SubscriptionPayload = strawberry.mutation(
        resolver=billing_resolvers.resume_subscription
    )
    open_billing_portal: BillingPortalPayload = strawberry.mutation(
        resolver=billing_resolvers.open_billing_portal
    )


# graphql-core's suggestions (" Did you mean 'name'?", " Did you mean the enum value
# 'ADMIN'?") end every message they are in, whichever rule or coercion wrote them.
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class Schema(strawberry.Schema):
    # With introspection off, error messages must not reveal the schema's names either.
    hide_suggestions: bool = False

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client mistakes (bad token, invalid query) are answered, not logged as server errors;
        # unexpected exceptions are logged where they are masked (seatbill.app). Every error
        # passes here before it is answered (validation, variables, execution).
        if self.hide_suggestions:
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)


def build_schema(
    settings: Settings, extra_extensions: Sequence[Callable[[], SchemaExtension]] = ()
) -> strawberry.Schema:
    introspection: list[Callable[[], SchemaExtension]] = (
        [] if settings.introspection else [DisableIntrospection]
    )
    # One cache per schema: its validation rules and token limit are fixed here, per schema.
    documents = DocumentCache()
    limits: list[type[ASTValidationRule]] = [
        depth_limit(settings.max_query_depth, should_ignore=None),
        alias_limit(settings.max_query_aliases),
    ]
    schema = Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            partial(CachedDocuments, documents),
            *introspection,
            # strawberry's QueryDepthLimiter and MaxAliasesLimiter, with their rule classes
            # made once here instead of in every request's extension instance.
            partial(AddValidationRules, limits),
            partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
            *extra_extensions,
        ],
    )
    schema.hide_suggestions = not settings.introspection
    return schema
