"""`seatbill serve --workers N` (or WEB_CONCURRENCY): N uvicorn processes on one socket, on
PostgreSQL only (SQLite is for one process), with the emulator kept in the parent."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import httpx
import pytest

from seatbill.auth import issue_development_token
from seatbill.config import Settings
from tests.conftest import fresh_postgres_database
from tests.test_startup import clean_env, free_port, run_serve, served

POSTGRES_URL = os.environ.get("DATABASE_URL", "")


@pytest.mark.parametrize("how", [("--workers", "2"), ("WEB_CONCURRENCY", "2")])
def test_more_than_one_worker_is_refused_on_sqlite(tmp_path: Path, how: tuple[str, str]) -> None:
    env = clean_env(DATABASE_URL=f"sqlite://{tmp_path / 'one.sqlite3'}", PORT=str(free_port()))
    args: list[str] = []
    if how[0] == "WEB_CONCURRENCY":
        env["WEB_CONCURRENCY"] = how[1]
    else:
        args = list(how)
    result = run_serve(env, *args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert how[0] in lines[0] and "PostgreSQL" in lines[0] and "SQLite" in lines[0]
    assert not (tmp_path / "one.sqlite3").exists()  # refused before anything was touched


def test_a_worker_count_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=f"sqlite://{tmp_path / 'one.sqlite3'}", WEB_CONCURRENCY="many")
    result = run_serve(env)
    assert result.returncode != 0 and "WEB_CONCURRENCY" in result.stderr


@pytest.mark.skipif(
    not POSTGRES_URL.startswith("postgres"), reason="several workers need PostgreSQL"
)
async def test_two_workers_serve_from_one_port(tmp_path: Path) -> None:
    async with fresh_postgres_database(POSTGRES_URL, "workers") as database_url:
        port = free_port()
        env = clean_env(
            DATABASE_URL=database_url,
            PORT=str(port),
            STRIPE_EMULATOR_PORT=str(free_port()),
            WEB_CONCURRENCY="2",
        )
        log = tmp_path / "serve.log"
        token = issue_development_token(Settings(), "two-workers", "two@example.com")
        with served(env, log):
            # served() returns once one process answers; the other may still be starting.
            for _ in range(300):
                if log.read_text().count("Application startup complete") >= 2:
                    break
                await asyncio.sleep(0.05)
            async with httpx.AsyncClient(timeout=10) as http:
                for _ in range(6):  # new connections: the kernel hands them to either process
                    answer = await http.post(
                        f"http://127.0.0.1:{port}/graphql",
                        json={"query": "{ me { email } plans { id } }"},
                        headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                    )
                    assert answer.status_code == 200, answer.text
                    body = answer.json()
                    assert body["data"]["me"]["email"] == "two@example.com", body
                    assert body["data"]["plans"], body
            text = log.read_text()
        workers = set(re.findall(r"Started server process \[(\d+)\]", text))
        assert len(workers) == 2, text[-3000:]
        assert "with 2 worker processes" in text
        # Billing is emulated by the parent: the workers reached it (the catalog was synced
        # there before they started, and each registered nothing of its own).
        assert text.count("BILLING IS EMULATED") == 1


def test_websocket_upgrades_are_not_served(tmp_path: Path) -> None:
    """uvicorn[standard] brings a WebSocket server; the API has no subscriptions and keeps it
    off (as before it), so an upgrade request is answered as plain HTTP."""
    port = free_port()
    env = clean_env(
        DATABASE_URL=f"sqlite://{tmp_path / 'ws.sqlite3'}",
        PORT=str(port),
        STRIPE_EMULATOR_PORT=str(free_port()),
    )
    with served(env, tmp_path / "serve.log"):
        answer = httpx.get(
            f"http://127.0.0.1:{port}/graphql",
            headers={
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Protocol": "graphql-transport-ws",
            },
        )
    assert answer.status_code == 200, answer.status_code  # GraphiQL's page, a plain GET
