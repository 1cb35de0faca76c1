"""Database wiring: Tortoise config, and aerich migrations kept per dialect.

aerich writes dialect-specific SQL, so ``migrations/sqlite`` and ``migrations/postgres``
each hold a full migration set generated from the same models.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from aerich import Command
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import OperationalError

MODEL_MODULES = ["seatbill.models", "aerich.models"]
DIALECTS = ("sqlite", "postgres")
# A database URL per dialect for generating migrations offline (aerich does not connect).
_OFFLINE_URLS = {
    "sqlite": "sqlite://:memory:",
    "postgres": "postgres://offline@127.0.0.1:1/offline",
}


def migrations_root() -> Path:
    return Path(__file__).resolve().parent.parent / "migrations"


def dialect_of(database_url: str) -> str:
    return "postgres" if database_url.startswith("postgres") else "sqlite"


class _Connection(asyncpg.Connection):  # type: ignore[misc]
    """asyncpg's connection, without the reset query a pooled connection runs on every release
    (``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``): Tortoise takes a
    pooled connection per query, so a read of five queries paid five more round trips for
    it. Seatbill keeps no session state (no SET, LISTEN, cursors or session advisory locks,
    only transaction-scoped ones); an open transaction is still rolled back on release."""

    def get_reset_query(self) -> str:
        return ""


def _connection(database_url: str) -> str | dict[str, Any]:
    if dialect_of(database_url) != "postgres":
        return database_url
    config: dict[str, Any] = expand_db_url(database_url)
    config["credentials"]["connection_class"] = _Connection
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(database_url: str, location: Path | None = None) -> list[str]:
    """Apply every migration the database has not seen; returns the applied file names."""
    folder = location or migrations_root() / dialect_of(database_url)
    config = tortoise_config(database_url)
    command = Command(config, app="models", location=str(folder))
    await Tortoise.init(config=config)
    await command.init()
    try:
        return await command.upgrade(run_in_transaction=True)
    finally:
        with quiet_shutdown_line():
            await Tortoise.close_connections()


class _ShutdownLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Tortoise-ORM shutdown"


@contextmanager
def quiet_shutdown_line() -> Iterator[None]:
    """No "Tortoise-ORM shutdown" line for the connections start-up opens and closes: during
    start-up it would read as the service stopping."""
    logger = logging.getLogger("tortoise")
    line = _ShutdownLine()
    logger.addFilter(line)
    try:
        yield
    finally:
        logger.removeFilter(line)


CONNECT_TIMEOUT = 10.0


async def check_database(database_url: str) -> None:
    """Connect and run ``SELECT 1`` within CONNECT_TIMEOUT seconds; raises what the driver
    raises (or TimeoutError) when the database is unreachable, missing or refuses the
    credentials."""
    if dialect_of(database_url) == "sqlite":
        # The standard library's driver: aiosqlite's worker thread reports a failed open to a
        # loop already closed, printing a traceback of its own.
        path = database_url.split("://", 1)[1].split("?", 1)[0]
        connection = sqlite3.connect(path or ":memory:", timeout=CONNECT_TIMEOUT)
        try:
            connection.execute("SELECT 1")
        finally:
            connection.close()
        return
    with quiet_shutdown_line():
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await Tortoise.init(config=tortoise_config(database_url))
            try:
                await connections.get("default").execute_query("SELECT 1")
            finally:
                await Tortoise.close_connections()


async def pending_migrations(database_url: str, location: Path | None = None) -> list[str]:
    """The migration files the database has not applied yet (all of them on an empty one)."""
    folder = location or migrations_root() / dialect_of(database_url)
    config = tortoise_config(database_url)
    command = Command(config, app="models", location=str(folder))
    with quiet_shutdown_line():
        await Tortoise.init(config=config)
        await command.init()
        try:
            try:
                return await command.heads()
            except OperationalError:  # no aerich table: nothing applied
                return await command.history()
        finally:
            await Tortoise.close_connections()


@contextmanager
def _no_column_comments(dialect: str) -> Iterator[None]:
    """SQLite keeps no column comments, so a changed one (an enum field's description lists
    its values) is nothing to migrate there; aerich refuses it outright instead."""
    if dialect != "sqlite":
        yield
        return
    from aerich.ddl.sqlite import SqliteDDL
    from aerich.migrate import Migrate

    set_comment, add_operator = SqliteDDL.set_comment, Migrate._add_operator

    def skip_empty(operator: str, upgrade: bool = True, fk_m2m_index: bool = False) -> None:
        if operator:
            add_operator(operator, upgrade, fk_m2m_index)

    SqliteDDL.set_comment = lambda self, model, field_describe: ""  # type: ignore[method-assign]
    Migrate._add_operator = skip_empty  # type: ignore[method-assign]
    try:
        yield
    finally:
        SqliteDDL.set_comment = set_comment  # type: ignore[method-assign]
        Migrate._add_operator = add_operator  # type: ignore[method-assign]


async def pending_model_changes(dialect: str, location: Path | None = None) -> bool:
    """True when the models differ from what the dialect's migration set builds."""
    source = (location or migrations_root()) / dialect
    with tempfile.TemporaryDirectory() as tmp, _no_column_comments(dialect):
        scratch = Path(tmp) / dialect
        shutil.copytree(source, scratch)
        config = tortoise_config(_OFFLINE_URLS[dialect])
        command = Command(config, app="models", location=str(scratch))
        await Tortoise.init(config=config)
        await command.init(offline=True)
        try:
            created = await command.migrate("check", no_input=True, offline=True)
        finally:
            await Tortoise.close_connections()
        return bool(created)


async def make_migration(dialect: str, name: str) -> str:
    """Generate the next migration for one dialect from the current models ("" if none)."""
    folder = migrations_root() / dialect
    config = tortoise_config(_OFFLINE_URLS[dialect])
    command = Command(config, app="models", location=str(folder))
    await Tortoise.init(config=config)
    try:
        if not (folder / "models").exists():
            await command.init_migrations(safe=True)
            return "init"
        await command.init(offline=True)
        with _no_column_comments(dialect):
            return await command.migrate(name, no_input=True, offline=True)
    finally:
        await Tortoise.close_connections()


def make_migrations(name: str) -> dict[str, str]:
    """Generate the next migration for every dialect, each in a process of its own: aerich
    keeps the pending operations in class attributes, which would leak from one into the next."""
    written: dict[str, str] = {}
    for dialect in DIALECTS:
        code = (
            "import asyncio, sys\n"
            "from seatbill.db import make_migration\n"
            "print(asyncio.run(make_migration(sys.argv[1], sys.argv[2])))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, dialect, name], capture_output=True, text=True, check=True
        )
        written[dialect] = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return written
