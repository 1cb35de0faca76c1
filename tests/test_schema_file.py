"""schema.graphql, committed for clients' codegen, is the schema the API serves."""

from __future__ import annotations

import subprocess
import sys

from seatbill.config import Settings
from seatbill.schema import build_schema
from tests.conftest import REPO

SCHEMA_FILE = REPO / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    served = build_schema(Settings()).as_str().rstrip("\n") + "\n"
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert committed == served, (
        "schema.graphql differs from the schema the code serves: run `make schema` "
        "(seatbill schema > schema.graphql) and commit it"
    )


def test_seatbill_schema_prints_the_sdl_with_no_database_or_stripe() -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "seatbill.cli", "schema"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8")
    assert "type Query {" in result.stdout and "type Mutation {" in result.stdout
    assert "previewSeatChange(workspaceId: ID!, seats: Int!): ProrationPreview!" in result.stdout
