"""Workspaces, their members and invitations: who may do what."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from seatbill.auth import Claims
from seatbill.catalog import Catalog, SeatMode
from seatbill.config import Settings
from seatbill.models import Invitation, InvitationStatus, Membership, Role, User, Workspace
from seatbill.prepared import PreparedModels
from seatbill.services import mirror, rate_limits, seat_sync, seats, validation
from seatbill.services.errors import DomainError, ErrorCode, not_found
from seatbill.ttl_cache import ExpiringCache

MANAGERS = (Role.OWNER, Role.ADMIN)


def now() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Read on every request (the viewer) and every workspace view: SQL built once.
_user_by_subject = PreparedModels(User, lambda subject: User.filter(subject=subject))
_member_workspace = PreparedModels(
    Workspace,
    lambda workspace_id, user_id: Workspace.filter(
        id=workspace_id, deleted_at__isnull=True, memberships__user_id=user_id
    ),
)


# A user upserted from a token's claims serves requests with the same claims this long.
RECENT_USER_SECONDS = 60.0
RECENT_USERS_MAX = 10_000


class RecentUsers:
    """The users upserted lately, by the claims they were upserted from (one per app, so per
    database). A client sends the same token with every request and its user row was made
    current from those claims a moment ago, so its next requests skip that read. Users are
    never deleted and only upsert_user changes one; if another token of the same subject with
    other claims changed the row meanwhile, this token's requests make it current again once
    the entry expires (RECENT_USER_SECONDS)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._users: ExpiringCache[Claims, User] = ExpiringCache(RECENT_USERS_MAX, clock)

    async def upsert(self, claims: Claims) -> User:
        user = self._users.get(claims)
        if user is None:
            user = await upsert_user(claims)
            self._users.put(claims, user, self._users.clock() + RECENT_USER_SECONDS)
        return user


async def upsert_user(claims: Claims) -> User:
    """The user row for verified claims, created on first sight and kept current."""
    found = await _user_by_subject(claims.subject)
    user = found[0] if found else None
    if user is None:
        try:
            async with in_transaction():
                return await User.create(
                    id=uuid.uuid4(), subject=claims.subject, email=claims.email, name=claims.name
                )
        except IntegrityError:  # a concurrent first request created it
            user = await User.get(subject=claims.subject)
    if (user.email, user.name) != (claims.email, claims.name):
        user.email, user.name = claims.email, claims.name
        await user.save(update_fields=["email", "name", "updated_at"])
    return user


async def membership(user: User, workspace_id: uuid.UUID) -> Membership | None:
    return await Membership.get_or_none(
        user_id=user.id, workspace_id=workspace_id, workspace__deleted_at__isnull=True
    ).prefetch_related("workspace")


async def require_membership(
    user: User,
    raw_workspace_id: str,
    roles: Sequence[Role] = (Role.OWNER, Role.ADMIN, Role.MEMBER),
    field: tuple[str, ...] = ("input", "workspaceId"),
) -> Membership:
    """The viewer's membership; a non-member learns nothing, not even that it exists."""
    workspace_id = validation.object_id(raw_workspace_id, "Workspace", field)
    found = await membership(user, workspace_id)
    if found is None:
        raise not_found("Workspace", field)
    if found.role not in roles:
        raise DomainError(
            ErrorCode.FORBIDDEN, "Your role in this workspace does not allow this", field
        )
    return found


async def workspaces_of(user: User) -> list[Workspace]:
    return (
        await Workspace.filter(memberships__user_id=user.id, deleted_at__isnull=True)
        .order_by("created_at", "id")
        .all()
    )


async def get_workspace(user: User, raw_id: str) -> Workspace | None:
    try:
        workspace_id = uuid.UUID(raw_id)
    except ValueError:
        return None
    # One joined query (membership and workspace are unique together).
    found = await _member_workspace(workspace_id, user.id)
    return found[0] if found else None


async def create_workspace(user: User, name: str, *, settings: Settings) -> Workspace:
    await rate_limits.check(settings, "createWorkspace", user.id)
    clean = validation.workspace_name(name)
    async with in_transaction():
        workspace = await Workspace.create(id=uuid.uuid4(), name=clean)
        await Membership.create(id=uuid.uuid4(), workspace=workspace, user=user, role=Role.OWNER)
    return workspace


async def delete_workspace(user: User, raw_workspace_id: str) -> uuid.UUID:
    member = await require_membership(user, raw_workspace_id, roles=(Role.OWNER,))
    workspace_id = member.workspace.id
    async with in_transaction():
        await Workspace.filter(id=workspace_id, deleted_at__isnull=True).update(deleted_at=now())
        await Invitation.filter(workspace_id=workspace_id, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.REVOKED, responded_at=now()
        )
    return workspace_id


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once; only its hash is stored


async def _require_room(
    workspace_id: uuid.UUID, catalog: Catalog, *, joining: bool, field: tuple[str, ...]
) -> None:
    """Refuse growth past the seat limit (purchased seats on a licensed plan, ``max_seats``
    on any plan). An invitation counts against the limit while it is pending; joining needs
    one free seat. Runs inside the transaction that adds the invitation or the member."""
    subscription = await mirror.live_subscription(workspace_id)
    cap = seats.limit(subscription, catalog)
    if subscription is None or cap is None:
        return
    # Concurrent invites and accepts of this workspace wait here, so two cannot both take
    # the last seat (PostgreSQL; SQLite transactions are serial anyway).
    await Workspace.filter(id=workspace_id).select_for_update(no_key=True).first()
    usage = await seats.usage(workspace_id, catalog)
    cap = usage.limit
    if cap is None:
        return
    wanted = usage.billable + 1 if joining else usage.committed + 1
    if wanted <= cap:
        return
    plan = seats.plan_of(subscription, catalog)
    if plan is not None and plan.seat_mode is SeatMode.LICENSED and cap == usage.purchased:
        message = (
            f"All {cap} purchased seats are taken ({usage.billable} members, "
            f"{usage.pending_invitations} pending invitations); buy more seats first"
        )
    else:
        name = plan.name if plan is not None else "current"
        message = f"The {name} plan allows at most {cap} members (pending invitations count)"
    raise DomainError(ErrorCode.SEAT_LIMIT_REACHED, message, field)


async def invite_member(
    user: User,
    raw_workspace_id: str,
    raw_email: str,
    role: Role,
    ttl_days: int = 7,
    *,
    catalog: Catalog,
    settings: Settings,
) -> IssuedInvitation:
    member = await require_membership(user, raw_workspace_id, roles=MANAGERS)
    await rate_limits.check(settings, "inviteMember", user.id, member.workspace.id)
    address = validation.email(raw_email)
    if role == Role.OWNER:
        raise DomainError(
            ErrorCode.VALIDATION,
            "Invite as ADMIN or MEMBER; ownership moves with changeMemberRole",
            ("input", "role"),
        )
    workspace_id = member.workspace.id
    if await Membership.filter(workspace_id=workspace_id, user__email=address).exists():
        raise DomainError(
            ErrorCode.ALREADY_MEMBER, "That person is already a member", ("input", "email")
        )
    token = secrets.token_urlsafe(32)
    async with in_transaction():
        # An expired invitation no longer blocks a new one for the same address.
        await Invitation.filter(
            workspace_id=workspace_id,
            email=address,
            status=InvitationStatus.PENDING,
            expires_at__lte=now(),
        ).update(status=InvitationStatus.EXPIRED)
        await _require_room(workspace_id, catalog, joining=False, field=("input", "email"))
        try:
            async with in_transaction():
                invitation = await Invitation.create(
                    id=uuid.uuid4(),
                    workspace_id=workspace_id,
                    email=address,
                    role=role,
                    token_hash=hash_token(token),
                    invited_by=user,
                    expires_at=now() + timedelta(days=ttl_days),
                )
        except IntegrityError:
            raise DomainError(
                ErrorCode.ALREADY_INVITED,
                "A pending invitation for that address exists; revoke it to send a new one",
                ("input", "email"),
            ) from None
    return IssuedInvitation(invitation, token)


async def accept_invitation(
    user: User, token: str, *, catalog: Catalog, email_verified: bool | None = None
) -> Membership:
    """Join with an invitation's token. Only the invited address can: equal after lower-casing
    A-Z (no other case folding), and not one the identity provider says is unverified."""
    field = ("input", "token")
    token = token.strip()
    invitation = (
        await Invitation.get_or_none(token_hash=hash_token(token)).prefetch_related("workspace")
        if 0 < len(token) <= 200
        else None
    )
    if (
        invitation is None
        or invitation.status != InvitationStatus.PENDING
        or invitation.workspace.deleted_at is not None
    ):
        raise DomainError(
            ErrorCode.INVITATION_INVALID, "This invitation is not valid or was already used", field
        )
    if email_verified is False:
        raise DomainError(
            ErrorCode.EMAIL_NOT_VERIFIED,
            "Your sign-in says your email address is not verified; verify it with your "
            "identity provider, sign in again and then accept",
            field,
        )
    if (user.email or "") != invitation.email:
        raise DomainError(
            ErrorCode.INVITATION_EMAIL_MISMATCH,
            "This invitation was sent to another email address",
            field,
        )
    if invitation.expires_at <= now():
        await Invitation.filter(id=invitation.id, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.EXPIRED
        )
        raise DomainError(ErrorCode.INVITATION_EXPIRED, "This invitation has expired", field)
    workspace_id = invitation.workspace.id
    if await Membership.exists(workspace_id=workspace_id, user_id=user.id):
        raise DomainError(ErrorCode.ALREADY_MEMBER, "You are already a member", field)
    async with in_transaction():
        # Compare-and-set: of two concurrent accepts exactly one claims the invitation.
        claimed = await Invitation.filter(id=invitation.id, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.ACCEPTED, responded_at=now()
        )
        if claimed != 1:
            raise DomainError(
                ErrorCode.INVITATION_INVALID,
                "This invitation is not valid or was already used",
                field,
            )
        await _require_room(workspace_id, catalog, joining=True, field=field)
        try:
            async with in_transaction():
                joined = await Membership.create(
                    id=uuid.uuid4(), workspace_id=workspace_id, user=user, role=invitation.role
                )
        except IntegrityError:
            raise DomainError(ErrorCode.ALREADY_MEMBER, "You are already a member", field) from None
        await seat_sync.enqueue(workspace_id, seat_sync.MEMBER_JOINED)
    seat_sync.wake()
    joined.workspace = invitation.workspace
    return joined


async def revoke_invitation(user: User, raw_invitation_id: str) -> Invitation:
    field = ("input", "invitationId")
    invitation_id = validation.object_id(raw_invitation_id, "Invitation", field)
    invitation = await Invitation.get_or_none(id=invitation_id)
    if invitation is None:
        raise not_found("Invitation", field)
    manager = await membership(user, uuid.UUID(str(invitation.workspace_id)))
    if manager is None:
        raise not_found("Invitation", field)
    if manager.role not in MANAGERS:
        raise DomainError(ErrorCode.FORBIDDEN, "Only owners and admins manage invitations", field)
    if invitation.status != InvitationStatus.PENDING:
        raise DomainError(
            ErrorCode.INVITATION_INVALID, f"The invitation is already {invitation.status}", field
        )
    updated = await Invitation.filter(id=invitation.id, status=InvitationStatus.PENDING).update(
        status=InvitationStatus.REVOKED, responded_at=now()
    )
    if updated != 1:
        raise DomainError(ErrorCode.INVITATION_INVALID, "The invitation was already used", field)
    await invitation.refresh_from_db()
    return invitation


async def _target_member(
    workspace_id: uuid.UUID, raw_member_id: str, field: tuple[str, ...]
) -> Membership:
    member_id = validation.object_id(raw_member_id, "Member", field)
    target = await Membership.get_or_none(id=member_id, workspace_id=workspace_id)
    if target is None:
        raise not_found("Member", field)
    return target


async def remove_member(user: User, raw_workspace_id: str, raw_member_id: str) -> Membership:
    actor = await require_membership(user, raw_workspace_id, roles=MANAGERS)
    target = await _target_member(actor.workspace.id, raw_member_id, ("input", "memberId"))
    if target.role == Role.OWNER:
        raise DomainError(
            ErrorCode.CANNOT_REMOVE_OWNER,
            "The owner cannot be removed; transfer ownership first",
            ("input", "memberId"),
        )
    await _delete_member(target, seat_sync.MEMBER_REMOVED, ("input", "memberId"))
    return target


async def leave_workspace(user: User, raw_workspace_id: str) -> Membership:
    member = await require_membership(user, raw_workspace_id)
    if member.role == Role.OWNER:
        raise DomainError(
            ErrorCode.OWNER_CANNOT_LEAVE,
            "The owner cannot leave; transfer ownership first",
            ("input", "workspaceId"),
        )
    await _delete_member(member, seat_sync.MEMBER_LEFT, ("input", "workspaceId"))
    return member


async def _delete_member(member: Membership, reason: str, field: tuple[str, ...]) -> None:
    """Delete the membership and record the seat change in one transaction."""
    workspace_id = uuid.UUID(str(member.workspace_id))
    async with in_transaction():
        deleted = await Membership.filter(id=member.id).delete()
        if deleted != 1:  # a concurrent request removed it first
            raise not_found("Member", field)
        await seat_sync.enqueue(workspace_id, reason)
    seat_sync.wake()


async def change_member_role(
    user: User, raw_workspace_id: str, raw_member_id: str, role: Role
) -> Membership:
    actor = await require_membership(user, raw_workspace_id, roles=MANAGERS)
    field = ("input", "memberId")
    target = await _target_member(actor.workspace.id, raw_member_id, field)
    if role == Role.OWNER or target.role == Role.OWNER:
        if actor.role != Role.OWNER:
            raise DomainError(
                ErrorCode.FORBIDDEN, "Only the owner can transfer or give up ownership", field
            )
        if target.id == actor.id:
            if role == Role.OWNER:
                return target
            raise DomainError(
                ErrorCode.VALIDATION,
                "Transfer ownership by making another member OWNER",
                ("input", "role"),
            )
        async with in_transaction():
            # Demote first: the database allows one owner per workspace at any moment.
            await Membership.filter(id=actor.id).update(role=Role.ADMIN)
            await Membership.filter(id=target.id).update(role=Role.OWNER)
    elif target.role != role:
        await Membership.filter(id=target.id, workspace_id=actor.workspace.id).update(role=role)
    await target.refresh_from_db()
    return target
