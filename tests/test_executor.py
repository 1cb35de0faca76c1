"""The compiled query executor (seatbill.schema.executor) answers exactly what graphql-core's
executor answers: data, errors, paths and locations, for the API's own schema and for a small
schema made to fail in every way a plan abandons."""

from __future__ import annotations

import asyncio
import enum
import gc
import logging
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType, parse
from starlette.requests import Request
from strawberry.permission import BasePermission

from seatbill.auth import TokenVerifier
from seatbill.catalog import default_catalog_path, load_catalog
from seatbill.config import Settings
from seatbill.models import Membership
from seatbill.prepared import Converters
from seatbill.schema import build_schema
from seatbill.schema.context import Context
from seatbill.schema.executor import CompiledQueryExecutor, _direct_call
from seatbill.schema.loaders import Loaders
from seatbill.schema.rows import Column, Row, RowLayout, RowList
from seatbill.schema.types import BRIEF_MEMBER_ROWS, MEMBER_ROWS, Member
from tests.conftest import Api, Person
from tests.test_limits import add_members

# A small schema: plain fields, resolvers (sync and async, with arguments), lists, enums,
# nulls where they are allowed and where they are not, errors.


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    colour: Colour
    note: str | None = None

    @strawberry.field
    def loud(self) -> str:
        return self.name.upper()


# Leaves as rows (seatbill.schema.rows): the plan reads them from the rows, graphql-core from
# the objects ``make`` makes (counted).
made: list[Leaf] = []


def _leaf_of_row(row: Row, convert: Converters) -> Leaf:
    leaf = Leaf(name=row["name"], colour=convert["colour"](row["colour"]), note=row["note"])
    made.append(leaf)
    return leaf


LEAF_ROWS = RowLayout(
    make=_leaf_of_row,
    fields={"name": Column("name"), "colour": Column("colour"), "note": Column("note")},
)
# the colours by value; an unknown value stays as it is (and the enum refuses it)
COLOURS = Converters({"colour": lambda value: Colour._value2member_map_.get(value, value)})


@strawberry.type
class Node:
    id: strawberry.ID
    label: str
    leaves: list[Leaf]
    maybe: Leaf | None = None

    @strawberry.field
    async def size(self, times: int = 1) -> int:
        await asyncio.sleep(0)
        return len(self.leaves) * times

    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        return f"{info.field_name} at {info.path.as_list()}"

    @strawberry.field
    def shout(self) -> str:
        if self.label == "boom":
            raise ValueError("no shouting here")
        return self.label.upper()


def _nodes(broken: str) -> list[Node]:
    leaves = [Leaf(name="a", colour=Colour.RED), Leaf(name="b", colour=Colour.BLUE, note="n")]
    if broken == "null-name":
        leaves.append(Leaf(name=None, colour=Colour.RED))  # type: ignore[arg-type]
    if broken == "bad-colour":
        leaves.append(Leaf(name="c", colour="green"))  # type: ignore[arg-type]
    return [
        Node(id=strawberry.ID("1"), label="one", leaves=leaves, maybe=leaves[0]),
        Node(id=strawberry.ID("2"), label="boom" if broken == "boom" else "two", leaves=[]),
    ]


class OnlyWhenAsked(BasePermission):
    message = "not asked"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return bool(kwargs.get("ask"))


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[OnlyWhenAsked])  # type: ignore[untyped-decorator]
    def guarded(self, ask: bool = False) -> str:
        return "asked"

    @strawberry.field
    async def nodes(self, broken: str = "") -> list[Node]:
        await asyncio.sleep(0)
        return _nodes(broken)

    @strawberry.field
    def first(self, broken: str = "") -> Node:
        return _nodes(broken)[0]

    @strawberry.field
    async def fails(self) -> Node | None:
        raise RuntimeError("resolver failed")

    @strawberry.field
    async def rows(self, broken: str = "") -> Sequence[Leaf]:
        rows: list[Row] = [
            {"name": "a", "colour": "red", "note": None},
            {"name": "b", "colour": "blue", "note": "n"},
        ]
        if broken == "null-name":
            rows.append({"name": None, "colour": "red", "note": None})
        if broken == "bad-colour":
            rows.append({"name": "c", "colour": "green", "note": None})
        return RowList(rows, COLOURS, LEAF_ROWS)


plain_schema = strawberry.Schema(query=Query)
compiled_schema = strawberry.Schema(query=Query, execution_context_class=CompiledQueryExecutor)

SMALL_QUERIES = [
    "{ nodes { id label leaves { name colour note } maybe { name } } }",
    "{ nodes { __typename id size big: size(times: 3) shout } first { label } }",
    '{ nodes(broken: "null-name") { id leaves { name } } first { label } }',
    '{ nodes(broken: "bad-colour") { leaves { colour } } }',
    '{ nodes(broken: "boom") { label shout } }',
    '{ first(broken: "null-name") { leaves { name } } }',
    "{ fails { id } nodes { id } }",
    "query { a: first { ...F } b: first { label } } fragment F on Node { id leaves { name } }",
    "query($n: Int!) { nodes { size(times: $n) } }",
    "{ nodes { id @include(if: false) label } }",
    "{ first { label } __typename }",
    "{ rows { name colour note __typename } }",
    "{ nodes { where } first { where } guarded(ask: true) }",
    "{ first { label } guarded }",
    "{ rows { name loud } }",
    '{ rows(broken: "null-name") { name } }',
    '{ rows(broken: "bad-colour") { colour } }',
]


def _answer(result: Any) -> dict[str, Any]:
    return {
        "data": result.data,
        "errors": [error.formatted for error in result.errors or []],
    }


@pytest.mark.parametrize("query", SMALL_QUERIES)
async def test_small_schema_answers_alike(query: str) -> None:
    variables = {"n": 2}
    expected = _answer(await plain_schema.execute(query, variable_values=variables))
    for _ in range(2):  # the second time from the kept plan
        got = _answer(await compiled_schema.execute(query, variable_values=variables))
        assert got == expected


async def test_lists_of_rows_are_answered_from_the_rows() -> None:
    """A RowList whose layout has every selected field makes no objects in a plan; a field
    the layout lacks (a resolver) takes the objects, as graphql-core always does."""
    query = "{ rows { name colour note } }"
    for schema, objects in ((plain_schema, 2), (compiled_schema, 0), (compiled_schema, 0)):
        made.clear()
        result = await schema.execute(query)
        assert result.errors is None
        assert result.data == {
            "rows": [
                {"name": "a", "colour": "RED", "note": None},
                {"name": "b", "colour": "BLUE", "note": "n"},
            ]
        }
        assert len(made) == objects
    made.clear()
    result = await compiled_schema.execute("{ rows { name loud } }")
    assert result.data == {"rows": [{"name": "a", "loud": "A"}, {"name": "b", "loud": "B"}]}
    assert len(made) == 2


def test_a_row_list_is_a_sequence_of_its_objects() -> None:
    rows: list[Row] = [{"name": n, "colour": "red", "note": None} for n in "abc"]
    leaves = RowList(rows, COLOURS, LEAF_ROWS)
    assert len(leaves) == 3
    assert [leaf.name for leaf in leaves] == ["a", "b", "c"]
    assert leaves[-1].name == "c"
    assert [leaf.name for leaf in leaves[1:]] == ["b", "c"]
    assert leaves[0].colour is Colour.RED


def _plan_of(query: str, schema: strawberry.Schema) -> Any:
    """The plan made for the query's operation (None: not covered)."""
    document = parse(query)
    executor = CompiledQueryExecutor.build(
        schema._schema, document, raw_variable_values={"id": str(uuid.uuid4())}
    )
    assert isinstance(executor, CompiledQueryExecutor)
    return executor._plan()


def test_resolvers_are_called_directly_unless_they_have_extensions() -> None:
    """strawberry's wrapper is skipped for resolvers without extensions; a field with a
    permission class (an extension) keeps it."""
    query = compiled_schema._schema.query_type
    assert query is not None
    assert _direct_call(query.fields["nodes"], compiled_schema._schema) is not None
    assert _direct_call(query.fields["guarded"], compiled_schema._schema) is None
    node = compiled_schema._schema.get_type("Node")
    assert isinstance(node, GraphQLObjectType)
    assert _direct_call(node.fields["label"], compiled_schema._schema) is None  # no resolver


def test_what_a_plan_covers() -> None:
    assert _plan_of("{ nodes { id leaves { name colour } } }", compiled_schema) is not None
    assert _plan_of("{ first { label } }", compiled_schema) is not None
    # what selects depends on variables; introspection; mutations are not planned
    assert _plan_of("{ nodes { id @skip(if: true) } }", compiled_schema) is None
    assert _plan_of("{ __schema { queryType { name } } }", compiled_schema) is None


# The API's own schema, the same database, each answer from both executors.


def _context(settings: Settings, who: Person | None) -> Context:
    headers = [] if who is None else [(b"authorization", f"Bearer {who.token}".encode())]
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})
    return Context(
        request=request,
        settings=settings,
        verifier=TokenVerifier(settings),
        catalog=load_catalog(default_catalog_path()),
    )


API_QUERIES = [
    "query($id: ID!) { workspace(id: $id) { id name members { role user { email name } } "
    "seats { billable purchased } subscription { status seats } } }",
    "query($id: ID!) { workspace(id: $id) { id name createdAt viewerRole billingState "
    "members { id role joinedAt user { id email name invitations { id } } } "
    "invitations { id email role status workspaceName } seats { billable purchased limit "
    "available } entitlements { key value } } }",
    "{ me { id email name invitations { id workspaceName } } workspaces { __typename id name "
    "viewerRole members { role } } plans { id name seatMode maxSeats limits { key value } } }",
    "query($id: ID!) { a: workspace(id: $id) { ...W } b: workspace(id: $id) { name } } "
    "fragment W on Workspace { id members { ... on Member { role user { email } } } }",
    'query { workspace(id: "not-an-id") { id } }',
    "query($id: ID!) { workspace(id: $id) { invoices(first: 0) { edges { cursor } } } }",
    "query($id: ID!) { workspace(id: $id) { members @include(if: true) { role } } }",
]


def test_the_api_reads_are_planned(settings: Settings) -> None:
    schema = build_schema(settings)
    for query in API_QUERIES[:5]:
        assert _plan_of(query, schema) is not None, query
    assert _plan_of(API_QUERIES[-1], schema) is None  # @include
    # Resolvers that must not run twice (a plan given up runs them again): not planned.
    for once in (
        "query($id: ID!) { workspace(id: $id) { name paymentMethod { brand } } }",
        "query($id: ID!) { previewSeatChange(workspaceId: $id, seats: 3) { __typename } }",
    ):
        assert _plan_of(once, schema) is None, once


@pytest.mark.parametrize("query", API_QUERIES)
async def test_api_schema_answers_alike(
    api: Api, settings: Settings, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    owner = api.person("executor-owner")
    workspace_id = await api.create_workspace(owner, "Compiled")
    await add_members(workspace_id, 3)
    invitee = api.person("executor-invitee")
    await api.mutate(
        "inviteMember",
        {"workspaceId": workspace_id, "email": invitee.email, "role": "ADMIN"},
        owner,
        "invitation { id }",
    )
    stranger = api.person("executor-stranger")
    plain = build_schema(replace(settings, introspection=True), compiled=False)
    fast = build_schema(replace(settings, introspection=True))
    for who in (owner, invitee, stranger, None):
        for workspace in (workspace_id, str(uuid.uuid4())):
            variables = {"id": workspace}
            expected = _answer(
                await plain.execute(query, variables, context_value=_context(settings, who))
            )
            for _ in range(2):  # parsed and validated, then known: the compiled path
                caplog.clear()
                with caplog.at_level(logging.DEBUG, logger="seatbill.executor"):
                    got = _answer(
                        await fast.execute(query, variables, context_value=_context(settings, who))
                    )
                assert got == expected, (who, workspace)
                # Only answers with errors come from graphql-core after the plan gave up (the
                # query with a directive has no plan: graphql-core answers it directly).
                gave_up = bool(expected["errors"]) and "@include" not in query
                assert bool(caplog.records) == gave_up, caplog.records


async def test_member_lists_answer_the_rows(api: Api) -> None:
    """Member lists come from the loader's rows as asyncpg or SQLite return them (MEMBER_ROWS):
    every field of Member and User as the ORM's rows say, in order, read from the rows (no
    resolver selected) or from the objects made of them (with one)."""
    owner = api.person("executor-rows")
    workspace_id = await api.create_workspace(owner, "Rows")
    await add_members(workspace_id, 4)
    rows = (
        await Membership.filter(workspace_id=workspace_id)
        .order_by("joined_at", "id")
        .prefetch_related("user")
    )
    expected = [
        {
            "id": str(row.id),
            "role": row.role.name,
            "joinedAt": row.joined_at.isoformat(),
            "user": {"id": str(row.user.id), "email": row.user.email, "name": row.user.name},
        }
        for row in rows
    ]
    for listed in ("id role joinedAt", "role"):  # the second reads brief rows
        for invitations in ("", " invitations { id }"):  # the second makes the objects
            query = (
                f"query($id: ID!) {{ workspace(id: $id) {{ members {{ {listed} "
                f"user {{ id email name{invitations} }} }} }} }}"
            )
            for _ in range(2):
                found = await api.data(query, {"id": workspace_id}, owner)
                members = found["workspace"]["members"]
                if invitations:
                    for member in members:
                        assert member["user"].pop("invitations") == []
                if listed == "role":
                    assert members == [{"role": m["role"], "user": m["user"]} for m in expected], (
                        query
                    )
                else:
                    assert members == expected, query


def _read_by_layout(layout: RowLayout[Any], row: Row, convert: Converters) -> dict[str, Any]:
    return {
        name: _read_by_layout(source, row, convert)
        if isinstance(source, RowLayout)
        else source.read(row, convert)
        for name, source in layout.fields.items()
    }


def _read_by_object(layout: RowLayout[Any], made: Any) -> dict[str, Any]:
    return {
        name: _read_by_object(source, getattr(made, name))
        if isinstance(source, RowLayout)
        else getattr(made, name)
        for name, source in layout.fields.items()
    }


async def test_the_member_layout_reads_what_its_objects_hold(api: Api) -> None:
    """Each field MEMBER_ROWS (and BRIEF_MEMBER_ROWS, from rows without the id and the join
    time) reads from a row is the field of the Member (and User) its ``make`` makes of that
    row."""
    owner = api.person("layout-rows")
    workspace_id = await api.create_workspace(owner, "Layout")
    await add_members(workspace_id, 3)
    loaders = Loaders()
    for loader, layout in (
        (loaders.members, MEMBER_ROWS),
        (loaders.brief_members, BRIEF_MEMBER_ROWS),
    ):
        found = await loader.load(uuid.UUID(workspace_id))
        assert len(found.rows) == 4
        for row in found.rows:
            member = layout.make(row, found.convert)
            assert isinstance(member, Member)
            assert _read_by_layout(layout, row, found.convert) == _read_by_object(layout, member)


async def test_a_read_leaves_no_reference_cycles(api: Api, settings: Settings) -> None:
    """A read's context, its loaders and their rows are freed by reference counting when the
    answer is made, not left to the cyclic collector (under load its older generations ran
    for a quarter of the CPU, collecting these)."""
    owner = api.person("no-cycles")
    workspace_id = await api.create_workspace(owner, "Cycles")
    await add_members(workspace_id, 3)
    schema = build_schema(settings)
    for query in API_QUERIES[:2]:
        for _ in range(2):  # parsed and validated, then known: the compiled path
            gc.collect()
            gc.disable()
            try:
                context = _context(settings, owner)
                loaders = weakref.ref(context.loaders)
                kept = weakref.ref(context)
                result = await schema.execute(query, {"id": workspace_id}, context_value=context)
                assert result.errors is None
                del context, result
                assert kept() is None
                assert loaders() is None
            finally:
                gc.enable()
