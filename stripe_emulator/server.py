"""The Starlette app and an in-process server (uvicorn in a background thread)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from stripe_emulator import helpers, pages
from stripe_emulator.api import handle
from stripe_emulator.app_state import Emulator, Options

API_METHODS = ["GET", "POST", "DELETE"]
# The thread the in-process server runs in; a host process tells the emulator's uvicorn lines
# (logger "uvicorn.*", like its own) from its own by it.
THREAD_NAME = "stripe-emulator"


def create_app(
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    shuffle_webhooks: bool = False,
    duplicate_webhooks: float = 0.0,
    webhook_retry_base: float = 0.05,
    webhook_max_attempts: int = 5,
    seed: int | None = None,
    state_path: str | None = None,
) -> Starlette:
    """A Starlette app serving the emulated Stripe API; ``app.state.emulator`` holds its state.
    With ``state_path`` the state is loaded from that file and kept there (written shortly
    after each request and at shutdown); a file that cannot be read raises StateFileError."""
    if webhook_url and not webhook_secret:
        raise ValueError("webhook_url needs a webhook_secret (whsec_...) to sign deliveries")
    emulator = Emulator(
        Options(
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            shuffle_webhooks=shuffle_webhooks,
            duplicate_webhooks=duplicate_webhooks,
            webhook_retry_base=webhook_retry_base,
            webhook_max_attempts=webhook_max_attempts,
            seed=seed,
            state_path=state_path,
        )
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        emulator.deliverer.start()
        if emulator.state_file is not None:
            emulator.state_file.start()
        try:
            yield
        finally:
            emulator.deliverer.stop()
            if emulator.state_file is not None:
                emulator.state_file.close()

    routes = [
        Route("/v1/{path:path}", handle, methods=API_METHODS),
        Route("/checkout/{id}", pages.checkout_page, methods=["GET"]),
        Route("/checkout/{id}", pages.checkout_submit, methods=["POST"]),
        Route("/portal/{id}", pages.portal_page, methods=["GET"]),
        Route("/portal/{id}/{action}", pages.portal_action, methods=["POST"]),
        Route("/_emulator", helpers.info, methods=["GET"]),
        Route("/_emulator/faults", helpers.faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/webhooks/deliveries", helpers.deliveries, methods=["GET"]),
        Route("/_emulator/webhooks/wait", helpers.wait_idle, methods=["GET", "POST"]),
        Route("/_emulator/webhooks/mode", helpers.webhook_mode, methods=["POST"]),
        Route("/_emulator/reset", helpers.reset, methods=["POST"]),
    ]
    middleware = (
        [Middleware(_MarkChanged, emulator=emulator)] if emulator.state_file is not None else []
    )
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.emulator = emulator
    return app


class _MarkChanged:
    """After every request (API, hosted pages, helpers), tell the state file to check."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.emulator.changed()


class EmulatorServer:
    """Run the emulator in this process: ``with EmulatorServer() as emu: emu.url``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        shuffle_webhooks: bool = False,
        duplicate_webhooks: float = 0.0,
        webhook_retry_base: float = 0.05,
        webhook_max_attempts: int = 5,
        seed: int | None = None,
        log_level: str = "warning",
        state_path: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.app = create_app(
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            shuffle_webhooks=shuffle_webhooks,
            duplicate_webhooks=duplicate_webhooks,
            webhook_retry_base=webhook_retry_base,
            webhook_max_attempts=webhook_max_attempts,
            seed=seed,
            state_path=state_path,
        )
        self.emulator: Emulator = self.app.state.emulator
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 5.0) -> EmulatorServer:
        if self._server is not None:
            return self
        # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections; without it
        # every response waits ~40 ms for a delayed ACK between its header and body writes.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        # log_config=None: the host process's logging stays as it set it up (uvicorn's default
        # config would add handlers of its own to the shared "uvicorn" loggers). Its lines are
        # told apart by this thread's name (THREAD_NAME); at the default level "warning" its
        # start, stop and access lines are not written.
        config = uvicorn.Config(self.app, log_level=self._log_level, lifespan="on", log_config=None)
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=THREAD_NAME, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Stripe emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until every queued webhook delivery finished (succeeded or gave up)."""
        return self.emulator.deliverer.wait_idle(timeout)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
