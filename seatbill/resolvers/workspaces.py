"""Workspace queries and mutations."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from seatbill.schema.context import Context
from seatbill.schema.inputs import CreateWorkspaceInput, DeleteWorkspaceInput
from seatbill.schema.payloads import DeleteWorkspacePayload, WorkspacePayload, attempt
from seatbill.schema.types import User, Workspace
from seatbill.services import billing, workspaces
from seatbill.services.billing import Billing

Ctx = Info[Context, None]


async def me(info: Ctx) -> User:
    return User.of(await info.context.viewer())


async def list_workspaces(info: Ctx) -> list[Workspace]:
    viewer = await info.context.viewer()
    return [Workspace.of(row) for row in await workspaces.workspaces_of(viewer)]


async def workspace(info: Ctx, id: strawberry.ID) -> Workspace | None:
    row = await workspaces.get_workspace(await info.context.viewer(), str(id))
    return Workspace.of(row) if row else None


async def create_workspace(info: Ctx, input: CreateWorkspaceInput) -> WorkspacePayload:
    viewer = await info.context.viewer()
    row, errors = await attempt(
        workspaces.create_workspace(viewer, input.name, settings=info.context.settings)
    )
    return WorkspacePayload(workspace=Workspace.of(row) if row else None, user_errors=errors)


async def delete_workspace(info: Ctx, input: DeleteWorkspaceInput) -> DeleteWorkspacePayload:
    viewer = await info.context.viewer()
    context = info.context
    # The subscription ends first: if Stripe refuses, the workspace is not deleted.
    _, errors = await attempt(
        billing.cancel_now_for_deleted_workspace(
            Billing(context.gateway, context.catalog, context.settings),
            viewer,
            str(input.workspace_id),
        )
    )
    if errors:
        return DeleteWorkspacePayload(user_errors=errors)
    deleted, errors = await attempt(workspaces.delete_workspace(viewer, str(input.workspace_id)))
    return DeleteWorkspacePayload(
        deleted_workspace_id=strawberry.ID(str(deleted)) if deleted else None, user_errors=errors
    )
