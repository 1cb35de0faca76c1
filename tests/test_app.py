"""The service as a newcomer runs it: health endpoints, GraphiQL, and `seatbill serve`."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from seatbill.services import workspaces
from tests.conftest import REPO, Api


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.http.get(f"{api.url}/healthz")).json() == {"status": "ok"}
    ready = await api.http.get(f"{api.url}/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_graphiql_served_on_get(api: Api) -> None:
    page = await api.http.get(f"{api.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_unexpected_errors_are_masked_and_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(user: object) -> list[object]:
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(workspaces, "workspaces_of", broken)
    with caplog.at_level(logging.ERROR, logger="seatbill"):
        body = await api.raw("{ workspaces { id } }", who=api.person())
    assert body["errors"][0]["message"] == "Internal server error"
    assert "hunter2" not in str(body)
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_seatbill_serve_from_scratch(tmp_path: Path) -> None:
    """`seatbill serve` with nothing configured: migrates an empty SQLite file and serves."""
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "JWT_SECRET", "PUBLIC_URL"}
    }
    env["PORT"] = str(port)
    env["STRIPE_EMULATOR_PORT"] = str(_free_port())
    proc = subprocess.Popen(
        [sys.executable, "-m", "seatbill.cli", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        token = subprocess.run(
            [
                sys.executable,
                "-m",
                "seatbill.cli",
                "token",
                "--sub",
                "newcomer",
                "--email",
                "new@example.com",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        created = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={
                "query": 'mutation { createWorkspace(input: {name: "First"}) '
                "{ workspace { name seats { billable } } userErrors { code } } }"
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        assert created["data"]["createWorkspace"] == {
            "workspace": {"name": "First", "seats": {"billable": 1}},
            "userErrors": [],
        }
        assert (tmp_path / "seatbill.sqlite3").exists()
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert "development default" in output and "JWT_SECRET" in output
    assert token not in output
    _ = REPO
