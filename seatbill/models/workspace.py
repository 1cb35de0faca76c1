"""Users, workspaces, memberships and invitations."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


class InvitationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class User(Model):
    id = fields.UUIDField(primary_key=True)
    subject = fields.CharField(max_length=255, unique=True)  # the JWT `sub`
    email = fields.CharField(max_length=320, null=True)
    name = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "user"


class Workspace(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=100)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Soft delete: billing rows and late webhooks still refer to a deleted workspace.
    deleted_at = fields.DatetimeField(null=True, db_index=True)
    # One Stripe customer per workspace, created lazily (metadata.workspace_id = id).
    stripe_customer_id = fields.CharField(max_length=255, null=True, unique=True)
    # Set by dunning after DUNNING_MAX_ATTEMPTS failed payments; invoice.paid clears it.
    restricted_at = fields.DatetimeField(null=True)
    # When its one free trial started (a subscription with a trial was mirrored): never again.
    trial_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "workspace"


class Membership(Model):
    id = fields.UUIDField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="memberships", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(Role, max_length=10)
    joined_at = fields.DatetimeField(auto_now_add=True)

    workspace_id: object
    user_id: object

    class Meta:
        table = "membership"
        unique_together = (("workspace", "user"),)
        indexes = (("user",),)  # a user's workspaces (the unique pair leads with the workspace)


class Invitation(Model):
    id = fields.UUIDField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="invitations", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=320)  # stored lower-cased
    role = fields.CharEnumField(Role, max_length=10)
    token_hash = fields.CharField(
        max_length=64, unique=True
    )  # sha256 hex; the token is never stored
    status = fields.CharEnumField(InvitationStatus, max_length=10, default=InvitationStatus.PENDING)
    invited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sent_invitations", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    responded_at = fields.DatetimeField(null=True)

    workspace_id: object

    class Meta:
        table = "invitation"
        indexes = (("workspace", "status"), ("email", "status"))
