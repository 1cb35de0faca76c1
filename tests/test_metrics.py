"""GET /metrics over real HTTP: what a GraphQL query, a refused mutation, a signed webhook and
Stripe calls leave in Prometheus's text; and several processes sharing
PROMETHEUS_MULTIPROC_DIR served as one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from seatbill import metrics
from seatbill.config import ConfigError, Settings
from seatbill.models import EventOutcome, SeatOutbox, WebhookEvent
from seatbill.services.stripe_gateway import GatewayError
from tests.conftest import REPO, Api, Stack, free_socket
from tests.test_webhooks_helpers import deliver, event, fixture

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


async def scrape(http: httpx.AsyncClient, url: str) -> Samples:
    response = await http.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_metrics_count_graphql_webhooks_and_stripe_calls(api: Api, stack: Stack) -> None:
    owner = api.person("metrics")
    before = await scrape(api.http, api.url)

    # A named query that succeeds, and an anonymous one.
    body = await api.raw("query Plans { plans { id } }", who=owner)
    assert "errors" not in body
    await api.data("{ plans { id } }", who=owner)
    # A mutation the service refuses with a userError (an empty workspace name).
    refused = await api.raw(
        'mutation NameIt { createWorkspace(input: {name: "  "}) { userErrors { code } } }',
        who=owner,
    )
    assert refused["data"]["createWorkspace"]["userErrors"][0]["code"] == "VALIDATION"
    # A document GraphQL rejects.
    assert (await api.raw("query Broken { nope }", who=owner))["errors"]

    # A signed webhook of a type Seatbill does not handle (ignored), then the same again.
    secret = stack.settings.stripe_webhook_secret
    assert secret is not None
    customer_created = event("customer.created", fixture("customer"))
    first = await deliver(api.http, api.url, secret, customer_created)
    again = await deliver(api.http, api.url, secret, customer_created)
    assert first.status_code == again.status_code == 200
    forged = await deliver(api.http, api.url, "whsec_not_the_secret", customer_created)
    assert forged.status_code == 400

    # Stripe calls through the gateway: one answered, one Stripe does not know.
    await stack.gateway.find_prices(["seatbill_pro_seat_month"])
    with pytest.raises(GatewayError):
        await stack.gateway.retrieve_customer("cus_metrics_missing")

    after = await scrape(api.http, api.url)
    requests = "seatbill_graphql_requests_total"
    assert grew(before, after, requests, operation="Plans", outcome="ok") == 1
    assert grew(before, after, requests, operation="anonymous", outcome="ok") == 1
    assert grew(before, after, requests, operation="NameIt", outcome="user_error") == 1
    assert grew(before, after, requests, operation="Broken", outcome="error") == 1
    latency = "seatbill_graphql_request_duration_seconds_count"
    assert grew(before, after, latency, operation="NameIt", outcome="user_error") == 1

    webhooks = "seatbill_webhook_events_total"
    # Recorded once, a duplicate once, and applied once by the event processor.
    assert grew(before, after, webhooks, type="customer.created", outcome="received") == 1
    assert grew(before, after, webhooks, type="customer.created", outcome="duplicate") == 1
    assert grew(before, after, webhooks, type="customer.created", outcome="ignored") == 1
    assert grew(before, after, webhooks, type="unverified", outcome="invalid_signature") == 1
    assert grew(before, after, "seatbill_webhook_lag_seconds_count") == 1

    stripe_calls = "seatbill_stripe_requests_total"
    assert grew(before, after, stripe_calls, method="find_prices", status="200") == 1
    assert grew(before, after, stripe_calls, method="retrieve_customer", status="404") == 1
    assert (
        grew(before, after, "seatbill_stripe_request_duration_seconds_count", method="find_prices")
        == 1
    )
    # Labels name the gateway's methods, never an object id.
    assert not any(
        "cus_" in label or "price_" in label
        for (name, labels) in after
        if name.startswith("seatbill_stripe")
        for _, label in labels
    )

    for state in ("SYNCED", "PENDING", "FAILED"):
        assert ("seatbill_seat_sync_subscriptions", frozenset({("state", state)})) in after


async def test_metrics_read_the_seat_sync_queue_at_scrape_time(api: Api) -> None:
    """A membership change waiting for its retry is in the queue's depth until it is synced."""
    owner = api.person("queue")
    workspace_id = await api.create_workspace(owner, "Queued")
    row = await SeatOutbox.create(
        workspace_id=workspace_id,
        reason="member_joined",
        next_attempt_at=datetime.now(UTC) + timedelta(hours=1),  # not due: the worker waits
    )
    try:
        samples = await scrape(api.http, api.url)
        assert value(samples, "seatbill_seat_sync_queue_depth") >= 1
        assert value(samples, "seatbill_seat_sync_queue_oldest_seconds") >= 0
    finally:
        await row.delete()


async def test_metrics_read_the_webhook_inbox_at_scrape_time(api: Api) -> None:
    """An event waiting for its retry is pending, one that gave up is dead."""
    stamp = datetime.now(UTC)
    rows = [
        await WebhookEvent.create(
            id=f"evt_metrics_{uuid.uuid4().hex}",
            type="invoice.updated",
            stripe_created=stamp,
            outcome=outcome,
            payload="{}",
            next_attempt_at=retry_at,
        )
        for outcome, retry_at in (
            (EventOutcome.FAILED, stamp + timedelta(hours=1)),  # not due: nobody claims it
            (EventOutcome.DEAD, None),
        )
    ]
    try:
        samples = await scrape(api.http, api.url)
        assert value(samples, "seatbill_webhook_inbox_pending") >= 1
        assert value(samples, "seatbill_webhook_inbox_dead") >= 1
    finally:
        for row in rows:
            await row.delete()


def test_operation_names_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_names", set())
    monkeypatch.setattr(metrics, "MAX_OPERATION_NAMES", 2)
    assert [metrics.operation_label(n) for n in ("A", "B", "C", "A")] == ["A", "B", "other", "A"]
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("not a name") == "unknown"
    assert metrics.operation_label("x" * 101) == "unknown"


# Several processes -----------------------------------------------------------------------


def _free_port() -> int:
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def _start_api(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """An API process as `uvicorn --workers` starts each of its workers."""
    command = [sys.executable, "-m", "uvicorn", "--factory", "seatbill.app:create_app"]
    with open(log, "wb") as out:
        return subprocess.Popen(
            [*command, "--port", str(port), "--log-level", "warning"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
        )


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        process.wait(timeout=20)


async def test_processes_sharing_a_multiprocess_dir_are_served_as_one(tmp_path: Path) -> None:
    """Two API processes with PROMETHEUS_MULTIPROC_DIR: each counts its own operations, and
    /metrics on either shows both."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=f"sqlite://{tmp_path / 'multi.sqlite3'}", PROMETHEUS_MULTIPROC_DIR=str(folder)
    )
    # In a process of its own: migrate() here would close this test session's ORM.
    migrated = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "seatbill.cli", "migrate"], env=env, cwd=REPO
    )
    assert migrated.returncode == 0
    ports = [_free_port(), _free_port()]
    logs = [tmp_path / f"api-{n}.log" for n in range(2)]
    processes = [_start_api(port, env, log) for port, log in zip(ports, logs, strict=True)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for url, process, log in zip(urls, processes, logs, strict=True):
                deadline = time.monotonic() + 30
                while True:
                    assert process.poll() is None, log.read_text()
                    try:
                        if (await http.get(f"{url}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, log.read_text()
                    await asyncio.sleep(0.1)
            for url in urls:  # one operation in each process
                answer = await http.post(
                    f"{url}/graphql", json={"query": "query Catalog { plans { id } }"}
                )
                assert answer.status_code == 200 and "errors" not in answer.json()
            for url in urls:
                samples = await scrape(http, url)
                operation = {"operation": "Catalog", "outcome": "ok"}
                assert value(samples, "seatbill_graphql_requests_total", **operation) == 2
                count = "seatbill_graphql_request_duration_seconds_count"
                assert value(samples, count, **operation) == 2
                assert ("seatbill_seat_sync_queue_depth", frozenset()) in samples
    finally:
        await asyncio.to_thread(_stop_all, processes)
    files = await asyncio.to_thread(lambda: sorted(p.name for p in folder.iterdir()))
    assert len(files) >= 2, files  # each process keeps its values in files of its own


def test_multiprocess_dir_setting(tmp_path: Path) -> None:
    assert Settings.from_env({}).metrics_multiproc_dir is None
    folder = str(tmp_path)
    assert Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": folder}).metrics_multiproc_dir == tmp_path
    with pytest.raises(ConfigError, match=r"^PROMETHEUS_MULTIPROC_DIR: no writable directory"):
        Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing")})
