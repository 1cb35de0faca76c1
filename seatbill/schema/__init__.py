"""The GraphQL schema: types, inputs, payloads, and the root Query and Mutation."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, TypeGuard, cast

import strawberry
from graphql import ASTValidationRule, DocumentNode, GraphQLError
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import execute as graphql_execute
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as alias_limit
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult, Info
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_operation_type

from seatbill.config import Settings
from seatbill.graphql_metrics import ERROR, GraphQLMetrics, operation_of, outcome_of
from seatbill.metrics import observe_graphql
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
from seatbill.schema.executor import RUN_ONCE, CompiledQueryExecutor
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
        metadata=RUN_ONCE,
    )
    preview_plan_change: ProrationPreview = strawberry.field(
        resolver=billing_resolvers.preview_plan_change,
        description="What switchPlan would charge now and on the next invoice (owners, admins).",
        metadata=RUN_ONCE,
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
    # The documents that passed this schema's parse limits and validation (build_schema).
    documents: DocumentCache | None = None
    # What build_schema added around every operation, for the known-document path below.
    masker: MaskErrors | None = None
    metrics: bool = False

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A query text this schema has parsed and validated before goes straight to
        execution. strawberry would run every extension's hooks for it (about a quarter of
        a small read's cost): the document cache's, which find it; the limits' and
        introspection's, which only matter while parsing and validating, which a known
        document skips; and the masking and the metrics, which this path applies itself,
        with the same functions. Any other text takes strawberry's whole path."""
        document = self.documents.get(query) if self.documents is not None and query else None
        if document is None:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        started = time.perf_counter()
        outcome = ERROR
        try:
            result = await self._execute_known(
                document,
                variable_values,
                context_value,
                root_value,
                operation_name,
                DEFAULT_ALLOWED_OPERATION_TYPES
                if allowed_operation_types is None
                else allowed_operation_types,
                operation_extensions,
            )
            outcome = outcome_of(None, result)
            if result.errors and self.masker is not None:
                result.errors = self.masker._process_errors(result.errors)
            return result
        finally:
            if self.metrics:
                observe_graphql(
                    operation_of(document, operation_name), outcome, time.perf_counter() - started
                )

    async def _execute_known(
        self,
        document: DocumentNode,
        variable_values: dict[str, Any] | None,
        context_value: Any | None,
        root_value: Any | None,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType],
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        # The checks strawberry makes between parsing and validation, with its exceptions.
        try:
            operation_type = get_operation_type(document, operation_name)
        except RuntimeError as error:
            raise CannotGetOperationTypeError(operation_name) from error
        if operation_type not in allowed_operation_types:
            raise InvalidOperationTypeError(operation_type)
        try:
            executed = graphql_execute(
                self._schema,
                document,
                root_value=root_value,
                context_value=context_value,
                variable_values=variable_values,
                operation_name=operation_name,
                is_awaitable=cast(
                    "Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable
                ),
                executor_class=self.execution_context_class,
                operation_extensions=operation_extensions,
            )
            if optimized_is_awaitable(executed):
                executed = await cast("Awaitable[GraphQLExecutionResult]", executed)
        except Exception as exc:  # as strawberry: an error answer, not a crash
            failure = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            executed = GraphQLExecutionResult(None, [failure])
        assert isinstance(executed, GraphQLExecutionResult)
        if executed.errors:
            self.process_errors(executed.errors)
        return ExecutionResult(data=executed.data, errors=executed.errors)

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
    settings: Settings,
    *,
    mask_errors: Callable[[GraphQLError], bool] | None = None,
    masked_message: str = "Internal server error",
    metrics: bool = False,
    compiled: bool = True,
) -> strawberry.Schema:
    """``mask_errors``: which errors to answer with ``masked_message`` instead (strawberry's
    MaskErrors); ``metrics``: count and time every operation for /metrics. ``compiled=False``
    (tests compare the two): strawberry's and graphql-core's execution all the way, for known
    documents too."""
    introspection: list[Callable[[], SchemaExtension]] = (
        [] if settings.introspection else [DisableIntrospection]
    )
    # One cache per schema: its validation rules and token limit are fixed here, per schema.
    documents = DocumentCache()
    limits: list[type[ASTValidationRule]] = [
        depth_limit(settings.max_query_depth, should_ignore=None),
        alias_limit(settings.max_query_aliases),
    ]
    masking: list[Callable[[], SchemaExtension]] = (
        []
        if mask_errors is None
        else [partial(MaskErrors, should_mask_error=mask_errors, error_message=masked_message)]
    )
    schema = Schema(
        query=Query,
        mutation=Mutation,
        execution_context_class=CompiledQueryExecutor if compiled else None,
        extensions=[
            partial(CachedDocuments, documents),
            *introspection,
            # strawberry's QueryDepthLimiter and MaxAliasesLimiter, with their rule classes
            # made once here instead of in every request's extension instance.
            partial(AddValidationRules, limits),
            partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
            *masking,
            *([GraphQLMetrics] if metrics else []),
        ],
    )
    schema.hide_suggestions = not settings.introspection
    schema.documents = documents if compiled else None
    schema.masker = masking[0]() if masking else None  # type: ignore[assignment]
    schema.metrics = metrics
    return schema
