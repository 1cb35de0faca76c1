"""Operational limits, and SQL query counts that do not grow with the data."""

from __future__ import annotations

import uuid
from dataclasses import replace

import httpx

from seatbill.config import Settings
from seatbill.models import Membership, Role, User
from seatbill.schema import build_schema
from tests.conftest import Api, count_queries

MEMBERS_QUERY = "query($id: ID!) { workspace(id: $id) { members { user { email } } } }"


async def add_members(workspace_id: str, count: int) -> None:
    users = [
        User(
            id=uuid.uuid4(),
            subject=f"bulk-{uuid.uuid4().hex}",
            email=f"bulk-{uuid.uuid4().hex[:12]}@example.com",
        )
        for _ in range(count)
    ]
    await User.bulk_create(users)
    await Membership.bulk_create(
        [
            Membership(id=uuid.uuid4(), workspace_id=workspace_id, user_id=u.id, role=Role.MEMBER)
            for u in users
        ]
    )


async def test_member_list_query_count_is_flat(api: Api) -> None:
    owner = api.person("owner")
    small = await api.create_workspace(owner, "Small")
    large = await api.create_workspace(owner, "Large")
    await add_members(large, 199)

    await api.data(MEMBERS_QUERY, {"id": small}, owner)  # warm the user row
    with count_queries() as one:
        small_result = await api.data(MEMBERS_QUERY, {"id": small}, owner)
    with count_queries() as many:
        large_result = await api.data(MEMBERS_QUERY, {"id": large}, owner)
    assert len(small_result["workspace"]["members"]) == 1
    assert len(large_result["workspace"]["members"]) == 200
    assert len(one.queries) == len(many.queries), (one.queries, many.queries)
    assert len(many.queries) <= 4  # viewer, membership + workspace, members joined with users


async def test_workspaces_list_query_count_is_flat(api: Api) -> None:
    query = (
        "{ workspaces { id viewerRole seats { billable } "
        "members { role user { email } } invitations { id } } }"
    )
    few, lots = api.person("few"), api.person("lots")
    await api.create_workspace(few)
    for i in range(12):
        ws = await api.create_workspace(lots, f"W{i}")
        await add_members(ws, 3)
    await api.data(query, who=few)
    await api.data(query, who=lots)
    with count_queries() as one:
        await api.data(query, who=few)
    with count_queries() as twelve:
        result = await api.data(query, who=lots)
    assert len(result["workspaces"]) == 12
    assert len(one.queries) == len(twelve.queries), (one.queries, twelve.queries)


async def test_query_depth_limit(settings: Settings) -> None:
    # Introspection is exempt and the real schema is shallow, so check the limiter on a
    # schema built with a low limit; validation refuses before anything executes.
    schema = build_schema(replace(settings, max_query_depth=3))
    result = await schema.execute("{ workspaces { members { user { invitations { id } } } } }")
    assert result.errors and "exceeds maximum operation depth" in result.errors[0].message
    ok = await schema.execute("{ plans { prices { currency } } }", context_value=None)
    assert not ok.errors or "depth" not in ok.errors[0].message


async def test_alias_limit(api: Api) -> None:
    aliases = " ".join(f"a{i}: me {{ id }}" for i in range(31))
    body = await api.raw(f"{{ {aliases} }}", who=api.person())
    assert body["errors"] and "alias" in body["errors"][0]["message"].lower()


async def test_token_limit(api: Api) -> None:
    fields = " ".join("id" for _ in range(2100))
    body = await api.raw(f"{{ me {{ {fields} }} }}", who=api.person())
    assert body["errors"] and "token" in body["errors"][0]["message"].lower()


async def test_oversized_body_gets_413_and_changes_nothing(api: Api) -> None:
    owner = api.person()
    await api.data("{ me { id } }", who=owner)
    before = await Membership.all().count()
    big_name = "x" * 2_000_000
    response = await api.http.post(
        f"{api.url}/graphql",
        json={
            "query": "mutation($n: String!) { createWorkspace(input: {name: $n}) { userErrors { code } } }",
            "variables": {"n": big_name},
        },
        headers={"Authorization": f"Bearer {owner.token}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert await Membership.all().count() == before


async def test_oversized_chunked_body_gets_413(api: Api) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 50_000

    response = await api.http.post(
        f"{api.url}/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_mutations_are_refused_over_get(api: Api) -> None:
    response = await api.http.get(
        f"{api.url}/graphql",
        params={
            "query": 'mutation { createWorkspace(input: {name: "x"}) { userErrors { code } } }'
        },
    )
    assert response.status_code in (400, 405)
    _ = httpx
