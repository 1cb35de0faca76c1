"""Scenarios: workspaces, invitations, members and roles, through the real HTTP endpoint."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from seatbill.auth import Claims
from seatbill.models import Invitation, Membership, User, Workspace
from seatbill.services.workspaces import RecentUsers
from tests.conftest import Api, count_queries

WORKSPACE = """
query($id: ID!) { workspace(id: $id) {
  id name viewerRole seats { billable }
  members { id role user { email } }
  invitations { id email role status }
} }"""


async def test_owner_creates_workspace_and_is_its_only_member(api: Api) -> None:
    owner = api.person("owner")
    payload = await api.mutate(
        "createWorkspace", {"name": "  Acme   Inc "}, owner, "workspace { id name viewerRole }"
    )
    assert payload["userErrors"] == []
    assert payload["workspace"]["name"] == "Acme Inc"
    assert payload["workspace"]["viewerRole"] == "OWNER"
    ws = (await api.data(WORKSPACE, {"id": payload["workspace"]["id"]}, owner))["workspace"]
    assert ws["seats"]["billable"] == 1
    assert [(m["role"], m["user"]["email"]) for m in ws["members"]] == [("OWNER", owner.email)]
    listed = (await api.data("{ workspaces { id } }", who=owner))["workspaces"]
    assert [w["id"] for w in listed] == [payload["workspace"]["id"]]


async def test_owner_invites_two_one_accepts_billable_is_two(api: Api) -> None:
    owner, ann, bob = api.person("owner"), api.person("ann"), api.person("bob")
    ws_id = await api.create_workspace(owner)
    to_ann = await api.invite(owner, ws_id, ann.email.upper(), "ADMIN")
    to_bob = await api.invite(owner, ws_id, bob.email)
    assert to_ann["userErrors"] == [] and to_bob["userErrors"] == []
    assert to_ann["invitation"]["email"] == ann.email  # stored lower-cased
    assert to_ann["invitation"]["status"] == "PENDING"
    assert to_ann["token"] and to_ann["invitation"]["token"] == to_ann["token"]
    expires = datetime.fromisoformat(to_ann["invitation"]["expiresAt"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)

    # Ann sees her invitation before accepting; the token is never shown again.
    mine = await api.data("{ me { email invitations { id workspaceName token role } } }", who=ann)
    assert mine["me"]["invitations"] == [
        {"id": to_ann["invitation"]["id"], "workspaceName": "Acme", "token": None, "role": "ADMIN"}
    ]
    accepted = await api.accept(ann, to_ann["token"])
    assert accepted["userErrors"] == []
    assert accepted["member"]["role"] == "ADMIN"

    ws = (await api.data(WORKSPACE, {"id": ws_id}, owner))["workspace"]
    assert ws["seats"]["billable"] == 2  # pending invitations do not count
    assert [i["email"] for i in ws["invitations"]] == [bob.email]
    assert {m["user"]["email"] for m in ws["members"]} == {owner.email, ann.email}
    stored = await Invitation.get(id=to_ann["invitation"]["id"])
    assert stored.token_hash != to_ann["token"] and to_ann["token"] not in stored.token_hash


async def test_invitation_token_is_single_use(api: Api) -> None:
    owner, ann = api.person("owner"), api.person("ann")
    ws_id = await api.create_workspace(owner)
    token = (await api.invite(owner, ws_id, ann.email))["token"]
    assert (await api.accept(ann, token))["userErrors"] == []
    again = await api.accept(ann, token)
    assert again["member"] is None
    assert again["userErrors"][0]["code"] == "INVITATION_INVALID"
    assert await Membership.filter(workspace_id=ws_id).count() == 2


async def test_only_the_invited_email_can_accept(api: Api) -> None:
    owner, ann, mallory = api.person("owner"), api.person("ann"), api.person("mallory")
    ws_id = await api.create_workspace(owner)
    token = (await api.invite(owner, ws_id, ann.email))["token"]
    stolen = await api.accept(mallory, token)
    assert stolen["userErrors"][0]["code"] == "INVITATION_EMAIL_MISMATCH"
    assert await Membership.filter(workspace_id=ws_id).count() == 1
    # The invitation is still good for Ann.
    assert (await api.accept(ann, token))["userErrors"] == []


async def test_email_match_is_case_insensitive(api: Api) -> None:
    owner = api.person("owner")
    ann = api.person("ann", email="Ann.Case@Example.COM")
    ws_id = await api.create_workspace(owner)
    token = (await api.invite(owner, ws_id, "ann.case@example.com"))["token"]
    assert (await api.accept(ann, token))["userErrors"] == []


async def test_expired_invitation_is_refused_and_can_be_reissued(api: Api) -> None:
    owner, ann = api.person("owner"), api.person("ann")
    ws_id = await api.create_workspace(owner)
    invited = await api.invite(owner, ws_id, ann.email)
    await Invitation.filter(id=invited["invitation"]["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    late = await api.accept(ann, invited["token"])
    assert late["userErrors"][0]["code"] == "INVITATION_EXPIRED"
    assert await Membership.filter(workspace_id=ws_id).count() == 1
    fresh = await api.invite(owner, ws_id, ann.email)
    assert fresh["userErrors"] == []
    assert (await api.accept(ann, fresh["token"]))["userErrors"] == []


async def test_duplicate_invitation_and_existing_member_are_refused(api: Api) -> None:
    owner, ann = api.person("owner"), api.person("ann")
    ws_id = await api.create_workspace(owner)
    assert (await api.invite(owner, ws_id, ann.email))["userErrors"] == []
    twice = await api.invite(owner, ws_id, ann.email)
    assert twice["userErrors"][0]["code"] == "ALREADY_INVITED"
    assert twice["userErrors"][0]["field"] == ["input", "email"]
    owner_again = await api.invite(owner, ws_id, owner.email)
    assert owner_again["userErrors"][0]["code"] == "ALREADY_MEMBER"
    assert await Invitation.filter(workspace_id=ws_id).count() == 1


async def test_revoked_invitation_cannot_be_accepted(api: Api) -> None:
    owner, ann = api.person("owner"), api.person("ann")
    ws_id = await api.create_workspace(owner)
    invited = await api.invite(owner, ws_id, ann.email)
    revoked = await api.mutate(
        "revokeInvitation",
        {"invitationId": invited["invitation"]["id"]},
        owner,
        "invitation { status }",
    )
    assert revoked == {"invitation": {"status": "REVOKED"}, "userErrors": []}
    refused = await api.accept(ann, invited["token"])
    assert refused["userErrors"][0]["code"] == "INVITATION_INVALID"
    again = await api.mutate(
        "revokeInvitation",
        {"invitationId": invited["invitation"]["id"]},
        owner,
        "invitation { status }",
    )
    assert again["userErrors"][0]["code"] == "INVITATION_INVALID"


async def test_owner_cannot_leave_or_be_removed(api: Api) -> None:
    owner, admin = api.person("owner"), api.person("admin")
    ws_id = await api.create_workspace(owner)
    await api.join(owner, ws_id, admin, "ADMIN")
    owner_member = (await api.data(WORKSPACE, {"id": ws_id}, owner))["workspace"]["members"][0]
    left = await api.mutate("leaveWorkspace", {"workspaceId": ws_id}, owner, "workspaceId")
    assert left["userErrors"][0]["code"] == "OWNER_CANNOT_LEAVE"
    removed = await api.mutate(
        "removeMember",
        {"workspaceId": ws_id, "memberId": owner_member["id"]},
        admin,
        "removedMemberId",
    )
    assert removed["userErrors"][0]["code"] == "CANNOT_REMOVE_OWNER"
    assert await Membership.filter(workspace_id=ws_id).count() == 2


async def test_member_leaves_and_admin_removes_member(api: Api) -> None:
    owner, admin, ann, bob = (api.person(n) for n in ("owner", "admin", "ann", "bob"))
    ws_id = await api.create_workspace(owner)
    await api.join(owner, ws_id, admin, "ADMIN")
    await api.join(owner, ws_id, ann)
    bob_id = await api.join(owner, ws_id, bob)
    left = await api.mutate("leaveWorkspace", {"workspaceId": ws_id}, ann, "workspaceId")
    assert left == {"workspaceId": ws_id, "userErrors": []}
    removed = await api.mutate(
        "removeMember",
        {"workspaceId": ws_id, "memberId": bob_id},
        admin,
        "removedMemberId workspace { seats { billable } }",
    )
    assert removed["userErrors"] == []
    assert removed["workspace"]["seats"]["billable"] == 2
    assert (await api.data(WORKSPACE, {"id": ws_id}, bob))["workspace"] is None


async def test_ownership_moves_with_change_member_role(api: Api) -> None:
    owner, ann = api.person("owner"), api.person("ann")
    ws_id = await api.create_workspace(owner)
    ann_id = await api.join(owner, ws_id, ann)
    moved = await api.mutate(
        "changeMemberRole",
        {"workspaceId": ws_id, "memberId": ann_id, "role": "OWNER"},
        owner,
        "member { role } workspace { viewerRole }",
    )
    assert moved["userErrors"] == []
    assert moved["member"]["role"] == "OWNER"
    assert moved["workspace"]["viewerRole"] == "ADMIN"  # the old owner becomes ADMIN
    roles = await Membership.filter(workspace_id=ws_id).values_list("role", flat=True)
    assert sorted(roles) == ["ADMIN", "OWNER"]
    # The old owner, now an admin, cannot take ownership back.
    members = (await api.data(WORKSPACE, {"id": ws_id}, owner))["workspace"]["members"]
    me = next(m for m in members if m["user"]["email"] == owner.email)
    back = await api.mutate(
        "changeMemberRole",
        {"workspaceId": ws_id, "memberId": me["id"], "role": "OWNER"},
        owner,
        "member { role }",
    )
    assert back["userErrors"][0]["code"] == "FORBIDDEN"
    left = await api.mutate("leaveWorkspace", {"workspaceId": ws_id}, owner, "workspaceId")
    assert left["userErrors"] == []


async def test_admin_manages_members_but_never_the_owner(api: Api) -> None:
    owner, admin, ann = api.person("owner"), api.person("admin"), api.person("ann")
    ws_id = await api.create_workspace(owner)
    await api.join(owner, ws_id, admin, "ADMIN")
    ann_id = await api.join(admin, ws_id, ann)  # admins invite too
    promoted = await api.mutate(
        "changeMemberRole",
        {"workspaceId": ws_id, "memberId": ann_id, "role": "ADMIN"},
        admin,
        "member { role }",
    )
    assert promoted == {"member": {"role": "ADMIN"}, "userErrors": []}
    members = (await api.data(WORKSPACE, {"id": ws_id}, owner))["workspace"]["members"]
    owner_id = next(m["id"] for m in members if m["role"] == "OWNER")
    demote_owner = await api.mutate(
        "changeMemberRole",
        {"workspaceId": ws_id, "memberId": owner_id, "role": "MEMBER"},
        admin,
        "member { role }",
    )
    assert demote_owner["userErrors"][0]["code"] == "FORBIDDEN"
    give_away = await api.mutate(
        "changeMemberRole",
        {"workspaceId": ws_id, "memberId": ann_id, "role": "OWNER"},
        admin,
        "member { role }",
    )
    assert give_away["userErrors"][0]["code"] == "FORBIDDEN"
    assert await Membership.filter(workspace_id=ws_id, role="OWNER").count() == 1


async def test_owner_cannot_demote_themselves(api: Api) -> None:
    owner = api.person("owner")
    ws_id = await api.create_workspace(owner)
    me = (await api.data(WORKSPACE, {"id": ws_id}, owner))["workspace"]["members"][0]
    result = await api.mutate(
        "changeMemberRole",
        {"workspaceId": ws_id, "memberId": me["id"], "role": "ADMIN"},
        owner,
        "member { role }",
    )
    assert result["userErrors"][0]["code"] == "VALIDATION"
    assert (await Membership.get(id=me["id"])).role == "OWNER"


async def test_delete_workspace_hides_it_and_voids_invitations(api: Api) -> None:
    owner, ann, bob = api.person("owner"), api.person("ann"), api.person("bob")
    ws_id = await api.create_workspace(owner)
    await api.join(owner, ws_id, ann, "ADMIN")
    token = (await api.invite(owner, ws_id, bob.email))["token"]
    by_admin = await api.mutate(
        "deleteWorkspace", {"workspaceId": ws_id}, ann, "deletedWorkspaceId"
    )
    assert by_admin["userErrors"][0]["code"] == "FORBIDDEN"
    deleted = await api.mutate(
        "deleteWorkspace", {"workspaceId": ws_id}, owner, "deletedWorkspaceId"
    )
    assert deleted == {"deletedWorkspaceId": ws_id, "userErrors": []}
    assert (await api.data(WORKSPACE, {"id": ws_id}, owner))["workspace"] is None
    assert (await api.data("{ workspaces { id } }", who=owner))["workspaces"] == []
    assert (await api.accept(bob, token))["userErrors"][0]["code"] == "INVITATION_INVALID"
    assert (await Workspace.get(id=ws_id)).deleted_at is not None
    twice = await api.mutate("deleteWorkspace", {"workspaceId": ws_id}, owner, "deletedWorkspaceId")
    assert twice["userErrors"][0]["code"] == "NOT_FOUND"


async def test_user_profile_follows_token_claims(api: Api) -> None:
    person = api.person("carol")
    me = (await api.data("{ me { id email name } }", who=person))["me"]
    assert me["email"] == person.email and me["name"] == "Carol"
    again = (await api.data("{ me { id } }", who=person))["me"]
    assert again["id"] == me["id"]


async def test_a_viewer_is_upserted_once_a_minute_per_claims(api: Api) -> None:
    """The same claims within a minute: the user made current a moment ago, no read; other
    claims (a renamed user) or a minute later: upserted again."""
    now = [1000.0]
    recent = RecentUsers(clock=lambda: now[0])
    subject = f"recent-{uuid.uuid4().hex[:8]}"
    claims = Claims(subject=subject, email=f"{subject}@example.com", name="Recent")
    first = await recent.upsert(claims)
    with count_queries() as counted:
        assert (await recent.upsert(claims)).id == first.id
    assert counted.queries == []
    renamed = replace(claims, name="Renamed")
    with count_queries() as counted:
        assert (await recent.upsert(renamed)).name == "Renamed"
    assert counted.queries
    assert (await User.get(subject=subject)).name == "Renamed"
    now[0] += 61
    with count_queries() as counted:
        assert (await recent.upsert(claims)).name == "Recent"
    assert counted.queries
    assert (await User.get(subject=subject)).name == "Recent"
