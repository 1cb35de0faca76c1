"""Tortoise models. Every invariant that can live in the database lives there."""

from seatbill.models.workspace import (
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    User,
    Workspace,
)

__all__ = ["Invitation", "InvitationStatus", "Membership", "Role", "User", "Workspace"]
