"""Mutation inputs: each mutation takes exactly one."""

from __future__ import annotations

import strawberry

from seatbill.models import Role


@strawberry.input
class CreateWorkspaceInput:
    name: str


@strawberry.input
class DeleteWorkspaceInput:
    workspace_id: strawberry.ID


@strawberry.input
class InviteMemberInput:
    workspace_id: strawberry.ID
    email: str
    role: Role = Role.MEMBER


@strawberry.input
class AcceptInvitationInput:
    token: str


@strawberry.input
class RevokeInvitationInput:
    invitation_id: strawberry.ID


@strawberry.input
class RemoveMemberInput:
    workspace_id: strawberry.ID
    member_id: strawberry.ID


@strawberry.input
class LeaveWorkspaceInput:
    workspace_id: strawberry.ID


@strawberry.input
class ChangeMemberRoleInput:
    workspace_id: strawberry.ID
    member_id: strawberry.ID
    role: Role
