"""Mutation payloads: the result field(s) plus userErrors for expected failures."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry

from seatbill.schema.types import Invitation, Member, UserError, Workspace
from seatbill.services.errors import DomainError

T = TypeVar("T")


async def attempt(call: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Run a service call; an expected failure becomes userErrors instead of an exception."""
    try:
        return await call, []
    except DomainError as error:
        return None, [UserError.of(error)]


@strawberry.type
class WorkspacePayload:
    workspace: Workspace | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteWorkspacePayload:
    deleted_workspace_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InvitationPayload:
    invitation: Invitation | None = None
    token: str | None = strawberry.field(
        default=None, description="inviteMember only: the one-time secret for the invitee."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MemberPayload:
    member: Member | None = None
    workspace: Workspace | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveMemberPayload:
    removed_member_id: strawberry.ID | None = None
    workspace: Workspace | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LeaveWorkspacePayload:
    workspace_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
