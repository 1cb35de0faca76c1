"""PreparedValues gives what `.values()` gives, on SQLite and PostgreSQL, for any shape."""

from __future__ import annotations

import uuid

from seatbill.models import Membership, Role
from seatbill.prepared import PreparedValues
from seatbill.schema.loaders import MEMBER_FIELDS
from tests.conftest import Api, count_queries
from tests.test_limits import add_members


def members_query(ids: list[uuid.UUID]) -> object:
    return (
        Membership.filter(workspace_id__in=ids).order_by("joined_at", "id").values(*MEMBER_FIELDS)
    )


async def test_the_same_rows_as_values(api: Api) -> None:
    owner = api.person("prepared-owner")
    one = uuid.UUID(await api.create_workspace(owner, "One"))
    two = uuid.UUID(await api.create_workspace(owner, "Two"))
    await add_members(str(two), 7)
    prepared = PreparedValues(Membership, members_query)
    for ids in ([one], [two], [one, two], [two, one], [uuid.uuid4()], [one, uuid.uuid4(), two]):
        with count_queries() as counted:
            got = await prepared(ids)
        assert len(counted.queries) == 1
        assert got == await members_query(ids), ids  # type: ignore[misc]
    row = (await prepared([two]))[0]
    assert isinstance(row["id"], uuid.UUID) and row["joined_at"].tzinfo is not None
    assert row["role"] is Role.OWNER and row["user__email"]


async def test_strings_and_constants(api: Api) -> None:
    owner = api.person("prepared-strings")
    ws = uuid.UUID(await api.create_workspace(owner, "Strings"))
    prepared = PreparedValues(
        Membership,
        lambda ws_id, email: (
            Membership.filter(workspace_id=ws_id, user__email=email).limit(5).values("id", "role")
        ),
    )
    for _ in range(2):
        rows = await prepared(ws, owner.email)
        assert [r["role"] for r in rows] == [Role.OWNER]
    assert await prepared(ws, "nobody@example.com") == []
