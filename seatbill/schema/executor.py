"""Queries executed from a plan made once per document, with graphql-core as the fallback.

graphql-core executes every field the same way: it collects the selection, builds a resolve
info, calls the field's resolver (strawberry's wrapper, which for a field without a resolver
reads the attribute), checks the result for awaitables and completes it by its type, about
4-5 µs a field. A list of 50 members with ``role user { email name }`` is 200 such fields,
most of a read's cost, and the selections were collected again on every request.

A query's operation is therefore turned once into a plan (kept per operation node, which the
document cache keeps alive for a known query text): for each selected field, its response
key, how to get its value and how to complete that value.

- *Plain* fields, strawberry fields with no resolver and no extensions (strawberry marks
  their resolver ``_is_default``) and no arguments, are read with ``getattr``; reading them
  has no side effects and awaits nothing.
- Other fields call their resolver with a resolve info built as graphql-core builds it:
  directly (see _direct_call) when strawberry's wrapper would add nothing but itself, else
  through the wrapper (argument conversion, ``Info``, permission and field extensions).
  Sibling fields' awaitables are awaited together, as graphql-core does, so dataloaders
  batch the same way.
- Leaves are coerced by their type's own ``coerce_output_value``.
- A list of objects given as a RowList (seatbill.schema.rows) is answered straight from its
  rows when its layout holds every selected field.

The plan only ever produces a complete answer without errors. Anything else (an exception
from a resolver, a null for a non-null field, a value its type refuses) abandons it and the
operation runs again through graphql-core, which reports the error exactly as it always did.
Query resolvers read, so running one again changes nothing (the viewer's row is an upsert of
the same claims); the few that must not run twice (RUN_ONCE: rate-limited previews, Stripe
reads) keep their queries out of plans. Operations a plan does not cover go to graphql-core directly: mutations,
subscriptions, documents with directives (``@skip``, ``@include``, ``@defer``...), abstract
types, introspection, and schemas with resolver middleware. ``tests/test_executor.py``
compares both executors' answers.
"""

from __future__ import annotations

import asyncio
import keyword
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from seatbill.prepared import Converters
from seatbill.schema.rows import Column, Row, RowLayout, RowList

log = logging.getLogger("seatbill.executor")

# strawberry field metadata for resolvers that must not run twice for one request: a plan that
# is abandoned runs its resolvers again through graphql-core, so queries selecting one of
# these are not planned (rate-limited previews, which also call Stripe; Stripe reads).
_RUN_ONCE_KEY = "seatbill.run_once"
RUN_ONCE: dict[str, bool] = {_RUN_ONCE_KEY: True}

# Plans kept (by operation node); the document cache keeps 500 documents.
MAX_PLANS = 500

_NOT_ITERABLE = (str, bytes, bytearray, Mapping)


class _Abandon(Exception):
    """This value needs graphql-core's completion (an error to report, most often)."""


class _NotCovered(Exception):
    """The operation has something a plan does not cover."""


# A completion turns a field's value into its answer. Sync ones take the value only (plain
# sub-trees); async ones take the executor and the field's path too (sub-trees that call
# resolvers).
SyncComplete = Callable[[Any], Any]
AsyncComplete = Callable[["CompiledQueryExecutor", Any, Path], Awaitable[Any]]


@dataclass(frozen=True)
class _Completion:
    sync: SyncComplete | None = None
    run: AsyncComplete | None = None
    # A String or ID leaf (null or not): a str value is its own answer.
    text: bool = False
    # Refuses a null itself (a non-null type's completion needs no wrapper around it).
    non_null: bool = False
    # An object type's: its selected fields (for lists of rows, which read them from rows).
    fields: tuple[_Field, ...] | None = None
    # An enum leaf (few values: lists of rows remember each value's answer).
    enum: bool = False


def _leaf(kind: GraphQLLeafType, non_null: bool) -> SyncComplete:
    coerce = kind.coerce_output_value

    def complete(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _Abandon
            return None
        if isinstance(value, BaseException):
            raise _Abandon
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Abandon
        return coerced

    if kind is GraphQLString or kind is GraphQLID:
        # graphql-core's own first case for both: a str is its own answer.
        def text(value: Any) -> Any:
            return value if value.__class__ is str else complete(value)

        return text
    if isinstance(kind, GraphQLEnumType):
        # An enum member's name, found once per member: strawberry's coercion searches the
        # enum's values on every call. Members live as long as their enum, so ids are stable.
        names: dict[int, tuple[Any, Any]] = {}

        def member(value: Any) -> Any:
            known = names.get(id(value))
            if known is not None and known[0] is value:
                return known[1]
            coerced = complete(value)
            if isinstance(value, Enum):
                names[id(value)] = (value, coerced)
            return coerced

        return member
    return complete


def _text(value: str, variable: str, complete: str) -> str:
    """Generated code: a String or ID leaf's answer, ``value`` itself when it is a str (as
    graphql-core's own first case), else ``complete(value)``; ``variable`` holds it."""
    return f"({variable} if ({variable} := {value}).__class__ is str else {complete}({variable}))"


def _non_null(inner: _Completion) -> _Completion:
    if inner.sync is not None:
        sync = inner.sync

        def complete(value: Any) -> Any:
            completed = sync(value)
            if completed is None:
                raise _Abandon
            return completed

        return _Completion(sync=complete, text=inner.text)
    run = inner.run
    assert run is not None

    async def complete_async(executor: CompiledQueryExecutor, value: Any, path: Path) -> Any:
        completed = await run(executor, value, path)
        if completed is None:
            raise _Abandon
        return completed

    return _Completion(run=complete_async)


def _check_iterable(value: Any) -> None:
    if isinstance(value, _NOT_ITERABLE) or not hasattr(value, "__iter__"):
        raise _Abandon


def _list(inner: _Completion) -> _Completion:
    rows = _rows_completion(inner)
    if inner.sync is not None:
        sync = inner.sync

        def complete(value: Any) -> Any:
            if value is None:
                return None
            if value.__class__ is RowList and (fast := rows(value.layout, value.convert)):
                return fast(value.rows)
            _check_iterable(value)
            return [sync(item) for item in value]

        return _Completion(sync=complete)
    run = inner.run
    assert run is not None

    async def complete_async(executor: CompiledQueryExecutor, value: Any, path: Path) -> Any:
        if value is None:
            return None
        if value.__class__ is RowList and (fast := rows(value.layout, value.convert)):
            return fast(value.rows)
        _check_iterable(value)
        return await _together(
            [run(executor, item, Path(path, index, None)) for index, item in enumerate(value)]
        )

    return _Completion(run=complete_async)


RowsComplete = Callable[[Sequence[Row]], list[Any]]
# Row completions kept per list field (by layout and converters: a query's converters are one
# object per compiled query, so there are few).
MAX_ROW_COMPLETIONS = 32


def _rows_completion(
    item: _Completion,
) -> Callable[[RowLayout[Any], Converters], RowsComplete | None]:
    """For a list of ``item``s: the completion of a RowList with a given layout and
    converters, made on first sight of them (None when the layout lacks a selected field:
    the objects' path)."""
    made: OrderedDict[tuple[RowLayout[Any], Converters], RowsComplete | None] = OrderedDict()

    def for_layout(layout: RowLayout[Any], convert: Converters) -> RowsComplete | None:
        key = (layout, convert)
        try:
            return made[key]
        except KeyError:
            fast = made[key] = (
                None if item.fields is None else _compiled_rows(item.fields, layout, convert)
            )
            if len(made) > MAX_ROW_COMPLETIONS:
                made.popitem(last=False)
            return fast

    return for_layout


def _compiled_rows(
    fields: Sequence[_Field], layout: RowLayout[Any], convert: Converters
) -> RowsComplete | None:
    """The answers of a list of objects read straight from their rows, as one function (like
    _compiled_object: one list comprehension of dict displays), or None if a selected field
    is not in the layout. Columns the query does not convert are read as they are; an enum
    column's answers are remembered by the column's value."""
    names: dict[str, Any] = {}

    def name(value: Any) -> str:
        key = f"n{len(names)}"
        names[key] = value
        return key

    def leaf(f: _Field, source: Column) -> str:
        complete = f.completion.sync
        assert complete is not None
        value = f"row[{source.name!r}]"
        if f.completion.enum and source.then is None:
            return _remembered(name, value, complete, convert[source.name])
        if convert.changes(source.name):
            value = f"{name(convert[source.name])}({value})"
        if source.then is not None:
            value = f"{name(source.then)}({value})"
        if f.completion.text:
            return _text(value, f"v{len(names)}", name(complete))
        return f"{name(complete)}({value})"

    def answer(fields: Sequence[_Field], layout: RowLayout[Any]) -> str | None:
        items: list[str] = []
        for f in fields:
            key = repr(f.key)
            if f.constant is not None:
                items.append(f"{key}: {name(f.constant)}")
                continue
            source = layout.fields.get(f.attribute) if f.attribute is not None else None
            if isinstance(source, RowLayout):
                if f.completion.fields is None:
                    return None
                nested = answer(f.completion.fields, source)
                if nested is None:
                    return None
                items.append(f"{key}: {nested}")
                continue
            if source is None or f.completion.sync is None or f.completion.fields is not None:
                return None  # a resolver field, or one the rows do not hold
            items.append(f"{key}: {leaf(f, source)}")
        return "{" + ", ".join(items) + "}"

    expression = answer(fields, layout)
    if expression is None:
        return None
    source = f"def complete(rows):\n    return [{expression} for row in rows]"
    exec(compile(source, "<seatbill query plan>", "exec"), names)
    return names["complete"]  # type: ignore[no-any-return]


def _remembered(
    name: Callable[[Any], str],
    value: str,
    complete: Callable[[Any], Any],
    convert: Callable[[Any], Any],
) -> str:
    """An enum column's answer, remembered by the column's value (a str, as the database
    returns it) after the first time: an expression reading ``value``."""
    answers: dict[Any, Any] = {}

    def first(raw: Any) -> Any:
        answer = complete(convert(raw))
        if raw.__class__ is str and len(answers) < 256:
            answers[raw] = answer
        return answer

    known, slow = name(answers), name(first)
    v = f"v{slow}"
    return f"({known}[{v}] if ({v} := {value}) in {known} else {slow}({v}))"


async def _together(awaitables: Sequence[Awaitable[Any]]) -> list[Any]:
    """Await all, concurrently (as graphql-core does: dataloaders batch across them); if one
    fails, the others still settle before the failure goes up. The first runs in this task,
    the others in tasks of their own, started first (so every load of the first's loaders
    joins the same batch, as with graphql-core's gather): one task fewer per call."""
    if not awaitables:
        return []
    first, *others = awaitables
    if not others:
        return [await first]
    tasks = [asyncio.ensure_future(each) for each in others]
    results: list[Any] = []
    failure: Exception | None = None
    try:
        for each in (first, *tasks):
            try:
                results.append(await each)
            except Exception as exc:
                failure = failure or exc
                results.append(None)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise
    if failure is not None:
        raise failure
    return results


@dataclass(frozen=True)
class _Field:
    key: str
    # exactly one of: a constant (__typename), an attribute (plain), a resolver field
    constant: str | None
    attribute: str | None
    field: GraphQLField | None
    nodes: list[FieldNode]
    completion: _Completion
    # A resolver field's resolver called directly (see _direct_call), else None.
    call: DirectCall | None = None


def _compiled_object(plan: Sequence[_Field], non_null: bool) -> SyncComplete:
    """The completion of an object whose selected fields are all plain, as one function
    (Python source made here and compiled once per plan): one dict display, attributes read
    directly, String and ID values that are already str taken as they are."""
    names: dict[str, Any] = {"_Abandon": _Abandon, "BaseException": BaseException}
    items: list[str] = []
    for index, f in enumerate(plan):
        key = repr(f.key)
        if f.attribute is None:
            names[f"k{index}"] = f.constant
            items.append(f"{key}: k{index}")
            continue
        names[f"c{index}"] = f.completion.sync
        read = (
            f"value.{f.attribute}"
            if f.attribute.isidentifier() and not keyword.iskeyword(f.attribute)
            else f"getattr(value, {f.attribute!r})"
        )
        if f.completion.text:
            items.append(f"{key}: {_text(read, f'v{index}', f'c{index}')}")
        else:
            items.append(f"{key}: c{index}({read})")
    source = "\n".join(
        [
            "def complete(value):",
            "    if value is None:",
            "        raise _Abandon" if non_null else "        return None",
            "    if isinstance(value, BaseException):",
            "        raise _Abandon",
            "    return {" + ", ".join(items) + "}",
        ]
    )
    exec(compile(source, "<seatbill query plan>", "exec"), names)
    return names["complete"]  # type: ignore[no-any-return]


def _object(
    kind: GraphQLObjectType, fields: list[_Field], root: bool = False, non_null: bool = False
) -> _Completion:
    """``root``: the operation's root object, whose value (strawberry's root value) is None."""
    plan = tuple(fields)
    if not root and all(
        f.field is None and (f.constant is not None or f.completion.sync) for f in plan
    ):
        return _Completion(sync=_compiled_object(plan, non_null), non_null=non_null, fields=plan)

    async def complete_async(executor: CompiledQueryExecutor, value: Any, path: Path) -> Any:
        if not root:
            if value is None:
                return None
            if isinstance(value, BaseException):
                raise _Abandon
        result: dict[str, Any] = {}
        waiting: list[tuple[_Field, Any, Path]] = []  # fields whose values complete later
        try:
            for f in plan:
                if f.constant is not None:
                    result[f.key] = f.constant
                    continue
                field_path = Path(path, f.key, kind.name)
                if f.field is None:
                    raw = getattr(value, f.attribute)  # type: ignore[arg-type]
                    if f.completion.sync is not None:
                        result[f.key] = f.completion.sync(raw)
                        continue
                else:
                    raw = executor.resolve(kind, f, value, field_path)
                result[f.key] = None
                waiting.append((f, raw, field_path))
        except BaseException:
            # A sibling failed before these started: they never will (the plan is abandoned).
            for _, raw, _ in waiting:
                if asyncio.iscoroutine(raw):
                    raw.close()
            raise
        if waiting:
            completed = await _together([_then(executor, *each) for each in waiting])
            for (f, _, _), answer in zip(waiting, completed, strict=True):
                result[f.key] = answer
        return result

    return _Completion(run=complete_async, fields=plan)


async def _then(executor: CompiledQueryExecutor, f: _Field, raw: Any, path: Path) -> Any:
    """The field's answer from its value (a resolver's, awaited when it is awaitable)."""
    value = await raw if executor.is_awaitable(raw) else raw
    if f.completion.sync is not None:
        return f.completion.sync(value)
    assert f.completion.run is not None
    return await f.completion.run(executor, value, path)


# (source, graphql-core's resolve info, the field's arguments by GraphQL name) -> its value
DirectCall = Callable[[Any, Any, dict[str, Any]], Any]


def _direct_call(field: GraphQLField, schema: GraphQLSchema) -> DirectCall | None:
    """A strawberry resolver, called as strawberry's own wrapper calls it when the field has
    no extensions (permissions are extensions) and no exception handler applies: the
    arguments converted by strawberry's ``convert_arguments``, an ``Info`` made with the
    schema's info class, the source as ``self``, ``root`` or ``parent``, whichever the
    resolver takes. The wrapper adds two coroutines, a ``reduce`` over no extensions and
    half a dozen calls to every resolver field. None for anything else (graphql-core's way)."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    resolve = getattr(field.resolve, "__qualname__", "")
    if (
        not isinstance(definition, StrawberryField)
        or definition.base_resolver is None
        or definition.extensions
        or strawberry_schema is None
        or not resolve.startswith("GraphQLCoreConverter.from_resolver.")
    ):
        return None
    converter = strawberry_schema.schema_converter
    if converter._get_field_exception_handlers(definition):
        return None
    resolver = definition.base_resolver
    function = resolver.wrapped_func
    if not callable(function):
        return None  # strawberry's wrapper reports it
    takes_self = resolver.self_parameter is not None
    source_names = tuple(
        parameter.name
        for parameter in (resolver.parent_parameter, resolver.root_parameter)
        if parameter is not None
    )
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    arguments = definition.arguments
    config = strawberry_schema.config
    info_class = config.info_class
    registry = converter.scalar_registry

    def call(source: Any, raw_info: Any, args: dict[str, Any]) -> Any:
        info = info_class(_raw_info=raw_info, _field=definition)
        kwargs = (
            convert_arguments(args, arguments, scalar_registry=registry, config=config, info=info)
            if arguments
            else {}
        )
        for name in source_names:
            kwargs[name] = source
        if info_name is not None:
            kwargs[info_name] = info
        return function(source, **kwargs) if takes_self else function(**kwargs)

    return call


def _plain_attribute(field: GraphQLField) -> str | None:
    """The attribute a strawberry field without a resolver reads; None unless it is one."""
    resolve = field.resolve
    if resolve is None or not getattr(resolve, "_is_default", False) or field.args:
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    if definition.default_resolver is not getattr:
        return None
    return definition.python_name


def _has_directives(selections: SelectionSetNode | None, fragments: Mapping[str, Any]) -> bool:
    seen: set[str] = set()
    stack = [selections]
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        for node in selection_set.selections:
            if node.directives:
                return True
            if isinstance(node, FieldNode | InlineFragmentNode):
                stack.append(node.selection_set)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                seen.add(node.name.value)
                details = fragments.get(node.name.value)
                if details is None or details.variable_signatures or details.definition.directives:
                    return True  # fragment variables, too, make the selection vary
                stack.append(details.definition.selection_set)
    return False


_plans: OrderedDict[int, tuple[OperationDefinitionNode, GraphQLSchema, _Completion | None]] = (
    OrderedDict()
)


def _helpers(executor: StrawberryGraphQLCoreExecutionContext) -> GraphQLResolveInfoHelpers:
    """What graphql-core gives resolvers for their own concurrent work (``info.async_helpers``,
    the same behaviour as the executor's ``gather_async_work`` and ``track_async_work``),
    holding no reference to the executor. graphql-core's are the executor's bound methods,
    kept on the executor: a reference cycle that held every request's context, loaders and
    rows until the collector's older generations found it, most of the collector's work (and
    a quarter of a read's CPU) under load."""
    is_awaitable = executor.is_awaitable
    background = executor.background_futures  # shared with sub-executors, as graphql-core's

    def track(values: Sequence[Any]) -> None:
        awaitables = [value for value in values if is_awaitable(value)]
        if not awaitables:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop: they can never run
            for awaitable in awaitables:
                if asyncio.iscoroutine(awaitable):
                    awaitable.close()
            return
        future = asyncio.gather(*awaitables, return_exceptions=True)
        background.add(future)
        future.add_done_callback(background.discard)

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return gather_with_cancel(*values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


class CompiledQueryExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, running queries from their plans (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _helpers(self)

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = self._plan() if serially is None else None
        if plan is None:
            return super().execute_operation(serially)
        return self._execute_plan(plan)

    async def _execute_plan(self, plan: _Completion) -> Any:
        assert plan.run is not None
        try:
            data = await plan.run(self, self.root_value, None)  # type: ignore[arg-type]  # the root
        except Exception as exc:
            # An error to report, or a case the plan does not expect: graphql-core's answer.
            log.debug("query plan abandoned (%s); graphql-core answers", type(exc).__name__)
            result = super().execute_operation()
            if self.is_awaitable(result):
                result = await result
            return result
        return self.build_response(data)

    def resolve(self, parent: GraphQLObjectType, f: _Field, source: Any, path: Path) -> Any:
        field = f.field
        assert field is not None and field.resolve is not None
        node = f.nodes[0]
        info = self.build_resolve_info(field, f.nodes, parent, path)
        args = (
            get_argument_values(field, node, self.variable_values)
            if field.args or node.arguments
            else {}
        )
        return field.resolve(source, info, **args) if f.call is None else f.call(source, info, args)

    def _plan(self) -> _Completion | None:
        operation = self.operation
        if operation.operation is not OperationType.QUERY or self.abort_signal is not None:
            return None
        manager = self.middleware_manager
        if manager is not None and manager._middleware_resolvers is not None:
            return None
        known = _plans.get(id(operation))
        if known is not None and known[0] is operation and known[1] is self.schema:
            _plans.move_to_end(id(operation))
            return known[2]
        try:
            plan: _Completion | None = self._compile_operation(operation)
        except _NotCovered:
            plan = None
        _plans[id(operation)] = (operation, self.schema, plan)
        while len(_plans) > MAX_PLANS:
            _plans.popitem(last=False)
        return plan

    def _compile_operation(self, operation: OperationDefinitionNode) -> _Completion:
        if _has_directives(operation.selection_set, self.fragments):
            raise _NotCovered  # what is selected would depend on the variables
        root = self.schema.query_type
        if root is None:
            raise _NotCovered
        grouped, defers, _ = collect_fields(
            self.schema, self.fragments, self.variable_values, root, operation
        )
        if defers:
            raise _NotCovered
        return _object(root, self._fields(root, grouped), root=True)

    def _fields(
        self, kind: GraphQLObjectType, grouped: Mapping[str, FieldDetailsList]
    ) -> list[_Field]:
        fields: list[_Field] = []
        for key, group in grouped.items():
            if any(each.fragment_variable_values is not None for each in group):
                raise _NotCovered
            nodes = [each.node for each in group]
            name = nodes[0].name.value
            if name == "__typename":
                fields.append(_Field(key, kind.name, None, None, nodes, _Completion()))
                continue
            if name.startswith("__"):
                raise _NotCovered  # introspection
            field = self.schema.get_field(kind, name)
            if field is None:
                continue  # graphql-core leaves out what the type does not have
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(definition, StrawberryField) and definition.metadata.get(_RUN_ONCE_KEY):
                raise _NotCovered
            completion = self._completion(field.type, group)
            attribute = _plain_attribute(field)
            if attribute is not None and not nodes[0].arguments:
                fields.append(_Field(key, None, attribute, None, nodes, completion))
            else:
                call = _direct_call(field, self.schema)
                fields.append(_Field(key, None, None, field, nodes, completion, call))
        return fields

    def _completion(
        self, kind: GraphQLOutputType, group: FieldDetailsList, non_null: bool = False
    ) -> _Completion:
        if isinstance(kind, GraphQLNonNull):
            inner = self._completion(kind.of_type, group, non_null=True)
            return inner if inner.non_null else _non_null(inner)
        if isinstance(kind, GraphQLList):
            return _list(self._completion(kind.of_type, group))
        if isinstance(kind, GraphQLLeafType):
            text = kind is GraphQLString or kind is GraphQLID
            enum = isinstance(kind, GraphQLEnumType)
            return _Completion(sync=_leaf(kind, non_null), text=text, non_null=non_null, enum=enum)
        if not isinstance(kind, GraphQLObjectType) or kind.is_type_of is not None:
            raise _NotCovered  # abstract types, and objects that check their values
        grouped, defers, _ = collect_subfields(
            self.schema, self.fragments, self.variable_values, self.operation, kind, group
        )
        if defers:
            raise _NotCovered
        return _object(kind, self._fields(kind, grouped), non_null=non_null)
