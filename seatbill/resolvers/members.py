"""Invitations and memberships."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from seatbill import models
from seatbill.schema.context import Context
from seatbill.schema.inputs import (
    AcceptInvitationInput,
    ChangeMemberRoleInput,
    InviteMemberInput,
    LeaveWorkspaceInput,
    RemoveMemberInput,
    RevokeInvitationInput,
)
from seatbill.schema.payloads import (
    InvitationPayload,
    LeaveWorkspacePayload,
    MemberPayload,
    RemoveMemberPayload,
    attempt,
)
from seatbill.schema.types import Invitation, Member, Workspace
from seatbill.services import workspaces

Ctx = Info[Context, None]


async def invite_member(info: Ctx, input: InviteMemberInput) -> InvitationPayload:
    viewer = await info.context.viewer()
    issued, errors = await attempt(
        workspaces.invite_member(
            viewer,
            str(input.workspace_id),
            input.email,
            models.Role(input.role),
            ttl_days=info.context.settings.invitation_ttl_days,
            catalog=info.context.catalog,
            settings=info.context.settings,
        )
    )
    if issued is None:
        return InvitationPayload(user_errors=errors)
    return InvitationPayload(
        invitation=Invitation.of(issued.invitation, token=issued.token), token=issued.token
    )


async def accept_invitation(info: Ctx, input: AcceptInvitationInput) -> MemberPayload:
    viewer = await info.context.viewer()
    joined, errors = await attempt(
        workspaces.accept_invitation(
            viewer,
            input.token,
            catalog=info.context.catalog,
            email_verified=info.context.email_verified,
        )
    )
    if joined is None:
        return MemberPayload(user_errors=errors)
    return MemberPayload(member=Member.of(joined, viewer), workspace=Workspace.of(joined.workspace))


async def revoke_invitation(info: Ctx, input: RevokeInvitationInput) -> InvitationPayload:
    viewer = await info.context.viewer()
    row, errors = await attempt(workspaces.revoke_invitation(viewer, str(input.invitation_id)))
    return InvitationPayload(invitation=Invitation.of(row) if row else None, user_errors=errors)


async def remove_member(info: Ctx, input: RemoveMemberInput) -> RemoveMemberPayload:
    viewer = await info.context.viewer()
    removed, errors = await attempt(
        workspaces.remove_member(viewer, str(input.workspace_id), str(input.member_id))
    )
    if removed is None:
        return RemoveMemberPayload(user_errors=errors)
    found = await workspaces.get_workspace(viewer, str(input.workspace_id))
    return RemoveMemberPayload(
        removed_member_id=strawberry.ID(str(removed.id)),
        workspace=Workspace.of(found) if found else None,
    )


async def leave_workspace(info: Ctx, input: LeaveWorkspaceInput) -> LeaveWorkspacePayload:
    viewer = await info.context.viewer()
    left, errors = await attempt(workspaces.leave_workspace(viewer, str(input.workspace_id)))
    return LeaveWorkspacePayload(
        workspace_id=strawberry.ID(str(left.workspace_id)) if left else None, user_errors=errors
    )


async def change_member_role(info: Ctx, input: ChangeMemberRoleInput) -> MemberPayload:
    viewer = await info.context.viewer()
    changed, errors = await attempt(
        workspaces.change_member_role(
            viewer, str(input.workspace_id), str(input.member_id), models.Role(input.role)
        )
    )
    if changed is None:
        return MemberPayload(user_errors=errors)
    found = await workspaces.get_workspace(viewer, str(input.workspace_id))
    user = await info.context.loaders.user.load(uuid.UUID(str(changed.user_id)))
    assert user is not None  # membership.user_id is a foreign key
    return MemberPayload(
        member=Member.of(changed, user), workspace=Workspace.of(found) if found else None
    )
