"""What an anonymous prober gets: hostile bodies are a 400 with a GraphQL error body and at most
one log line (never a 500 or a traceback), and with INTROSPECTION=false neither introspection nor
"Did you mean ...?" suggestions reveal the schema."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from seatbill.config import Settings
from seatbill.limits import MAX_JSON_DEPTH, MAX_JSON_ITEMS, BadBody, parse_request_json
from tests.conftest import Api, Stack, serve

QUERY = "query($v: String) { plans { id } }"
SUGGESTING = "Did you mean"


def body(variables: bytes) -> bytes:
    return b'{"query": "' + QUERY.encode() + b'", "variables": ' + variables + b"}"


HOSTILE: dict[str, bytes] = {
    "invalid UTF-8": body(b'{"v": "\xff\xfe\xfd"}'),
    "a lone surrogate": body(b'{"v": "\\ud800"}'),
    "100 KB of [": b"[" * 100_000,
    "variables nested past the limit": body(b'{"v": ' + b"[" * 200 + b"]" * 200 + b"}"),
    "variables nested past the recursion limit": body(b'{"v": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    "an oversized array": body(b'{"v": [' + b",".join([b"0"] * 200_000) + b"]}"),
    "an object with too many keys": body(
        json.dumps({f"k{i}": 0 for i in range(MAX_JSON_ITEMS + 1)}).encode()
    ),
    "variables that are a list": body(b"[1, 2]"),
    "variables that are a string": body(b'"x"'),
    "a top level that is a string": b'"{ plans { id } }"',
    "a top level that is a number": b"1",
    "a number too long to convert": body(b'{"v": ' + b"9" * 5000 + b"}"),
    "NaN": body(b'{"v": NaN}'),
    "not JSON at all": b"{query: plans}",
}

# Loggers of work that may run beside the request (seat sync, webhooks, the ORM's SQL).
BACKGROUND = ("tortoise", "seatbill.", "stripe", "httpx", "aiosqlite", "asyncpg")


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_bodies_get_400_and_at_most_one_log_line(
    api: Api, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.INFO)
    response = await api.http.post(
        f"{api.url}/graphql",
        content=HOSTILE[name],
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    errors = response.json()["errors"]
    assert len(errors) == 1 and errors[0]["message"], errors
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    lines = [r for r in caplog.records if not r.name.startswith(BACKGROUND)]
    assert len(lines) <= 1, [r.getMessage() for r in lines]


async def test_a_body_at_the_limits_is_served(api: Api) -> None:
    deep: Any = "x"
    for _ in range(MAX_JSON_DEPTH - 2):  # the body and its variables are the first two levels
        deep = [deep]
    variables = {"list": [0] * MAX_JSON_ITEMS, "deep": deep}  # extra variables are ignored
    response = await api.http.post(
        f"{api.url}/graphql", json={"query": "{ plans { id } }", "variables": variables}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["plans"]
    response = await api.http.post(
        f"{api.url}/graphql", json={"query": "{ plans { id } }", "variables": {"deep": [deep]}}
    )
    assert response.status_code == 400


async def test_other_refusals_are_graphql_error_bodies_too(api: Api) -> None:
    response = await api.http.post(
        f"{api.url}/graphql", content=b"query=x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Unsupported content type"}]}


def test_parse_request_json_checks_shape_without_recursion() -> None:
    assert parse_request_json(b'{"query": "{ a }"}') == {"query": "{ a }"}
    for raw in (b"[" * 100_000, b'{"a":' + b"{" * 3000 + b"}" * 3000 + b"}", b"\xc3\x28"):
        with pytest.raises(BadBody):
            parse_request_json(raw)


# Introspection ------------------------------------------------------------------------------

INTROSPECTION_QUERIES = [
    "{ __schema { queryType { name } types { name } } }",
    '{ __type(name: "Workspace") { fields { name } } }',
    "query { plans { id } __schema { types { name } } }",
]

# Each invites graphql-core to suggest a real name: a field, an argument, a type, an input
# field (in a literal and in variables) and an enum value.
MISTAKES: list[tuple[str, dict[str, Any]]] = [
    ("{ workspacs { id } }", {}),
    ('{ workspace(idd: "x") { id } }', {}),
    ("query($r: Rol) { me { id } }", {}),
    ('mutation { createWorkspace(input: {nme: "x"}) { userErrors { code } } }', {}),
    (
        "mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { userErrors { code } } }",
        {"i": {"nme": "x"}},
    ),
    (
        'mutation { switchPlan(input: {workspaceId: "x", planId: "pro", interval: MONTHH}) '
        "{ userErrors { code } } }",
        {},
    ),
    (
        "mutation($i: SwitchPlanInput!) { switchPlan(input: $i) { userErrors { code } } }",
        {"i": {"workspaceId": "x", "planId": "pro", "interval": "MONTHH"}},
    ),
]


@pytest.fixture
async def closed(api: Api, stack: Stack) -> AsyncIterator[Api]:
    """A second API beside the session's, with GRAPHIQL=false and INTROSPECTION=false."""
    settings = replace(stack.settings, graphiql=False, introspection=False)
    async with serve(settings, manage_orm=False) as url:
        yield Api(url, settings, api.http)


async def messages(api: Api, query: str, variables: dict[str, Any]) -> list[str]:
    body = await api.raw(query, variables, who=api.person())
    assert body.get("errors"), body
    return [error["message"] for error in body["errors"]]


async def test_introspection_is_refused_with_introspection_off(closed: Api) -> None:
    for query in INTROSPECTION_QUERIES:
        body = await closed.raw(query)  # anonymous
        assert body["data"] is None
        assert "introspection has been disabled" in body["errors"][0]["message"], body
    # Ordinary queries, and __typename, still work.
    data = await closed.data("{ __typename plans { id __typename } }")
    assert data["__typename"] == "Query" and data["plans"]
    page = await closed.http.get(f"{closed.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404  # no GraphiQL either


async def test_no_suggestions_with_introspection_off(closed: Api, api: Api) -> None:
    for query, variables in MISTAKES:
        # The development default suggests (so the mistake is one that would leak a name) ...
        assert any(SUGGESTING in m for m in await messages(api, query, variables)), query
        # ... and with introspection off the message stays, without the suggestion.
        hidden = await messages(closed, query, variables)
        assert not any(SUGGESTING in m for m in hidden), hidden
        assert all(m.strip() for m in hidden)


async def test_introspection_is_served_by_default(api: Api) -> None:
    data = await api.data("{ __schema { queryType { name } } }")
    assert data["__schema"]["queryType"]["name"] == "Query"


def test_introspection_follows_graphiql_unless_set() -> None:
    assert Settings.from_env({}).introspection is True
    assert Settings.from_env({"GRAPHIQL": "false"}).introspection is False
    assert Settings.from_env({"GRAPHIQL": "false", "INTROSPECTION": "true"}).introspection
    assert Settings.from_env({"INTROSPECTION": "off"}).introspection is False
