"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via DATABASE_URL) and the API
served by uvicorn on a free loopback port, called over real HTTP."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import uvicorn

from seatbill.app import create_app
from seatbill.auth import issue_development_token
from seatbill.config import RateLimit, Settings
from seatbill.db import migrate
from seatbill.services.stripe_gateway import StripeGateway
from seatbill.webhooks.handlers import handled_events
from seatbill.webhooks.processor import running_processors
from stripe_emulator import EmulatorServer

REPO = Path(__file__).resolve().parent.parent


async def _postgres_admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_postgres_database(url: str, label: str = "seatbill") -> AsyncIterator[str]:
    """A new empty database beside the one ``url`` names, dropped afterwards."""
    base = Settings.from_env({"DATABASE_URL": url}).database_url
    parts = urlsplit(base)
    name = f"{parts.path.strip('/')}_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _postgres_admin(base, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        await _postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """SQLite in a temporary file, or with DATABASE_URL (PostgreSQL) a fresh database of this
    test run's own beside the given one, so concurrent runs never share tables."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield f"sqlite://{tmp_path_factory.mktemp('db') / 'seatbill.sqlite3'}"
        return
    async with fresh_postgres_database(url) as fresh:
        yield fresh


# The shared server's scenarios invite a hundred people at once, beyond a person's default rate
# limit; tests/test_rate_limits.py serves its own apps with tight limits.
TEST_RATE_LIMIT = RateLimit(100_000, 60)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # The tests' client app lives at https://app.example.com: Stripe may send people back there.
    return replace(
        Settings(),
        database_url=database_url,
        public_url="http://127.0.0.1",
        allowed_redirect_origins=("https://app.example.com",),
        rate_limit_per_user=TEST_RATE_LIMIT,
        rate_limit_per_workspace=TEST_RATE_LIMIT,
    )


def free_socket() -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(
    settings: Settings,
    gateway: StripeGateway | None = None,
    sock: socket.socket | None = None,
    *,
    manage_orm: bool = True,
) -> AsyncIterator[str]:
    """Run the app under uvicorn in this event loop on a free port; yields its base URL.
    ``manage_orm=False`` for a second app beside the session's: it shares the open ORM and
    leaves it open when it stops."""
    sock = sock or free_socket()
    port = sock.getsockname()[1]
    app = create_app(settings, gateway=gateway, manage_orm=manage_orm)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def drain_webhooks(within: float = 15) -> None:
    """Wait until the webhook processors running in this process (the apps' under test) have
    applied every event recorded so far (failed ones wait for their retry)."""
    async with asyncio.timeout(within):
        for processor in running_processors():
            await processor.drain()


async def settle_webhooks(emulator: EmulatorServer, within: float = 10) -> None:
    """Wait until the emulator has delivered every webhook (in a thread: the API under test
    serves in this event loop and must keep answering meanwhile) and the API has applied them.
    Twice: applying an event may make Stripe send more (a duplicate subscription canceled)."""
    for _ in range(2):
        idle = await asyncio.to_thread(emulator.wait_for_webhooks, within)
        assert idle, "the emulator still had webhooks to deliver"
        await drain_webhooks()


@asynccontextmanager
async def processors_paused() -> AsyncIterator[None]:
    """Stop the webhook processors running in this process for a while (a test that wants
    events to stay in the inbox, or an app of its own to apply them), then start them again."""
    paused = running_processors()
    for processor in paused:
        await processor.stop()
    try:
        yield
    finally:
        for processor in paused:
            await processor.start()


class GraphQLError(AssertionError):
    pass


@dataclass
class Person:
    sub: str
    email: str
    token: str
    name: str


class Api:
    """A GraphQL client over real HTTP, with people to act as."""

    def __init__(self, url: str, settings: Settings, http: httpx.AsyncClient) -> None:
        self.url = url
        self.settings = settings
        self.http = http

    def person(self, name: str = "user", email: str | None = None) -> Person:
        sub = f"{name}-{uuid.uuid4().hex[:10]}"
        address = email or f"{sub}@example.com"
        token = issue_development_token(self.settings, sub, address, name.title())
        return Person(sub=sub, email=address, token=token, name=name.title())

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, who: Person | str | None = None
    ) -> httpx.Response:
        headers = {}
        if isinstance(who, Person):
            headers["Authorization"] = f"Bearer {who.token}"
        elif isinstance(who, str):
            headers["Authorization"] = who
        return await self.http.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, who: Person | str | None = None
    ) -> dict[str, Any]:
        response = await self.post(query, variables, who)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, who: Person | str | None = None
    ) -> dict[str, Any]:
        body = await self.raw(query, variables, who)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        result: dict[str, Any] = body["data"]
        return result

    async def mutate(
        self, name: str, input: dict[str, Any], who: Person, selection: str
    ) -> dict[str, Any]:
        """Run one mutation; returns its payload (with userErrors)."""
        input_type = name[0].upper() + name[1:] + "Input"
        query = (
            f"mutation($input: {input_type}!) {{ {name}(input: $input) "
            f"{{ {selection} userErrors {{ code message field }} }} }}"
        )
        payload: dict[str, Any] = (await self.data(query, {"input": input}, who))[name]
        return payload

    # Scenario helpers -----------------------------------------------------------------

    async def create_workspace(self, owner: Person, name: str = "Acme") -> str:
        payload = await self.mutate("createWorkspace", {"name": name}, owner, "workspace { id }")
        assert payload["userErrors"] == []
        workspace_id: str = payload["workspace"]["id"]
        return workspace_id

    async def invite(
        self, by: Person, workspace_id: str, email: str, role: str = "MEMBER"
    ) -> dict[str, Any]:
        return await self.mutate(
            "inviteMember",
            {"workspaceId": workspace_id, "email": email, "role": role},
            by,
            "token invitation { id email role status expiresAt token }",
        )

    async def accept(self, who: Person, token: str) -> dict[str, Any]:
        return await self.mutate(
            "acceptInvitation",
            {"token": token},
            who,
            "member { id role user { email } } workspace { id }",
        )

    async def join(
        self, owner: Person, workspace_id: str, person: Person, role: str = "MEMBER"
    ) -> str:
        invited = await self.invite(owner, workspace_id, person.email, role)
        assert invited["userErrors"] == [], invited
        accepted = await self.accept(person, invited["token"])
        assert accepted["userErrors"] == [], accepted
        member_id: str = accepted["member"]["id"]
        return member_id


@dataclass
class Stack:
    """The API under test, with the offline Stripe emulator beside it delivering webhooks."""

    url: str
    settings: Settings
    emulator: EmulatorServer
    gateway: StripeGateway


@pytest.fixture(scope="session")
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    await migrate(settings.database_url)
    sock = free_socket()
    port = sock.getsockname()[1]
    emulator = EmulatorServer().start()
    gateway = StripeGateway("sk_test_seatbill", api_base=emulator.url, max_network_retries=2)
    # As `seatbill stripe setup` registers it with Stripe: exactly the events Seatbill handles.
    endpoint = await gateway.create_webhook_endpoint(
        f"http://127.0.0.1:{port}/webhooks/stripe", enabled_events=handled_events()
    )
    webhook_secret = str(endpoint.secret)
    settings = replace(settings, stripe_webhook_secret=webhook_secret, stripe_api_base=emulator.url)
    try:
        async with serve(settings, gateway=gateway, sock=sock) as url:
            yield Stack(url=url, settings=settings, emulator=emulator, gateway=gateway)
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
async def server_url(stack: Stack) -> str:
    return stack.url


@pytest.fixture(scope="session")
async def api(stack: Stack) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Api(stack.url, stack.settings, http)


class QueryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.queries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Count the request's queries, not the seat-sync worker or the webhook processor
        # polling in the same process.
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        if task is not None and task.get_name().startswith(("seat-sync", "webhook-processor")):
            return
        message = record.getMessage()
        if message.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            self.queries.append(message)


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Counts the SQL statements the ORM sends while the block runs (server is in-process)."""
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
