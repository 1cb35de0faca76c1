"""Invoices through the API: members see their status, only owners and admins see the money and
Stripe's hosted page; a bad page cursor is the client's mistake, never an internal error."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seatbill.models import Invoice
from tests.billing_support import billing, subscribe
from tests.conftest import Api, Person, Stack, count_queries

__all__ = ["billing"]

MONEY = ("amountDue", "amountPaid", "hostedInvoiceUrl")
INVOICE = "id status currency amountDue amountPaid hostedInvoiceUrl"
WORKSPACE_INVOICES = f"""query($id: ID!) {{ workspace(id: $id) {{
  invoices {{ nodes {{ {INVOICE} }} }}
  subscription {{ latestInvoice {{ {INVOICE} }} }} }} }}"""


async def invoices_seen(api: Api, who: Person, workspace_id: str) -> dict[str, Any]:
    body = await api.raw(WORKSPACE_INVOICES, {"id": workspace_id}, who)
    assert "errors" not in body, body  # a member's query does not fail as a whole
    workspace: dict[str, Any] = body["data"]["workspace"]
    return workspace


async def test_members_see_invoice_status_but_not_amounts_or_the_hosted_page(
    api: Api, billing: Stack
) -> None:
    subscribed = await subscribe(api, billing, "team", seats=3)
    owner, workspace_id = subscribed.owner, subscribed.workspace_id
    admin, member = api.person("admin"), api.person("member")
    await api.join(owner, workspace_id, admin, "ADMIN")
    await api.join(owner, workspace_id, member, "MEMBER")

    for manager in (owner, admin):
        seen = await invoices_seen(api, manager, workspace_id)
        (invoice,) = seen["invoices"]["nodes"]
        assert invoice["status"] == "paid"
        assert invoice["amountDue"] == invoice["amountPaid"] > 0
        assert invoice["hostedInvoiceUrl"]
        assert seen["subscription"]["latestInvoice"] == invoice

    seen = await invoices_seen(api, member, workspace_id)
    (invoice,) = seen["invoices"]["nodes"]
    assert invoice["status"] == "paid" and invoice["id"].startswith("in_")
    assert [invoice[field] for field in MONEY] == [None, None, None]
    assert seen["subscription"]["latestInvoice"] == invoice


async def add_invoices(workspace_id: str, count: int, start: datetime) -> list[Invoice]:
    rows = [
        Invoice(
            id=uuid.uuid4(),
            stripe_id=f"in_{uuid.uuid4().hex[:20]}",
            workspace_id=workspace_id,
            stripe_customer_id="cus_test",
            status="paid",
            currency="usd",
            amount_due=1000 + i,
            amount_paid=1000 + i,
            hosted_invoice_url=f"https://invoice.stripe.test/{i}",
            stripe_created=start + timedelta(days=i),
        )
        for i in range(count)
    ]
    await Invoice.bulk_create(rows)
    return rows


async def test_the_role_check_costs_no_query_per_invoice(api: Api) -> None:
    owner, member = api.person("owner"), api.person("member")
    one = await api.create_workspace(owner, "One")
    many = await api.create_workspace(owner, "Many")
    for workspace_id in (one, many):
        await api.join(owner, workspace_id, member)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    await add_invoices(one, 1, start)
    await add_invoices(many, 40, start)
    query = f"query($id: ID!) {{ workspace(id: $id) {{ invoices(first: 100) {{ nodes {{ {INVOICE} }} }} }} }}"
    for who in (owner, member):
        await api.data(query, {"id": one}, who)  # warm the user row
        with count_queries() as few:
            await api.data(query, {"id": one}, who)
        with count_queries() as lots:
            data = await api.data(query, {"id": many}, who)
        assert len(data["workspace"]["invoices"]["nodes"]) == 40
        assert len(few.queries) == len(lots.queries), (few.queries, lots.queries)


def cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_CURSORS = [
    cursor(b"1e300|x"),
    cursor(b"1e300|in_x"),
    cursor(b"-1.000000|in_x"),
    cursor(b"nan|in_x"),
    cursor(b"inf|in_x"),
    cursor(b"999999999999.000000|in_x"),  # past the year 9999
    cursor(b"1767225600.000000"),
    cursor(b"\xff\xfe|in_x"),
    "not base64 at all!",
    "",
    "A" * 10_000,
]


@pytest.mark.parametrize("after", BAD_CURSORS)
async def test_a_bad_cursor_is_bad_user_input_naming_after(api: Api, after: str) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    await add_invoices(workspace_id, 2, datetime(2026, 1, 1, tzinfo=UTC))
    body = await api.raw(
        "query($id: ID!, $after: String) { workspace(id: $id) { invoices(first: 1, after: $after) "
        "{ nodes { id } } } }",
        {"id": workspace_id, "after": after},
        owner,
    )
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": ["after"]}, error
    assert error["message"] != "Internal server error" and "after" in error["message"]


async def test_cursors_from_pageinfo_page_through_every_invoice(api: Api) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    rows = await add_invoices(workspace_id, 3, datetime(2026, 1, 1, 12, 30, tzinfo=UTC))
    query = """query($id: ID!, $after: String) { workspace(id: $id) {
      invoices(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } }"""
    seen: list[str] = []
    after = None
    while True:
        data = await api.data(query, {"id": workspace_id, "after": after}, owner)
        page = data["workspace"]["invoices"]
        seen += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [row.stripe_id for row in reversed(rows)]
    body = await api.raw(
        "query($id: ID!) { workspace(id: $id) { invoices(first: 0) { nodes { id } } } }",
        {"id": workspace_id},
        owner,
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": ["first"]}
