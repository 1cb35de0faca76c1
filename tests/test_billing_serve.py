"""`seatbill serve` without a Stripe key: the emulator starts beside the API, the catalog is
synced into it, the API's webhook URL is registered, and a checkout paid there shows up."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from seatbill.auth import issue_development_token
from seatbill.config import Settings
from tests.conftest import free_socket


def free_port() -> int:
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def start_serve(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "seatbill.cli", "serve"], env=env, stdout=log, stderr=log
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)


async def test_serve_without_a_stripe_key_bills_against_the_emulator(tmp_path: Path) -> None:
    port, emulator_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STRIPE_", "JWT_", "DATABASE_URL", "PUBLIC_URL", "PORT", "HOST"))
    }
    env.update(
        PORT=str(port),
        STRIPE_EMULATOR_PORT=str(emulator_port),
        DATABASE_URL=f"sqlite://{tmp_path / 'serve.sqlite3'}",
    )
    log_path = tmp_path / "serve.log"
    process = start_serve(env, log_path)
    api = f"http://127.0.0.1:{port}"
    emulator = f"http://127.0.0.1:{emulator_port}"
    stripe_auth = {"Authorization": "Bearer sk_test_anything"}
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    if (await http.get(f"{api}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                await asyncio.sleep(0.1)

            endpoints = await http.get(f"{emulator}/v1/webhook_endpoints", headers=stripe_auth)
            assert [e["url"] for e in endpoints.json()["data"]] == [f"{api}/webhooks/stripe"]
            prices = await http.get(f"{emulator}/v1/prices?limit=100", headers=stripe_auth)
            assert len({p["lookup_key"] for p in prices.json()["data"]}) == 8

            token = issue_development_token(Settings(), "serve-owner", "serve@example.com", "S")
            headers = {"Authorization": f"Bearer {token}"}

            async def graphql(query: str, variables: dict[str, object]) -> dict[str, object]:
                response = await http.post(
                    f"{api}/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                body: dict[str, object] = response.json()
                assert "errors" not in body, body
                return body

            created = await graphql(
                'mutation { createWorkspace(input: {name: "Served"}) { workspace { id } } }', {}
            )
            workspace_id = created["data"]["createWorkspace"]["workspace"]["id"]  # type: ignore[index]
            started = await graphql(
                """mutation($ws: ID!) { startCheckout(input: {workspaceId: $ws, planId: "pro",
                   interval: MONTH, successUrl: "http://127.0.0.1/ok",
                   cancelUrl: "http://127.0.0.1/no"}) { checkoutUrl sessionId userErrors { code } } }""",
                {"ws": workspace_id},
            )
            checkout = started["data"]["startCheckout"]  # type: ignore[index]
            assert checkout["userErrors"] == [] and checkout["checkoutUrl"].startswith(emulator)
            paid = await http.post(
                f"{emulator}/v1/test_helpers/checkout/sessions/{checkout['sessionId']}/complete",
                headers=stripe_auth,
                data={"payment_method": "pm_card_visa"},
            )
            assert paid.status_code == 200

            # Signed webhooks reach the API (the registered endpoint's secret verifies them).
            query = "query($ws: ID!) { workspace(id: $ws) { subscription { status seats } } }"
            deadline = time.monotonic() + 10
            while True:
                body = await graphql(query, {"ws": workspace_id})
                subscription = body["data"]["workspace"]["subscription"]  # type: ignore[index]
                if subscription and subscription["status"] == "ACTIVE":
                    break
                assert time.monotonic() < deadline, log_path.read_text()
                await asyncio.sleep(0.1)
            assert subscription["seats"] == 1
    finally:
        await asyncio.to_thread(stop, process)
    log_text = log_path.read_text()
    assert "BILLING IS EMULATED" in log_text
    assert "catalog sync: price seatbill_pro_seat_month: created" in log_text
    assert "sk_test" not in log_text
