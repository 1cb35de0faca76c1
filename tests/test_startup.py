"""`seatbill serve` start-up as a user meets it, in real subprocesses: a database it cannot use
or a busy port is one or two lines naming the variable and a non-zero exit with nothing left
running; the emulator's state survives a restart beside a SQLite database, and a database the
emulator is out of step with is said in one warning line."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from seatbill.auth import issue_development_token
from seatbill.config import Settings
from tests.conftest import REPO, free_socket

STRIPE_AUTH = {"Authorization": "Bearer sk_test_startup"}


def free_port() -> int:
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def clean_env(**values: str) -> dict[str, str]:
    """The test process's environment without Seatbill's settings, plus ``values``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STRIPE_", "JWT_", "DATABASE_URL", "PUBLIC_URL", "PORT", "HOST"))
    }
    env.update(values)
    return env


def run_serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seatbill.cli", "serve", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def can_bind(port: int) -> bool:
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


@contextmanager
def listening(port: int) -> Iterator[None]:
    """Another process's server on ``port`` (a second `make run`, say)."""
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", port))
        held.listen()
        yield


def assert_short_failure(result: subprocess.CompletedProcess[str], variable: str) -> str:
    assert result.returncode != 0, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert variable in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_unreachable_postgres_is_one_line_naming_database_url() -> None:
    emulator_port = free_port()
    env = clean_env(
        DATABASE_URL="postgres://seatbill:hunter2-secret@127.0.0.1:1/seatbill",
        PORT=str(free_port()),
        STRIPE_EMULATOR_PORT=str(emulator_port),
    )
    line = assert_short_failure(run_serve(env), "DATABASE_URL")
    assert "127.0.0.1:1" in line
    assert "hunter2-secret" not in line  # the password is never echoed
    assert can_bind(emulator_port)  # the emulator was never started


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs a PostgreSQL server (DATABASE_URL=postgres://...)",
)
def test_a_missing_postgres_database_is_one_line_naming_database_url() -> None:
    base = Settings.from_env({"DATABASE_URL": os.environ["DATABASE_URL"]}).database_url
    missing = urlunsplit(urlsplit(base)._replace(path="/seatbill_no_such_database"))
    env = clean_env(DATABASE_URL=missing, PORT=str(free_port()))
    line = assert_short_failure(run_serve(env), "DATABASE_URL")
    assert 'database "seatbill_no_such_database" does not exist' in line


def test_a_sqlite_file_that_cannot_be_opened_is_one_line_naming_database_url(
    tmp_path: Path,
) -> None:
    env = clean_env(DATABASE_URL=f"sqlite://{tmp_path / 'no-such-dir' / 'db.sqlite3'}")
    env["PORT"] = str(free_port())
    line = assert_short_failure(run_serve(env), "DATABASE_URL")
    assert "unable to open database file" in line


def test_a_busy_port_is_named_first_and_nothing_is_left_bound(tmp_path: Path) -> None:
    port, emulator_port = free_port(), free_port()
    database = tmp_path / "busy.sqlite3"
    env = clean_env(
        PORT=str(port), STRIPE_EMULATOR_PORT=str(emulator_port), DATABASE_URL=f"sqlite://{database}"
    )
    with listening(port):
        line = assert_short_failure(run_serve(env), "PORT")
    assert f"PORT {port} is already in use" in line
    assert "STRIPE_EMULATOR_PORT" not in line
    assert can_bind(emulator_port)  # the emulator was not started (or was stopped)
    assert not database.exists()  # the port is checked before anything else
    # A second `make run` beside a first one: both ports busy, and the API's is the one named.
    with listening(port), listening(emulator_port):
        line = assert_short_failure(run_serve(env), "PORT")
    assert "STRIPE_EMULATOR_PORT" not in line


def test_no_migrate_refuses_an_unmigrated_database_then_serves_a_migrated_one(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = clean_env(
        PORT=str(port),
        STRIPE_EMULATOR_PORT=str(free_port()),
        DATABASE_URL=f"sqlite://{tmp_path / 'deploy.sqlite3'}",
    )
    line = assert_short_failure(run_serve(env, "--no-migrate"), "DATABASE_URL")
    assert "run `seatbill migrate` first" in line
    migrated = subprocess.run(
        [sys.executable, "-m", "seatbill.cli", "migrate"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    with served(env, tmp_path / "serve.log", "--no-migrate") as log_path:
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["database"] == "ok"
    assert "--no-migrate" in log_path.read_text()


@contextmanager
def served(env: dict[str, str], log_path: Path, *args: str) -> Iterator[Path]:
    """`seatbill serve` running until /healthz answers; stopped with SIGTERM afterwards."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "seatbill.cli", "serve", *args],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=log,
        )
    api = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{api}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield log_path
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, log_path.read_text()


class Api:
    def __init__(self, http: httpx.AsyncClient, port: str, emulator_port: str) -> None:
        self.http = http
        self.url = f"http://127.0.0.1:{port}"
        self.emulator = f"http://127.0.0.1:{emulator_port}"
        token = issue_development_token(Settings(), "restart-owner", "restart@example.com", "R")
        self.headers = {"Authorization": f"Bearer {token}"}

    async def graphql(self, query: str, **variables: Any) -> Any:
        response = await self.http.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers=self.headers,
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def preview(self, workspace_id: str, seats: int) -> Any:
        data = await self.graphql(
            """query($ws: ID!, $seats: Int!) { previewSeatChange(workspaceId: $ws, seats: $seats)
               { currency nextInvoiceTotal } }""",
            ws=workspace_id,
            seats=seats,
        )
        return data["previewSeatChange"]


async def subscribe_a_workspace(api: Api) -> str:
    """A workspace on the pro plan, paid in the emulator's hosted checkout; its id."""
    created = await api.graphql(
        'mutation { createWorkspace(input: {name: "Kept"}) { workspace { id } } }'
    )
    workspace_id: str = created["createWorkspace"]["workspace"]["id"]
    started = await api.graphql(
        """mutation($ws: ID!) { startCheckout(input: {workspaceId: $ws, planId: "pro",
           interval: MONTH, successUrl: "http://127.0.0.1/ok", cancelUrl: "http://127.0.0.1/no"})
           { sessionId userErrors { code } } }""",
        ws=workspace_id,
    )
    checkout = started["startCheckout"]
    assert checkout["userErrors"] == []
    paid = await api.http.post(
        f"{api.emulator}/v1/test_helpers/checkout/sessions/{checkout['sessionId']}/complete",
        headers=STRIPE_AUTH,
        data={"payment_method": "pm_card_visa"},
    )
    assert paid.status_code == 200, paid.text
    query = "query($ws: ID!) { workspace(id: $ws) { subscription { status } } }"
    deadline = time.monotonic() + 15
    while True:
        subscription = (await api.graphql(query, ws=workspace_id))["workspace"]["subscription"]
        if subscription and subscription["status"] == "ACTIVE":
            return workspace_id
        assert time.monotonic() < deadline, "the subscription never became ACTIVE"
        await asyncio.sleep(0.1)


async def test_the_emulator_keeps_its_state_across_a_restart_and_says_when_it_cannot(
    tmp_path: Path,
) -> None:
    database = tmp_path / "restart.sqlite3"
    state_file = tmp_path / "restart.sqlite3.stripe-emulator.json"
    env = clean_env(
        PORT=str(free_port()),
        STRIPE_EMULATOR_PORT=str(free_port()),
        DATABASE_URL=f"sqlite://{database}",
    )
    log_path = tmp_path / "serve.log"
    async with httpx.AsyncClient(timeout=10) as http:
        api = Api(http, env["PORT"], env["STRIPE_EMULATOR_PORT"])
        with served(env, log_path):
            workspace_id = await subscribe_a_workspace(api)
            before = await api.preview(workspace_id, 3)
        assert state_file.exists()

        with served(env, log_path):
            # The subscription the database holds is one the emulator still knows.
            assert await api.preview(workspace_id, 3) == before
            assert before["nextInvoiceTotal"] > 0
            endpoints = await http.get(f"{api.emulator}/v1/webhook_endpoints", headers=STRIPE_AUTH)
            assert len(endpoints.json()["data"]) == 1  # replayed, not registered twice
            again = await api.graphql(
                """mutation($ws: ID!) { startCheckout(input: {workspaceId: $ws, planId: "pro",
                   interval: MONTH, successUrl: "http://127.0.0.1/ok",
                   cancelUrl: "http://127.0.0.1/no"}) { userErrors { code } } }""",
                ws=workspace_id,
            )
            assert [e["code"] for e in again["startCheckout"]["userErrors"]] == ["CONFLICT"]
        log_text = log_path.read_text()
        assert "EMULATOR OUT OF STEP" not in log_text
        assert f"its state kept in {state_file}" in log_text

        state_file.unlink()  # lost: the database and a fresh emulator disagree
        log_path.write_text("")
        with served(env, log_path):
            pass
        warnings = [line for line in log_path.read_text().splitlines() if "OUT OF STEP" in line]
        assert len(warnings) == 1, log_path.read_text()
        assert f"delete {database}" in warnings[0]
        assert "restore the state file" in warnings[0]

        database.unlink()  # a new database starts a new emulator state too
        log_path.write_text("")
        with served(env, log_path):
            pass
        log_text = log_path.read_text()
        assert "OUT OF STEP" not in log_text
        assert "new database: the emulator starts empty too" in log_text
