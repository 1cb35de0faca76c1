"""A schema extension that counts and times every GraphQL operation for /metrics, by
operation name (bounded: :func:`seatbill.metrics.operation_label`) and outcome:

- ``ok``: no errors, no userErrors;
- ``user_error``: a mutation payload answered with userErrors (the client's request, refused);
- ``error``: the response has GraphQL errors (a bad document, authentication, a crash).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from seatbill.metrics import UNKNOWN, observe_graphql, operation_label

OK = "ok"
USER_ERROR = "user_error"
ERROR = "error"


def _operation(context: ExecutionContext) -> str:
    document = context.graphql_document
    if document is None:  # not parsed
        return UNKNOWN
    operations = [
        node for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
    name = context.operation_name
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


def _outcome(context: ExecutionContext) -> str:
    if context.pre_execution_errors:
        return ERROR
    result = context.result
    if result is None or result.errors:
        return ERROR
    return USER_ERROR if _has_user_errors(result.data) else OK


class GraphQLMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        outcome = ERROR
        try:
            yield
            outcome = _outcome(self.execution_context)
        finally:
            observe_graphql(
                _operation(self.execution_context), outcome, time.perf_counter() - started
            )
