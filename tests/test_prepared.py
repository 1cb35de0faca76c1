"""PreparedValues and PreparedModels give what Tortoise gives, on SQLite and PostgreSQL, for any
shape of arguments."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from seatbill.models import Membership, Role, SeatSyncState, Subscription, User
from seatbill.prepared import MAX_PIPELINED, PreparedModels, PreparedValues, _records
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


async def test_models_as_the_orm_makes_them(api: Api) -> None:
    owner = api.person("prepared-models")
    await api.create_workspace(owner, "Models")
    prepared = PreparedModels(User, lambda subject: User.filter(subject=subject))
    (user,) = await prepared(owner.sub)
    same = await User.get(subject=owner.sub)
    assert {f: getattr(user, f) for f in User._meta.db_fields} == {
        f: getattr(same, f) for f in User._meta.db_fields
    }
    # A loaded row, not a new one: saving it updates it.
    user.name = "Renamed"
    await user.save(update_fields=["name"])
    assert (await User.get(subject=owner.sub)).name == "Renamed"
    assert await prepared("nobody") == []


def test_models_refuse_joined_queries() -> None:
    prepared = PreparedModels(
        Membership, lambda ids: Membership.filter(id__in=ids).select_related("user")
    )
    with pytest.raises(TypeError):
        prepared._compile([[uuid.uuid4()]])


async def test_reads_inside_a_transaction_use_its_connection(api: Api) -> None:
    prepared = PreparedModels(User, lambda subject: User.filter(subject=subject))
    subject = f"prepared-tx-{uuid.uuid4().hex}"
    async with in_transaction():
        await User.create(id=uuid.uuid4(), subject=subject, email="tx@example.com")
        assert len(await prepared(subject)) == 1  # not yet committed: same connection
    assert len(await prepared(subject)) == 1


async def test_models_with_every_kind_of_column(api: Api) -> None:
    """Datetimes (set and null), an enum, UUIDs, integers, booleans: each as Tortoise makes it,
    and the same instants in UTC."""
    owner = api.person("prepared-kinds")
    ws = uuid.UUID(await api.create_workspace(owner, "Kinds"))
    now = datetime.now(UTC).replace(microsecond=123456)
    row = await Subscription.create(
        id=uuid.uuid4(),
        stripe_id=f"sub_kinds{uuid.uuid4().hex[:12]}",
        workspace_id=ws,
        stripe_customer_id="cus_kinds",
        status="active",
        plan_key="team",
        seat_quantity=3,
        cancel_at_period_end=True,
        cancel_at=now + timedelta(days=3),
        current_period_start=now,
        current_period_end=now + timedelta(days=30),
        stripe_created=now,
        seat_sync_state=SeatSyncState.FAILED,
        seat_sync_error="refused",
    )
    prepared = PreparedModels(Subscription, lambda ids: Subscription.filter(workspace_id__in=ids))
    for _ in range(2):
        (got,) = await prepared([ws])
        same = await Subscription.get(id=row.id)
        fields = Subscription._meta.db_fields
        assert {f: getattr(got, f) for f in fields} == {f: getattr(same, f) for f in fields}
        assert got.seat_sync_state is SeatSyncState.FAILED and got.ended_at is None
        assert got.cancel_at is not None and got.cancel_at.utcoffset() == timedelta(0)
        assert got.cancel_at.isoformat() == same.cancel_at.isoformat()  # type: ignore[union-attr]
    got.seat_quantity = 4
    await got.save(update_fields=["seat_quantity"])
    assert (await Subscription.get(id=row.id)).seat_quantity == 4


# The read pipeline (PostgreSQL): reads issued together share one pooled connection.

on_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the read pipeline is PostgreSQL's (SQLite reads go through Tortoise's client)",
)


@on_postgres
async def test_reads_issued_together_share_one_connection(api: Api) -> None:
    db = connections.get("default")
    pid = "SELECT pg_backend_pid() AS pid, $1::int AS n"
    rows = await asyncio.gather(*(_records(db, pid, [n]) for n in range(3)))
    assert [row[0]["n"] for row in rows] == [0, 1, 2]
    assert len({row[0]["pid"] for row in rows}) == 1
    # more than a pipeline takes: every read answered, on more than one acquisition
    many = await asyncio.gather(*(_records(db, pid, [n]) for n in range(MAX_PIPELINED + 3)))
    assert [row[0]["n"] for row in many] == list(range(MAX_PIPELINED + 3))


@on_postgres
async def test_a_failing_or_cancelled_read_leaves_the_others_alone(api: Api) -> None:
    db = connections.get("default")
    one = "SELECT $1::int AS n"
    results = await asyncio.gather(
        _records(db, one, [1]),
        _records(db, "SELECT * FROM no_such_table", []),
        _records(db, "SELECT 1 / $1::int AS n", [0]),
        _records(db, one, ["not a number"]),  # refused by the driver, before PostgreSQL
        _records(db, one, [4]),
        return_exceptions=True,
    )
    assert results[0][0]["n"] == 1  # type: ignore[index]
    assert isinstance(results[1], OperationalError)
    assert isinstance(results[2], OperationalError)  # division by zero: a DataError
    assert isinstance(results[3], Exception)
    assert results[4][0]["n"] == 4  # type: ignore[index]
    cancelled = asyncio.ensure_future(_records(db, one, [5]))
    kept = asyncio.ensure_future(_records(db, one, [6]))
    await asyncio.sleep(0)
    cancelled.cancel()
    assert (await kept)[0]["n"] == 6
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert (await _records(db, one, [7]))[0]["n"] == 7
