"""Migrations: both dialect sets match the models, and the invariants live in the database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.exceptions import IntegrityError

from seatbill.models import Invitation, Membership, Role, User, Workspace
from tests.conftest import REPO, Api

CHECK = """
import asyncio, sys
from seatbill.db import pending_model_changes
sys.exit(1 if asyncio.run(pending_model_changes(sys.argv[1])) else 0)
"""


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_migration_set_matches_models(dialect: str) -> None:
    # A process of its own: aerich keeps per-dialect state in class attributes.
    result = subprocess.run(
        [sys.executable, "-c", CHECK, dialect],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"models differ from migrations/{dialect}: run `make migrations NAME=...`\n"
        f"{result.stdout}\n{result.stderr}"
    )


async def test_migrate_again_applies_nothing(api: Api, database_url: str) -> None:
    # `api` has started the server on the migrated database; running migrate is a no-op.
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "seatbill.cli",
        "migrate",
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, stderr.decode()
    assert "up to date" in stdout.decode()


async def _workspace_with_owner() -> tuple[Workspace, User]:
    owner = await User.create(id=uuid.uuid4(), subject=f"db-{uuid.uuid4().hex}")
    workspace = await Workspace.create(id=uuid.uuid4(), name="Invariants")
    await Membership.create(id=uuid.uuid4(), workspace=workspace, user=owner, role=Role.OWNER)
    return workspace, owner


async def test_database_allows_one_owner_per_workspace(api: Api) -> None:
    workspace, _ = await _workspace_with_owner()
    other = await User.create(id=uuid.uuid4(), subject=f"db-{uuid.uuid4().hex}")
    with pytest.raises(IntegrityError):
        await Membership.create(id=uuid.uuid4(), workspace=workspace, user=other, role=Role.OWNER)
    await Membership.create(id=uuid.uuid4(), workspace=workspace, user=other, role=Role.ADMIN)


async def test_database_allows_one_membership_per_user(api: Api) -> None:
    workspace, owner = await _workspace_with_owner()
    with pytest.raises(IntegrityError):
        await Membership.create(id=uuid.uuid4(), workspace=workspace, user=owner, role=Role.MEMBER)


async def test_database_allows_one_pending_invitation_per_email(api: Api) -> None:
    workspace, _ = await _workspace_with_owner()

    async def invite(status: str = "PENDING") -> Invitation:
        return await Invitation.create(
            id=uuid.uuid4(),
            workspace=workspace,
            email="dup@example.com",
            role=Role.MEMBER,
            token_hash=uuid.uuid4().hex,
            status=status,
            expires_at=datetime.now(UTC) + timedelta(days=7),
        )

    await invite()
    with pytest.raises(IntegrityError):
        await invite()
    await invite("REVOKED")  # history is fine
