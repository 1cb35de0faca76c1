"""Logs as an operator reads them: `seatbill serve` with LOG_FORMAT=json writes one JSON object
a line for seatbill, uvicorn and the emulator alike, with the request id of the request being
served, webhook lines naming the event type and outcome, and no misleading or repeated lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from seatbill.auth import issue_development_token
from seatbill.config import ConfigError, Settings
from seatbill.logs import (
    EMULATOR_THREAD,
    UVICORN_LOGGERS,
    JsonFormatter,
    RecordFilter,
    TextFormatter,
    resolve_format,
)
from stripe_emulator import EmulatorServer
from stripe_emulator.server import THREAD_NAME
from tests.test_billing_serve import free_port, start_serve, stop

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def _wait_healthy(
    http: httpx.AsyncClient, api: str, log: Callable[[], str], process: Any
) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log()
        try:
            if (await http.get(f"{api}/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log()
        await asyncio.sleep(0.1)


async def test_serve_logs_json_lines_with_request_ids_and_webhook_outcomes(
    tmp_path: Path,
) -> None:
    port, emulator_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("STRIPE_", "JWT_", "DATABASE_URL", "PUBLIC_URL", "PORT", "HOST", "LOG_FORMAT")
        )
    }
    env.update(
        PORT=str(port),
        STRIPE_EMULATOR_PORT=str(emulator_port),
        DATABASE_URL=f"sqlite://{tmp_path / 'logs.sqlite3'}",
        LOG_FORMAT="json",
    )
    log_path = tmp_path / "serve.log"
    process = start_serve(env, log_path)
    api = f"http://127.0.0.1:{port}"
    emulator = f"http://127.0.0.1:{emulator_port}"
    token = issue_development_token(Settings(), "logs-owner", "logs@example.com", "L")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            await _wait_healthy(http, api, log_path.read_text, process)

            async def graphql(
                query: str, variables: dict[str, Any], request_id: str | None = None
            ) -> dict[str, Any]:
                headers = {"Authorization": f"Bearer {token}"}
                if request_id is not None:
                    headers["X-Request-Id"] = request_id
                response = await http.post(
                    f"{api}/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                if request_id is not None and re.fullmatch(r"[\w.:-]+", request_id):
                    assert response.headers["X-Request-Id"] == request_id
                else:
                    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
                body: dict[str, Any] = response.json()
                assert "errors" not in body, body
                return body["data"]  # type: ignore[no-any-return]

            created = await graphql(
                'mutation { createWorkspace(input: {name: "Logged"}) { workspace { id } } }',
                {},
                request_id="trace-0001",
            )
            workspace_id = created["createWorkspace"]["workspace"]["id"]
            await graphql("{ plans { id } }", {}, request_id="not sane; drop it")
            started = await graphql(
                """mutation($ws: ID!) { startCheckout(input: {workspaceId: $ws, planId: "pro",
                   interval: MONTH, successUrl: "http://127.0.0.1/ok",
                   cancelUrl: "http://127.0.0.1/no"}) { sessionId userErrors { code } } }""",
                {"ws": workspace_id},
            )
            session_id = started["startCheckout"]["sessionId"]
            paid = await http.post(
                f"{emulator}/v1/test_helpers/checkout/sessions/{session_id}/complete",
                headers={"Authorization": "Bearer sk_test_anything"},
                data={"payment_method": "pm_card_visa"},
            )
            assert paid.status_code == 200
            query = "query($ws: ID!) { workspace(id: $ws) { subscription { status } } }"
            deadline = time.monotonic() + 10
            while True:
                found = await graphql(query, {"ws": workspace_id})
                subscription = found["workspace"]["subscription"]
                if subscription and subscription["status"] == "ACTIVE":
                    break
                assert time.monotonic() < deadline, log_path.read_text()
                await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(stop, process)

    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    for line in lines:
        assert {"timestamp", "level", "logger", "message", "component"} <= set(line), line
        assert TIMESTAMP.fullmatch(line["timestamp"]), line
    messages = [line["message"] for line in lines]

    # Every line written while serving a request names it, uvicorn's access lines included.
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access and all(line.get("request_id") for line in access)
    traced = [line for line in lines if line.get("request_id") == "trace-0001"]
    assert [(line["method"], line["path"], line["status"]) for line in traced] == [
        ("POST", "/graphql", 200)
    ]
    assert not any(line.get("request_id") == "not sane; drop it" for line in lines)
    # The emulator's access lines are not written as the API's.
    assert not any(line["path"].startswith("/v1/") for line in access)

    # Webhook lines name the event type and the outcome: "received" inside the delivery's
    # request, then what the event processor made of it.
    webhooks = [line for line in lines if line["logger"] == "seatbill.webhooks"]
    completed = [w for w in webhooks if w.get("event_type") == "checkout.session.completed"]
    assert [w["outcome"] for w in completed] == ["received", "processed"], webhooks
    assert "checkout.session.completed" in completed[1]["message"]
    assert all(w.get("event_id") for w in webhooks)
    received = [w for w in webhooks if w["outcome"] == "received"]
    assert received and all(w.get("request_id") for w in received)
    assert {w["component"] for w in webhooks} == {"seatbill"}

    # Start-up says nothing of shutting down, and nothing twice.
    ready = messages.index("Application startup complete.")
    start_up = lines[: ready + 1]
    assert not [line for line in start_up if "shutdown" in line["message"].lower()]
    repeated = Counter((line["logger"], line["message"]) for line in start_up)
    assert [key for key, n in repeated.items() if n > 1] == []
    # Shutting down is told once: the emulator's own server lines are not the API's.
    for said_once in (
        "Started server process",
        "Shutting down",
        "Waiting for application shutdown.",
        "Tortoise-ORM shutdown",
        "Finished server process",
    ):
        assert sum(m.startswith(said_once) for m in messages) == 1, (said_once, messages)

    # No secret and no Stripe request internals.
    assert "sk_test" not in text and "whsec_" not in text
    assert "Request to Stripe api" not in text and "HTTP Request:" not in text


# The emulator's lines, labelled ------------------------------------------------------------


def _capture(formatter: logging.Formatter) -> tuple[logging.Handler, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(RecordFilter())
    return handler, out


def _in_emulator_thread(logger: str, level: int, message: str) -> None:
    """Log as the emulator's uvicorn does: from the thread its server runs in."""
    thread = threading.Thread(
        target=lambda: logging.getLogger(logger).log(level, message), name=EMULATOR_THREAD
    )
    thread.start()
    thread.join()


def test_emulator_lines_are_labelled_and_its_server_chatter_left_out() -> None:
    assert EMULATOR_THREAD == THREAD_NAME  # the emulator names its server thread so
    text_handler, text = _capture(TextFormatter())
    json_handler, json_out = _capture(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.INFO)
    for handler in (text_handler, json_handler):
        root.addHandler(handler)
    # As `seatbill serve` has them (another server in this test session may have given
    # uvicorn's loggers handlers of their own).
    uvicorn_loggers = [logging.getLogger(name) for name in UVICORN_LOGGERS]
    saved = [(lg.handlers[:], lg.propagate, lg.level) for lg in uvicorn_loggers]
    for lg in uvicorn_loggers:
        lg.handlers.clear()
        lg.propagate = True
        lg.setLevel(logging.NOTSET)
    try:
        # A real emulator whose webhook target is down: its deliverer warns (its own logger).
        dead = f"http://127.0.0.1:{free_port()}/webhooks/stripe"
        with EmulatorServer(
            webhook_url=dead, webhook_secret="whsec_test", webhook_max_attempts=1
        ) as emulator:
            client = stripe.StripeClient(
                "sk_test_logs", base_addresses={"api": emulator.url}, max_network_retries=0
            )
            client.v1.customers.create()
            assert emulator.wait_for_webhooks(10)
        # Its uvicorn: lifecycle and access lines (INFO) are left out, warnings labelled. The
        # API's server has set uvicorn's loggers to INFO (`seatbill serve` does).
        for lg in uvicorn_loggers:
            lg.setLevel(logging.INFO)
        _in_emulator_thread("uvicorn.error", logging.INFO, "Shutting down")
        _in_emulator_thread("uvicorn.access", logging.INFO, '127.0.0.1 - "GET /v1/x" 200')
        _in_emulator_thread("uvicorn.error", logging.WARNING, "Invalid HTTP request received.")
        # The API's own uvicorn lines stay the API's.
        logging.getLogger("uvicorn.error").warning("API server warning")
    finally:
        for handler in (text_handler, json_handler):
            root.removeHandler(handler)
        root.setLevel(previous)
        for lg, (handlers, propagate, level) in zip(uvicorn_loggers, saved, strict=True):
            lg.handlers[:] = handlers
            lg.propagate = propagate
            lg.setLevel(level)

    lines = text.getvalue().splitlines()
    delivery = [line for line in lines if "failed after 1 attempts" in line]
    assert delivery and " WARNING [stripe-emulator] stripe_emulator.webhooks: " in delivery[0]
    assert TIMESTAMP.match(delivery[0])
    assert not any("Shutting down" in line or "/v1/x" in line for line in lines)
    assert any(
        "[stripe-emulator] stripe_emulator.server: Invalid HTTP request" in line for line in lines
    )
    api_line = next(line for line in lines if "API server warning" in line)
    assert "[stripe-emulator]" not in api_line and " uvicorn: " in api_line

    records = [json.loads(line) for line in json_out.getvalue().splitlines()]
    by_message = {record["message"]: record for record in records}
    assert by_message["Invalid HTTP request received."]["component"] == "stripe-emulator"
    assert by_message["API server warning"]["component"] == "seatbill"
    assert any(
        r["component"] == "stripe-emulator" and r["logger"] == "stripe_emulator.webhooks"
        for r in records
    )


def test_log_format_follows_the_terminal_unless_set() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_format(None, Terminal()) == "text"
    assert resolve_format(None, io.StringIO()) == "json"
    assert resolve_format("json", Terminal()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"


def test_log_format_setting() -> None:
    assert Settings.from_env({}).log_format is None
    assert Settings.from_env({"LOG_FORMAT": " JSON "}).log_format == "json"
    with pytest.raises(ConfigError, match=r"^LOG_FORMAT: expected json or text, got 'yaml'$"):
        Settings.from_env({"LOG_FORMAT": "yaml"})
