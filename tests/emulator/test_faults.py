"""Fault injection over HTTP: injected errors, latency, the test-mode rate limit, reset."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import stripe

from stripe_emulator import EmulatorServer


@pytest.fixture
async def helper(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        try:
            yield http
        finally:
            await http.delete("/_emulator/faults")


async def test_injected_500_and_429(client: stripe.StripeClient, helper: httpx.AsyncClient) -> None:
    await helper.post(
        "/_emulator/faults", json={"status": 500, "path_prefix": "/v1/customers", "count": 1}
    )
    with pytest.raises(stripe.APIError) as err:
        await client.v1.customers.list_async()
    assert err.value.http_status == 500
    await client.v1.customers.list_async()  # count exhausted
    await client.v1.products.list_async()
    await helper.post(
        "/_emulator/faults", json={"status": 429, "rate": 1.0, "path_prefix": "/v1/products"}
    )
    with pytest.raises(stripe.RateLimitError) as limited:
        await client.v1.products.list_async()
    assert limited.value.json_body["error"]["code"] == "rate_limit"
    await client.v1.customers.list_async()  # other paths unaffected
    await helper.delete("/_emulator/faults")
    await client.v1.products.list_async()


async def test_latency(client: stripe.StripeClient, helper: httpx.AsyncClient) -> None:
    await helper.post("/_emulator/faults", data={"delay_ms": "200", "path_prefix": "/v1/prices"})
    started = time.monotonic()
    await client.v1.prices.list_async()
    assert time.monotonic() - started >= 0.2


async def test_rate_limit_cap(client: stripe.StripeClient, helper: httpx.AsyncClient) -> None:
    await helper.post("/_emulator/faults", json={"rate_limit": 5})
    outcomes = []
    for _ in range(8):
        try:
            await client.v1.customers.list_async(params={"limit": 1})
            outcomes.append(200)
        except stripe.RateLimitError:
            outcomes.append(429)
    assert outcomes.count(429) >= 1 and outcomes[:5] == [200] * 5


def test_cli_starts_and_logs_its_url() -> None:
    code = "import sys; from stripe_emulator.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0"], stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        line = ""
        deadline = time.monotonic() + 5
        while "listening on" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        assert "EMULATOR" in line
        url = line.rsplit(" ", 1)[-1].strip()
        assert httpx.get(f"{url}/_emulator").json()["emulator"] == "stripe"
    finally:
        proc.terminate()
        assert proc.wait(5) == 0
