"""The Starlette application: routes, limits and the ORM lifespan. Nothing runs on import."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from tortoise import Tortoise, connections

from seatbill.auth import TokenVerifier
from seatbill.catalog import Catalog, default_catalog_path, load_catalog
from seatbill.config import Settings
from seatbill.cors import cors_middleware
from seatbill.db import tortoise_config
from seatbill.graphql_http import ASSETS_PATH, GRAPHIQL_ASSETS, PersistedQueries, serve_graphql
from seatbill.limits import BadBody, BodySizeLimit, parse_request_json
from seatbill.logs import RequestIdMiddleware
from seatbill.metrics_route import metrics
from seatbill.schema import build_schema
from seatbill.schema.context import Context
from seatbill.services.seat_sync import SeatSyncWorker
from seatbill.services.stripe_gateway import StripeGateway
from seatbill.services.workspaces import RecentUsers
from seatbill.webhooks.processor import WebhookProcessor
from seatbill.webhooks.route import stripe_webhook

log = logging.getLogger("seatbill")


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask errors the code did not raise on purpose; they may carry internals."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False
    log.error("unhandled error in %s", error.path, exc_info=original)
    return True


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings, catalog: Catalog, gateway: StripeGateway | None) -> None:
        schema = build_schema(
            settings,
            mask_errors=_is_unexpected,
            masked_message="Internal server error",
            metrics=True,
        )
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.catalog = catalog
        self.gateway = gateway
        self.verifier = TokenVerifier(settings)
        self.users = RecentUsers()
        self.persisted_queries = PersistedQueries(settings.persisted_queries_cache_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            # GraphQL over HTTP (media types, status codes, GET, persisted queries) and GraphiQL.
            response = await serve_graphql(self, Request(scope, receive=receive))
        except HTTPException as exc:
            # Refused requests get a GraphQL-over-HTTP error body, not strawberry's plain text.
            response = JSONResponse(
                {"errors": [{"message": exc.reason}]}, status_code=exc.status_code
            )
        await response(scope, receive, send)

    def parse_json(self, data: str | bytes) -> Any:
        """Bodies are checked before strawberry or graphql-core recurse into them: a hostile
        body is a 400 and one log line, never a 500 with a traceback."""
        try:
            return parse_request_json(data)
        except BadBody as exc:
            log.info("refused a GraphQL request body: %s", exc)
            raise HTTPException(400, str(exc)) from None

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request)
        return Context(
            request=request,
            settings=self.settings,
            verifier=self.verifier,
            catalog=self.catalog,
            gateway=self.gateway,
            users=self.users,
        )


# Python's cyclic collector runs after every 700 net allocations of container objects, and a
# full collection walks every object alive: the schema, the ORM's metadata, the modules,
# several hundred thousand objects that live as long as the process. A read of 50 members
# allocates thousands of objects, so collections ran every few requests and the full ones
# walked all of that (they showed as p99 spikes). What start-up made is moved out of the
# collector's sight (gc.freeze). A request leaves no reference cycles (tests/test_executor.py),
# so its objects go when it ends, and a young collection finds only the objects of the
# requests in flight, which it walks in vain: with 5,000 allocations between young collections
# instead of 700 a read costs about 4% fewer instructions. (50,000 let RSS grow 30% over
# 50,000 requests while each request still left cycles behind; bench.reads --memory.)
YOUNG_COLLECTION_THRESHOLD = 5_000


def _settle_garbage_collector() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        log.warning("readiness check: database unreachable", exc_info=True)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def create_app(
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    gateway: StripeGateway | None = None,
    *,
    manage_orm: bool = True,
    settle_gc: bool = False,
) -> Starlette:
    """The API. ``gateway`` talks to Stripe (or the emulator); without one, billing is off.
    ``manage_orm=False``: the ORM is already open in this process (a second app in tests) and
    this app neither opens nor closes its connections. ``settle_gc``: this process serves
    only this app (`seatbill serve`), so tune the garbage collector for it once started."""
    settings = settings or Settings.from_env()
    catalog = catalog or load_catalog(settings.plans_path or default_catalog_path())
    graphql = GraphQLApp(settings, catalog, gateway)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        if manage_orm:
            # Global fallback: request tasks do not inherit the lifespan task's context.
            await Tortoise.init(
                config=tortoise_config(settings.database_url), _enable_global_fallback=True
            )
        # Seat sync runs here unless SEAT_SYNC_WORKER=external (`seatbill worker` processes).
        worker = (
            SeatSyncWorker(gateway, catalog, dialect=settings.dialect)
            if settings.seat_sync_in_process and gateway is not None
            else None
        )
        if worker is not None:
            await worker.start()
        # So does the webhook event processor, unless WEBHOOK_PROCESSOR=external.
        processor = (
            WebhookProcessor(settings, catalog, gateway)
            if settings.webhook_processor_in_process and gateway is not None
            else None
        )
        app.state.webhook_processor = processor
        if processor is not None:
            await processor.start()
        if settle_gc:
            _settle_garbage_collector()
        try:
            yield {}
        finally:
            if processor is not None:
                await processor.stop()
            if worker is not None:
                await worker.stop()
            if manage_orm:
                await Tortoise.close_connections()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            *(
                [Mount(ASSETS_PATH, StaticFiles(directory=GRAPHIQL_ASSETS), name="graphiql")]
                if settings.graphiql
                else []
            ),
            Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            *cors_middleware(settings.cors_origins),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.catalog = catalog
    app.state.gateway = gateway
    app.state.webhook_processor = None  # the lifespan starts one (WEBHOOK_PROCESSOR=in-process)
    return app
