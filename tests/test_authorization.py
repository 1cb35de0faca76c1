"""Authorization matrix: non-member, member, admin and owner against every operation.

A non-member learns nothing (NOT_FOUND, exactly as for an id that does not exist); a member
without the right role gets FORBIDDEN; nothing changes on a refusal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from seatbill.models import Invitation, Membership, Workspace
from tests.conftest import Api, Person


@dataclass
class Team:
    workspace_id: str
    owner: Person
    admin: Person
    member: Person
    outsider: Person
    ids: dict[str, str]  # role name -> membership id
    other_member: Person
    invitation_id: str


async def make_team(api: Api) -> Team:
    owner, admin, member, other, outsider = (
        api.person(n) for n in ("owner", "admin", "member", "other", "outsider")
    )
    ws_id = await api.create_workspace(owner)
    ids = {
        "ADMIN": await api.join(owner, ws_id, admin, "ADMIN"),
        "MEMBER": await api.join(owner, ws_id, member),
        "OTHER": await api.join(owner, ws_id, other),
    }
    ws = await api.data(
        "query($id: ID!) { workspace(id: $id) { members { id role } } }", {"id": ws_id}, owner
    )
    ids["OWNER"] = next(m["id"] for m in ws["workspace"]["members"] if m["role"] == "OWNER")
    invitation = await api.invite(owner, ws_id, "pending@example.com")
    return Team(ws_id, owner, admin, member, outsider, ids, other, invitation["invitation"]["id"])


async def snapshot(ws_id: str) -> tuple[Any, ...]:
    members = sorted(await Membership.filter(workspace_id=ws_id).values_list("id", "role"))
    invitations = sorted(await Invitation.filter(workspace_id=ws_id).values_list("id", "status"))
    workspace = await Workspace.get(id=ws_id).values_list("name", "deleted_at")
    return tuple(members), tuple(invitations), workspace


def actor(team: Team, who: str) -> Person:
    return {
        "owner": team.owner,
        "admin": team.admin,
        "member": team.member,
        "outsider": team.outsider,
    }[who]


OPERATIONS: dict[str, Any] = {
    "inviteMember": lambda t: {"workspaceId": t.workspace_id, "email": "new@example.com"},
    "revokeInvitation": lambda t: {"invitationId": t.invitation_id},
    "removeMember": lambda t: {"workspaceId": t.workspace_id, "memberId": t.ids["OTHER"]},
    "changeMemberRole": lambda t: {
        "workspaceId": t.workspace_id,
        "memberId": t.ids["OTHER"],
        "role": "ADMIN",
    },
    "deleteWorkspace": lambda t: {"workspaceId": t.workspace_id},
}

# Expected outcome per (operation, actor): None = allowed, else the error code.
EXPECTED: dict[str, dict[str, str | None]] = {
    "inviteMember": {"owner": None, "admin": None, "member": "FORBIDDEN", "outsider": "NOT_FOUND"},
    "revokeInvitation": {
        "owner": None,
        "admin": None,
        "member": "FORBIDDEN",
        "outsider": "NOT_FOUND",
    },
    "removeMember": {"owner": None, "admin": None, "member": "FORBIDDEN", "outsider": "NOT_FOUND"},
    "changeMemberRole": {
        "owner": None,
        "admin": None,
        "member": "FORBIDDEN",
        "outsider": "NOT_FOUND",
    },
    "deleteWorkspace": {
        "owner": None,
        "admin": "FORBIDDEN",
        "member": "FORBIDDEN",
        "outsider": "NOT_FOUND",
    },
}


@pytest.mark.parametrize("who", ["owner", "admin", "member", "outsider"])
@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_mutation_matrix(api: Api, operation: str, who: str) -> None:
    team = await make_team(api)
    before = await snapshot(team.workspace_id)
    payload = await api.mutate(
        operation, OPERATIONS[operation](team), actor(team, who), "__typename"
    )
    expected = EXPECTED[operation][who]
    if expected is None:
        assert payload["userErrors"] == []
        assert await snapshot(team.workspace_id) != before
    else:
        assert [e["code"] for e in payload["userErrors"]] == [expected]
        assert await snapshot(team.workspace_id) == before


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_non_member_and_unknown_id_look_the_same(api: Api, operation: str) -> None:
    team = await make_team(api)
    as_outsider = await api.mutate(
        operation, OPERATIONS[operation](team), team.outsider, "__typename"
    )
    unknown_team = Team(
        str(uuid.uuid4()),
        team.owner,
        team.admin,
        team.member,
        team.outsider,
        {k: str(uuid.uuid4()) for k in team.ids},
        team.other_member,
        str(uuid.uuid4()),
    )
    as_owner_unknown = await api.mutate(
        operation, OPERATIONS[operation](unknown_team), team.owner, "__typename"
    )
    assert as_outsider["userErrors"] == as_owner_unknown["userErrors"]


@pytest.mark.parametrize("who", ["owner", "admin", "member", "outsider"])
async def test_reads(api: Api, who: str) -> None:
    team = await make_team(api)
    result = await api.data(
        "query($id: ID!) { workspace(id: $id) { id viewerRole members { id } "
        "invitations { id } seats { billable } } }",
        {"id": team.workspace_id},
        actor(team, who),
    )
    ws = result["workspace"]
    if who == "outsider":
        assert ws is None
        return
    assert ws["viewerRole"] == who.upper()
    assert len(ws["members"]) == 4 and ws["seats"]["billable"] == 4
    # Pending invitations (with their addresses) are for those who manage members.
    assert len(ws["invitations"]) == (1 if who in ("owner", "admin") else 0)


@pytest.mark.parametrize("who", ["owner", "admin", "member"])
async def test_leave(api: Api, who: str) -> None:
    team = await make_team(api)
    payload = await api.mutate(
        "leaveWorkspace", {"workspaceId": team.workspace_id}, actor(team, who), "workspaceId"
    )
    if who == "owner":
        assert payload["userErrors"][0]["code"] == "OWNER_CANNOT_LEAVE"
    else:
        assert payload["userErrors"] == []
        assert not await Membership.exists(id=team.ids[who.upper()])


async def test_outsider_cannot_leave_or_accept_for_others(api: Api) -> None:
    team = await make_team(api)
    payload = await api.mutate(
        "leaveWorkspace", {"workspaceId": team.workspace_id}, team.outsider, "workspaceId"
    )
    assert payload["userErrors"][0]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_only_owner_transfers_ownership(api: Api, who: str) -> None:
    team = await make_team(api)
    payload = await api.mutate(
        "changeMemberRole",
        {"workspaceId": team.workspace_id, "memberId": team.ids["MEMBER"], "role": "OWNER"},
        actor(team, who),
        "member { role }",
    )
    if who == "owner":
        assert payload["member"] == {"role": "OWNER"}
    else:
        assert payload["userErrors"][0]["code"] == "FORBIDDEN"
    assert await Membership.filter(workspace_id=team.workspace_id, role="OWNER").count() == 1


UNAUTHENTICATED_OPERATIONS = [
    "{ me { id } }",
    "{ workspaces { id } }",
    '{ workspace(id: "00000000-0000-0000-0000-000000000000") { id } }',
    'mutation { createWorkspace(input: {name: "x"}) { userErrors { code } } }',
    'mutation { acceptInvitation(input: {token: "x"}) { userErrors { code } } }',
]


@pytest.mark.parametrize("query", UNAUTHENTICATED_OPERATIONS)
async def test_every_operation_needs_a_token(api: Api, query: str) -> None:
    body = await api.raw(query)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["data"] is None or set(body["data"].values()) == {None}
