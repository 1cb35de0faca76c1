"""GraphQL over HTTP as clients speak it, over real HTTP: media types and status codes, GET for
queries only, Apollo's automatic persisted queries, CORS, and graphql-http's audit."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from seatbill.config import ConfigError, Settings
from seatbill.graphql_http import GRAPHQL_RESPONSE_JSON, PersistedQueries, negotiate
from tests.conftest import REPO, Api, Stack, serve

QUERY = "{ plans { id } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
QUOTE = "query Quote($seats: Int!) { plans { id prices { interval quote(seats: $seats) } } }"
NEW = {"Accept": GRAPHQL_RESPONSE_JSON}
APOLLO = {"Accept": "application/graphql-response+json,application/json;q=0.9"}


def media(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


async def post(api: Api, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return await api.http.post(f"{api.url}/graphql", json=body, headers=headers or {})


def quote_of(body: dict[str, Any], plan: str) -> int:
    """The monthly quote for ``plan`` in a QUOTE result, in cents."""
    [prices] = [p["prices"] for p in body["data"]["plans"] if p["id"] == plan]
    [monthly] = [p["quote"] for p in prices if p["interval"] == "MONTH"]
    return int(monthly)


# Media types and status codes -----------------------------------------------------------------


async def test_the_response_media_type_follows_accept(api: Api) -> None:
    for accept, expected in [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (APOLLO["Accept"], GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, application/json", "application/json"),
    ]:
        headers = {"Accept": accept} if accept else {}
        response = await post(api, {"query": QUERY}, headers)
        assert response.status_code == 200, (accept, response.text)
        assert media(response) == expected, accept
        assert response.headers["content-type"].endswith("charset=utf-8")
        assert [p["id"] for p in response.json()["data"]["plans"]] == ["starter", "pro", "team"]


async def test_validation_errors_are_400_with_the_new_media_type_and_200_with_json(
    api: Api,
) -> None:
    for query in ["{ noSuchField }", "{ plans { id ", "query($n: Int!) { plans { id } }"]:
        new = await post(api, {"query": query, "variables": {"n": None}}, NEW)
        assert new.status_code == 400, new.text
        assert media(new) == GRAPHQL_RESPONSE_JSON
        assert "data" not in new.json() and new.json()["errors"][0]["message"]
        # The legacy media type answers every well-formed request with 200.
        legacy = await post(api, {"query": query, "variables": {"n": None}})
        assert legacy.status_code == 200, legacy.text
        assert media(legacy) == "application/json"
        assert legacy.json()["data"] is None and legacy.json()["errors"]


async def test_field_errors_keep_200_and_data_with_either_media_type(api: Api) -> None:
    for headers in ({}, NEW):
        response = await post(
            api,
            {"query": '{ plans { id } workspace(id: "nope") { id } }'},
            {
                **headers,
                "Authorization": "Bearer not-a-token",
            },
        )
        assert response.status_code == 200, response.text
        assert "data" in response.json()


async def test_request_errors_are_400_error_bodies(api: Api) -> None:
    url = f"{api.url}/graphql"
    cases = [
        {"content": b'{"query": 1}'},
        {"content": b'{"notquery": "{ plans { id } }"}'},
        {"content": b'{"query": "{ plans { id } }", "variables": [1]}'},
        {"content": b'[{"query": "{ plans { id } }"}]'},
        {"content": b'{ "not JSON'},
        {"content": b""},
    ]
    for headers in ({}, NEW):
        for case in cases:
            response = await api.http.post(
                url, headers={"Content-Type": "application/json", **headers}, **case
            )
            assert response.status_code == 400, (case, response.text)
            assert media(response) == (headers.get("Accept") or "application/json")
            assert response.json()["errors"][0]["message"]
    no_type = await api.http.post(url, content=json.dumps({"query": QUERY}).encode())
    assert no_type.status_code == 400


def test_negotiate() -> None:
    assert negotiate(None) == negotiate("") == negotiate("text/plain") == "application/json"
    assert negotiate("application/*") == "application/json"
    assert negotiate("application/json, application/graphql-response+json") == (
        GRAPHQL_RESPONSE_JSON
    )
    assert negotiate("application/graphql-response+json;q=0, */*") == "application/json"


# GET ---------------------------------------------------------------------------------------


async def test_queries_run_over_get(api: Api) -> None:
    for headers in ({}, NEW):
        response = await api.http.get(
            f"{api.url}/graphql",
            params={"query": QUOTE, "variables": '{"seats": 4}'},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert quote_of(response.json(), "pro") == 1999 + 4 * 375


async def test_mutations_over_get_are_405_with_an_error_body(api: Api) -> None:
    owner = api.person("owner")
    for headers in ({}, NEW):
        response = await api.http.get(
            f"{api.url}/graphql",
            params={
                "query": 'mutation { createWorkspace(input: {name: "Via GET"}) { workspace { id } } }'
            },
            headers={**headers, "Authorization": f"Bearer {owner.token}"},
        )
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        assert media(response) == (headers.get("Accept") or "application/json")
        assert response.json() == {
            "errors": [{"message": "mutations are not allowed when using GET"}]
        }
    # Nothing was created.
    assert await api.data("{ workspaces { id } }", who=owner) == {"workspaces": []}


# Automatic persisted queries ------------------------------------------------------------------


def apq(sha: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def test_persisted_queries_follow_apollos_protocol_over_post_and_get(api: Api) -> None:
    query = "{ plans { id name } }"  # not registered by any other test
    sha = hashlib.sha256(query.encode()).hexdigest()
    not_found = {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    # 1. The hash alone: unknown.
    response = await post(api, {"extensions": apq(sha)})
    assert (response.status_code, response.json()) == (200, not_found)
    get = await api.http.get(
        f"{api.url}/graphql", params={"extensions": json.dumps(apq(sha))}, headers=APOLLO
    )
    assert get.status_code == 404 and media(get) == GRAPHQL_RESPONSE_JSON
    assert get.json() == not_found
    # 2. A query whose hash does not match is refused and not registered.
    wrong = await post(api, {"query": "{ plans { id seatMode } }", "extensions": apq(sha)})
    assert wrong.status_code == 400
    assert wrong.json() == {"errors": [{"message": "provided sha does not match query"}]}
    assert (await post(api, {"extensions": apq(sha)})).json() == not_found
    # 3. Hash and query: runs and registers.
    registered = await post(api, {"query": query, "extensions": apq(sha)}, APOLLO)
    assert registered.status_code == 200
    plans = registered.json()["data"]["plans"]
    # 4. Then the hash alone works, over POST and GET.
    again = await post(api, {"extensions": apq(sha)}, APOLLO)
    assert again.status_code == 200 and again.json()["data"]["plans"] == plans
    get = await api.http.get(
        f"{api.url}/graphql", params={"extensions": json.dumps(apq(sha))}, headers=APOLLO
    )
    assert get.status_code == 200 and get.json()["data"]["plans"] == plans


async def test_a_persisted_query_with_variables_and_a_bad_version(api: Api) -> None:
    query = QUOTE
    sha = hashlib.sha256(query.encode()).hexdigest()
    first = await post(api, {"query": query, "variables": {"seats": 4}, "extensions": apq(sha)})
    assert quote_of(first.json(), "pro") == 1999 + 4 * 375
    response = await post(api, {"variables": {"seats": 5}, "extensions": apq(sha)})
    direct = await post(api, {"query": query, "variables": {"seats": 5}})
    assert response.json() == direct.json() and quote_of(direct.json(), "pro") != 1999 + 4 * 375
    bad = await post(
        api, {"query": query, "extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha}}}
    )
    assert bad.status_code == 400


async def test_the_persisted_query_cache_is_bounded(api: Api, stack: Stack) -> None:
    settings = replace(stack.settings, persisted_queries_cache_size=2)
    async with serve(settings, manage_orm=False) as url:
        small = Api(url, settings, api.http)
        queries = [f"{{ plans {{ id }} a{i}: __typename }}" for i in range(3)]
        hashes = [hashlib.sha256(q.encode()).hexdigest() for q in queries]
        for query, sha in zip(queries, hashes, strict=True):
            assert (await post(small, {"query": query, "extensions": apq(sha)})).status_code == 200
        found = ["data" in (await post(small, {"extensions": apq(sha)})).json() for sha in hashes]
        assert found == [False, True, True]  # the oldest went first


def test_persisted_queries_drop_the_least_recently_used() -> None:
    cache = PersistedQueries(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("c", "C")
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == ("A", None, "C", 2)
    off = PersistedQueries(0)
    off.put("a", "A")
    assert off.get("a") is None


# CORS ---------------------------------------------------------------------------------------

FRONTEND = "https://app.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
async def cors_api(api: Api, stack: Stack) -> AsyncIterator[Api]:
    settings = replace(stack.settings, cors_origins=(FRONTEND, "http://localhost:5173"))
    async with serve(settings, manage_orm=False) as url:
        yield Api(url, settings, api.http)


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def test_cors_preflight_and_credentials_for_listed_origins_only(cors_api: Api) -> None:
    url = f"{cors_api.url}/graphql"
    preflight = await cors_api.http.options(url, headers={"Origin": FRONTEND, **PREFLIGHT})
    assert preflight.status_code == 200
    headers = cors_headers(preflight)
    assert headers["access-control-allow-origin"] == FRONTEND
    assert headers["access-control-allow-credentials"] == "true"
    assert {"GET", "POST"} <= set(headers["access-control-allow-methods"].split(", "))
    assert {"authorization", "content-type"} <= set(
        headers["access-control-allow-headers"].lower().split(", ")
    )
    actual = await cors_api.http.post(url, json={"query": QUERY}, headers={"Origin": FRONTEND})
    assert actual.status_code == 200
    assert cors_headers(actual)["access-control-allow-origin"] == FRONTEND
    assert cors_headers(actual)["access-control-allow-credentials"] == "true"
    # Another origin: no CORS header at all, on the preflight or on the request.
    for origin in ("https://evil.example.com", "https://app.example.com.evil.example"):
        other = await cors_api.http.options(url, headers={"Origin": origin, **PREFLIGHT})
        assert other.status_code >= 400 and cors_headers(other) == {}
        post_other = await cors_api.http.post(
            url, json={"query": QUERY}, headers={"Origin": origin}
        )
        assert post_other.status_code == 200 and cors_headers(post_other) == {}


async def test_no_cors_by_default(api: Api) -> None:
    assert api.settings.cors_origins == ()
    url = f"{api.url}/graphql"
    preflight = await api.http.options(url, headers={"Origin": FRONTEND, **PREFLIGHT})
    assert preflight.status_code >= 400 and cors_headers(preflight) == {}
    response = await api.http.post(url, json={"query": QUERY}, headers={"Origin": FRONTEND})
    assert cors_headers(response) == {}


# graphql-http's audit -------------------------------------------------------------------------

NODE_MODULES = REPO / ".tools" / "node" / "node_modules"


async def test_graphql_http_audit_passes_without_warnings(api: Api) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: graphql-http's audit runs in node (`make audit-http`)")
    if not (NODE_MODULES / "graphql-http" / "package.json").is_file():
        # `make test` installs it; a bare `pytest` installs it the same way (about 2 s).
        make = await asyncio.create_subprocess_exec("make", "-C", str(REPO), "node-tools")
        assert await make.wait() == 0, "make node-tools failed"
    proc = await _run_node(node, f"{api.url}/graphql")
    results = [json.loads(line) for line in proc[0].splitlines() if line.strip()]
    assert len(results) >= 50, proc
    assert [r for r in results if r["status"] != "ok"] == [], proc[1]


async def _run_node(node: str, url: str) -> tuple[str, str]:
    process = await asyncio.create_subprocess_exec(
        node,
        str(REPO / "tests" / "http" / "audit.cjs"),
        url,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return out.decode(), err.decode()


def test_cors_and_cache_settings_are_checked_at_start_up() -> None:
    settings = Settings.from_env({"CORS_ORIGINS": "https://app.example.com, http://localhost:5173"})
    assert settings.cors_origins == ("https://app.example.com", "http://localhost:5173")
    assert Settings.from_env({}).cors_origins == ()
    assert Settings.from_env({}).persisted_queries_cache_size == 1000
    for env, variable in [
        ({"CORS_ORIGINS": "app.example.com"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "http://app.example.com"}, "CORS_ORIGINS"),
        ({"PERSISTED_QUERIES_CACHE_SIZE": "lots"}, "PERSISTED_QUERIES_CACHE_SIZE"),
        ({"PERSISTED_QUERIES_CACHE_SIZE": "-1"}, "PERSISTED_QUERIES_CACHE_SIZE"),
    ]:
        with pytest.raises(ConfigError) as error:
            Settings.from_env(env)
        assert str(error.value).startswith(f"{variable}:") and "\n" not in str(error.value)
