"""Bad input gets a typed error and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from seatbill.models import Invitation, Membership, User, Workspace
from tests.conftest import Api


async def counts() -> tuple[int, ...]:
    return (
        await Workspace.all().count(),
        await Membership.all().count(),
        await Invitation.all().count(),
        await User.all().count(),
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "VALIDATION"),
        ("   ", "VALIDATION"),
        ("x" * 10_000, "VALIDATION"),
        ("x" * 101, "VALIDATION"),
        ("bad\u0000name", "VALIDATION"),
        ("zero\u200bwidth", "VALIDATION"),
    ],
)
async def test_bad_workspace_names(api: Api, name: str, code: str) -> None:
    owner = api.person("owner")
    await api.data("{ me { id } }", who=owner)
    before = await counts()
    payload = await api.mutate("createWorkspace", {"name": name}, owner, "workspace { id }")
    assert payload["workspace"] is None
    assert payload["userErrors"] == [
        {"code": code, "message": payload["userErrors"][0]["message"], "field": ["input", "name"]}
    ]
    assert await counts() == before


async def test_longest_allowed_name(api: Api) -> None:
    payload = await api.mutate(
        "createWorkspace", {"name": "n" * 100}, api.person(), "workspace { name }"
    )
    assert payload["workspace"]["name"] == "n" * 100


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plain",
        "no-at.example.com",
        "two@@example.com",
        "a@b",
        "a b@example.com",
        "a@-example.com",
        f"{'x' * 320}@example.com",
        "<a@example.com>",
        "a@example..com",
    ],
)
async def test_invalid_emails(api: Api, email: str) -> None:
    owner = api.person("owner")
    ws_id = await api.create_workspace(owner)
    before = await counts()
    payload = await api.invite(owner, ws_id, email)
    assert payload["invitation"] is None and payload["token"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("VALIDATION", ["input", "email"])
    ]
    assert await counts() == before


async def test_invite_as_owner_is_refused(api: Api) -> None:
    owner = api.person("owner")
    ws_id = await api.create_workspace(owner)
    payload = await api.invite(owner, ws_id, "x@example.com", "OWNER")
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("VALIDATION", ["input", "role"])
    ]


MALFORMED_IDS = [
    "",
    "not-a-uuid",
    "1",
    "00000000-0000-0000-0000-000000000000",
    "x" * 5000,
    "'; DROP TABLE workspace; --",
]


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
async def test_malformed_and_unknown_ids(api: Api, bad_id: str) -> None:
    owner = api.person("owner")
    ws_id = await api.create_workspace(owner)
    before = await counts()
    cases: list[tuple[str, dict[str, Any], list[str]]] = [
        ("deleteWorkspace", {"workspaceId": bad_id}, ["input", "workspaceId"]),
        (
            "inviteMember",
            {"workspaceId": bad_id, "email": "a@example.com"},
            ["input", "workspaceId"],
        ),
        ("revokeInvitation", {"invitationId": bad_id}, ["input", "invitationId"]),
        ("removeMember", {"workspaceId": ws_id, "memberId": bad_id}, ["input", "memberId"]),
        ("leaveWorkspace", {"workspaceId": bad_id}, ["input", "workspaceId"]),
        (
            "changeMemberRole",
            {"workspaceId": ws_id, "memberId": bad_id, "role": "ADMIN"},
            ["input", "memberId"],
        ),
    ]
    for operation, input, field in cases:
        payload = await api.mutate(operation, input, owner, "__typename")
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", field)]
    found = await api.data("query($id: ID!) { workspace(id: $id) { id } }", {"id": bad_id}, owner)
    assert found["workspace"] is None
    assert await counts() == before


@pytest.mark.parametrize("token", ["", "nope", "x" * 10_000, "' OR 1=1 --"])
async def test_unknown_invitation_tokens(api: Api, token: str) -> None:
    person = api.person()
    await api.data("{ me { id } }", who=person)
    before = await counts()
    payload = await api.accept(person, token)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVITATION_INVALID", ["input", "token"])
    ]
    assert await counts() == before


async def test_wrong_types_are_graphql_validation_errors(api: Api) -> None:
    owner = api.person()
    body = await api.raw(
        'mutation { inviteMember(input: {workspaceId: 1, email: "a@b.co", role: KING}) '
        "{ userErrors { code } } }",
        who=owner,
    )
    assert body["errors"] and body.get("data") is None
    assert "KING" in body["errors"][0]["message"] or "Role" in body["errors"][0]["message"]


async def test_unknown_plan_quote_bounds(api: Api) -> None:
    body = await api.raw("{ plans { prices { quote(seats: -1) } } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
