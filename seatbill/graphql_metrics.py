"""A schema extension that counts and times every GraphQL operation for /metrics, by
operation name (bounded: :func:`seatbill.metrics.operation_label`) and outcome:

- ``ok``: no errors, no userErrors;
- ``user_error``: a mutation payload answered with userErrors (the client's request, refused);
- ``error``: the response has GraphQL errors (a bad document, authentication, a crash).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from seatbill.metrics import UNKNOWN, observe_graphql, operation_label

OK = "ok"
USER_ERROR = "user_error"
ERROR = "error"


def operation_of(document: DocumentNode | None, name: str | None) -> str:
    """The operation label of a request for ``name`` in ``document`` (None: not parsed)."""
    if document is None:
        return UNKNOWN
    operations = [
        node for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
    if name is None:
        return operation_label(None) if len(operations) == 1 else UNKNOWN
    if not any(node.name is not None and node.name.value == name for node in operations):
        return UNKNOWN  # an operationName the document does not have
    return operation_label(name)


def _has_user_errors(data: Any) -> bool:
    """A mutation payload (a top-level field) with userErrors; reads of any size cost nothing."""
    if not isinstance(data, dict):
        return False
    return any(isinstance(v, dict) and bool(v.get("userErrors")) for v in data.values())


def outcome_of(pre_execution_errors: Sequence[GraphQLError] | None, result: Any) -> str:
    """``result``: the operation's ExecutionResult (strawberry's or graphql-core's), or None."""
    if pre_execution_errors:
        return ERROR
    if result is None or result.errors:
        return ERROR
    return USER_ERROR if _has_user_errors(result.data) else OK


class GraphQLMetrics(SchemaExtension):
    """For operations that go through strawberry's extensions; a known query skips them
    (seatbill.schema.Schema) and is counted there with the same two functions."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        outcome = ERROR
        context = self.execution_context
        try:
            yield
            outcome = outcome_of(context.pre_execution_errors, context.result)
        finally:
            observe_graphql(
                operation_of(context.graphql_document, context.operation_name),
                outcome,
                time.perf_counter() - started,
            )
