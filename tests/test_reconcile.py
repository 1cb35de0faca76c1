"""`seatbill reconcile`: lost webhooks and Dashboard changes are found and repaired.

The command runs for real, as a subprocess on the test database (a SQLite file or the run's
PostgreSQL database) against the stack's emulator; webhooks are lost by disabling the stack's
endpoint in the emulator while Stripe is changed directly with the SDK."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from seatbill.catalog import default_catalog_path, load_catalog
from seatbill.cli import _ProgressBar
from seatbill.config import ConfigError, Settings
from seatbill.models import SeatOutbox, Subscription, Workspace
from seatbill.services import reconcile
from tests.billing_support import (
    billing,
    client,
    clocked_workspace,
    complete_checkout,
    settle,
    start_checkout,
    subscribe,
    workspace_billing,
)
from tests.conftest import REPO, Api, Stack, free_socket
from tests.test_scale_out import process_env
from tests.test_seat_sync import eventually

__all__ = ["billing"]


def run_cli(
    stack: Stack, *args: str, **env: str
) -> asyncio.Future[subprocess.CompletedProcess[str]]:
    environment = process_env(
        stack.settings.database_url,
        str(stack.settings.stripe_api_base),
        str(stack.settings.stripe_webhook_secret),
        **env,
    )
    return asyncio.ensure_future(
        asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "seatbill.cli", "reconcile", *args],
            cwd=REPO,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
    )


async def reconcile_cli(
    stack: Stack, workspace_id: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return await run_cli(stack, "--workspace", workspace_id, *args)


@asynccontextmanager
async def webhooks_lost(stack: Stack) -> AsyncIterator[None]:
    """The stack's webhook endpoint disabled in the emulator: events meanwhile are never
    delivered (Stripe does not replay them when it is enabled again)."""
    await settle(stack)
    url = f"{stack.url}/webhooks/stripe"
    endpoint = next(e for e in await stack.gateway.list_webhook_endpoints() if e.url == url)
    endpoints = client(stack).v1.webhook_endpoints
    await endpoints.update_async(endpoint.id, params={"disabled": True})
    try:
        yield
        await settle(stack)
    finally:
        await endpoints.update_async(endpoint.id, params={"disabled": False})


async def seat_item(stack: Stack, subscription_id: str) -> tuple[str, int]:
    sub = await stack.gateway.retrieve_subscription(subscription_id)
    item = next(
        i
        for i in sub["items"].data
        if (i.price.metadata.to_dict() if i.price.metadata else {}).get("role") == "seat"
    )
    return item.id, int(item.quantity or 0)


async def test_lost_webhooks_are_reported_then_fixed(api: Api, billing: Stack) -> None:
    sub = await subscribe(api, billing, "team", seats=3)
    item_id, _ = await seat_item(billing, sub.subscription_id)
    async with webhooks_lost(billing):
        # As in the Dashboard: more seats and a cancellation at the period end.
        await client(billing).v1.subscriptions.update_async(
            sub.subscription_id,
            params={
                "cancel_at_period_end": True,
                "items": [{"id": item_id, "quantity": 5}],
                "proration_behavior": "none",
            },
        )
    before = await workspace_billing(api, sub.owner, sub.workspace_id)
    assert before["subscription"]["seats"] == 3
    assert before["subscription"]["cancelAtPeriodEnd"] is False

    found = await reconcile_cli(billing, sub.workspace_id)
    assert found.returncode == 1, found.stderr
    lines = found.stdout.splitlines()
    assert any(
        sub.workspace_id in line and "cancel_at_period_end: mirror False, Stripe True" in line
        for line in lines
    ), found.stdout
    assert any("seat_quantity: mirror 3, Stripe 5" in line for line in lines), found.stdout
    assert any(f"item {item_id} quantity: mirror 3, Stripe 5" in line for line in lines)
    # Stripe sets the cancellation's date, and when it was asked for, with it.
    assert any(
        "cancel_at: mirror none, Stripe '2026-05-01T00:00:00+00:00'" in line for line in lines
    )
    assert any("canceled_at: mirror none" in line for line in lines)
    assert lines[-1] == "1 workspace(s) checked: 5 drift(s)", found.stdout

    as_json = await reconcile_cli(billing, sub.workspace_id, "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["workspaces"] == 1 and report["unfixed"] == 5
    assert {d["field"] for d in report["drifts"]} == {
        "cancel_at_period_end",
        "cancel_at",
        "canceled_at",
        "seat_quantity",
        f"item {item_id} quantity",
    }
    cancel = next(d for d in report["drifts"] if d["field"] == "cancel_at_period_end")
    assert cancel == {
        "workspace_id": sub.workspace_id,
        "object": "subscription",
        "stripe_id": sub.subscription_id,
        "field": "cancel_at_period_end",
        "mirror": False,
        "stripe": True,
        "fixed": False,
        "note": None,
    }

    fixed = await reconcile_cli(billing, sub.workspace_id, "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert fixed.stdout.count("[fixed]") == 5
    assert fixed.stdout.splitlines()[-1] == "1 workspace(s) checked: 5 drift(s), 5 fixed"

    clean = await reconcile_cli(billing, sub.workspace_id)
    assert clean.returncode == 0, clean.stdout
    assert clean.stdout.splitlines() == ["1 workspace(s) checked: 0 drift(s)"]
    after = await workspace_billing(api, sub.owner, sub.workspace_id)
    assert after["subscription"]["seats"] == 5
    assert after["subscription"]["cancelAtPeriodEnd"] is True


async def test_a_checkout_whose_webhooks_were_all_lost(api: Api, billing: Stack) -> None:
    owner = api.person("owner")
    workspace_id, _, _ = await clocked_workspace(api, billing, owner)
    started = await start_checkout(api, owner, workspace_id, "starter")
    async with webhooks_lost(billing):
        session = await complete_checkout(billing, started["sessionId"])
    subscription_id = str(session.subscription)
    assert (await workspace_billing(api, owner, workspace_id))["subscription"] is None

    found = await reconcile_cli(billing, workspace_id, "--json")
    assert found.returncode == 1
    drifts = json.loads(found.stdout)["drifts"]
    assert {
        (d["object"], d["stripe_id"], d["field"], d["mirror"], d["stripe"]) for d in drifts
    } == {
        ("subscription", subscription_id, "exists", False, True),
        ("invoice", str(session.invoice), "exists", False, True),
    }
    fixed = await reconcile_cli(billing, workspace_id, "--fix")
    assert fixed.returncode == 0, fixed.stdout
    assert (await reconcile_cli(billing, workspace_id)).returncode == 0
    shown = await workspace_billing(api, owner, workspace_id)
    assert shown["subscription"]["id"] == subscription_id
    # starter's first subscription starts with its 14-day trial
    assert shown["subscription"]["status"] == "TRIALING"
    assert shown["billingState"] == "ACTIVE"


async def test_auto_plan_quantity_drift_is_handed_to_seat_sync(api: Api, billing: Stack) -> None:
    sub = await subscribe(api, billing, "pro", members=1)

    async def seat_sync_idle() -> bool:
        return not await SeatOutbox.filter(
            workspace_id=sub.workspace_id, processed_at__isnull=True
        ).exists()

    await eventually(seat_sync_idle, within=15)
    item_id, quantity = await seat_item(billing, sub.subscription_id)
    assert quantity == 2
    # Someone sets the quantity in the Dashboard (the webhook reaches the mirror): Stripe no
    # longer bills the two members.
    await client(billing).v1.subscriptions.update_async(
        sub.subscription_id, params={"items": [{"id": item_id, "quantity": 7}]}
    )
    await settle(billing)
    found = await reconcile_cli(billing, sub.workspace_id)
    assert found.returncode == 1
    assert (
        f"workspace {sub.workspace_id}: seats of {sub.subscription_id}: Stripe bills 7, "
        "members need 2" in found.stdout
    ), found.stdout

    # A membership change seat sync has not sent yet is under way, not left to fix.
    later = datetime.now(UTC) + timedelta(hours=1)
    queued = await SeatOutbox.create(
        workspace_id=sub.workspace_id, reason="member_joined", next_attempt_at=later
    )
    report = await reconcile.reconcile(
        billing.gateway,
        load_catalog(default_catalog_path()),
        workspace_ids=[uuid.UUID(sub.workspace_id)],
    )
    [drift] = report.drifts
    assert drift.fixed and drift.note == "a membership change seat sync has not sent yet"
    await queued.delete()

    fixed = await reconcile_cli(billing, sub.workspace_id, "--fix")
    assert fixed.returncode == 0
    assert "[queued for seat sync]" in fixed.stdout
    # The API's seat-sync worker finds the outbox row and sends the members' quantity.
    await eventually(lambda: _quantity_is(billing, sub.subscription_id, 2), within=15)
    await settle(billing)
    clean = await reconcile_cli(billing, sub.workspace_id)
    assert clean.returncode == 0, clean.stdout


async def _quantity_is(stack: Stack, subscription_id: str, want: int) -> tuple[str, int] | None:
    item_id, quantity = await seat_item(stack, subscription_id)
    return (item_id, quantity) if quantity == want else None


async def test_errors_exit_2(api: Api, billing: Stack) -> None:
    sub = await subscribe(api, billing, "team", seats=1)
    no_stripe = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "seatbill.cli", "reconcile"],
        cwd=REPO,
        env={
            **process_env(billing.settings.database_url, "http://x", "whsec_x"),
            "STRIPE_SECRET_KEY": "",
            "STRIPE_WEBHOOK_SECRET": "",
            "STRIPE_API_BASE": "",
        },
        capture_output=True,
        text=True,
    )
    assert no_stripe.returncode == 2
    assert "STRIPE_SECRET_KEY" in no_stripe.stderr

    closed = free_socket()  # bound, never listening: connections are refused
    port = closed.getsockname()[1]
    try:
        unreachable = await run_cli(
            billing,
            "--workspace",
            sub.workspace_id,
            STRIPE_API_BASE=f"http://127.0.0.1:{port}",
            STRIPE_MAX_NETWORK_RETRIES="0",
        )
    finally:
        closed.close()
    assert unreachable.returncode == 2
    assert "unavailable" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr

    bad = await run_cli(billing, "--workspace", "not-a-uuid")
    assert bad.returncode == 2


async def test_the_walk_pages_through_every_workspace(api: Api, billing: Stack) -> None:
    await subscribe(api, billing, "team", seats=1)
    await subscribe(api, billing, "team", seats=2)
    seen: list[tuple[int, int]] = []
    report = await reconcile.reconcile(
        billing.gateway,
        load_catalog(default_catalog_path()),
        page_size=1,
        progress=lambda done, total: seen.append((done, total)),
    )
    total = await Workspace.filter(stripe_customer_id__isnull=False).count()
    assert report.workspaces == total >= 2
    assert seen == [(n, total) for n in range(1, total + 1)]


async def test_the_worker_reconciles_periodically(api: Api, billing: Stack) -> None:
    sub = await subscribe(api, billing, "team", seats=2)
    async with webhooks_lost(billing):
        await client(billing).v1.subscriptions.update_async(
            sub.subscription_id, params={"cancel_at_period_end": True}
        )
    stop = asyncio.Event()
    task = asyncio.create_task(
        reconcile.run_periodically(billing.gateway, load_catalog(default_catalog_path()), 0.2, stop)
    )
    try:

        async def repaired() -> bool:
            row = await Subscription.get(stripe_id=sub.subscription_id)
            return row.cancel_at_period_end

        await eventually(repaired, within=30)
    finally:
        stop.set()
        await task


def test_the_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    bar = _ProgressBar("reconcile", width=10)
    bar(1, 4)
    bar(4, 4)
    bar.close()
    err = capsys.readouterr().err
    assert "\rreconcile [##--------] 1/4 workspaces" in err
    assert err.endswith("\rreconcile [##########] 4/4 workspaces\n")


def test_reconcile_every_setting() -> None:
    assert Settings.from_env({}).reconcile_every_seconds == 0  # off by default
    assert Settings.from_env({"RECONCILE_EVERY": "15m"}).reconcile_every_seconds == 900
    with pytest.raises(ConfigError, match=r"RECONCILE_EVERY: must be 0 .off. or at least 60"):
        Settings.from_env({"RECONCILE_EVERY": "30"})
