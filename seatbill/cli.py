"""The `seatbill` command."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from seatbill.config import ConfigError, Settings

if TYPE_CHECKING:
    import uuid

    from starlette.applications import Starlette

    from seatbill.catalog import Catalog
    from seatbill.services.reconcile import Report
    from seatbill.services.stripe_gateway import StripeGateway
    from stripe_emulator import EmulatorServer

log = logging.getLogger("seatbill")
T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        print(f"seatbill: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _logging(settings: Settings) -> None:
    """One format (LOG_FORMAT) for seatbill, uvicorn and the emulator started beside it."""
    from seatbill.logs import configure_logging

    configure_logging(settings.log_format)


def _catalog(settings: Settings) -> Catalog:
    from seatbill.catalog import CatalogError, default_catalog_path, load_catalog

    try:
        return load_catalog(settings.plans_path or default_catalog_path())
    except CatalogError as exc:
        print(f"seatbill: plans catalog error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


EMULATOR_API_KEY = "sk_test_seatbill_emulator"  # the emulator takes any sk_test_ key


def _stripe_gateway(settings: Settings) -> StripeGateway:
    """Stripe with STRIPE_SECRET_KEY; without one, the emulator at STRIPE_API_BASE."""
    from seatbill.services.stripe_gateway import StripeGateway

    return StripeGateway.from_settings(
        settings, secret_key=settings.stripe_secret_key or EMULATOR_API_KEY
    )


def _sqlite_path(settings: Settings) -> Path | None:
    """The SQLite database file (None for PostgreSQL or an in-memory database)."""
    if settings.dialect != "sqlite":
        return None
    raw = settings.database_url.split("://", 1)[1].split("?", 1)[0]
    return None if raw in ("", ":memory:") else Path(raw)


def _sqlite_is_new(settings: Settings) -> bool:
    """True when DATABASE_URL names a SQLite file that does not exist yet."""
    path = _sqlite_path(settings)
    return path is not None and not path.exists()


def emulator_state_path(settings: Settings) -> Path | None:
    """Where `seatbill serve` keeps its emulator's state: beside the SQLite database, so the
    two stay in step across restarts (None on PostgreSQL: the emulator lives in memory)."""
    path = _sqlite_path(settings)
    return path.with_name(path.name + ".stripe-emulator.json") if path is not None else None


async def _stripe_ids_in_database(database_url: str) -> list[str]:
    """The Stripe customers and subscriptions the database refers to."""
    from tortoise import Tortoise

    from seatbill.db import quiet_shutdown_line, tortoise_config
    from seatbill.models import Subscription, Workspace

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        customers = await Workspace.filter(stripe_customer_id__isnull=False).values_list(
            "stripe_customer_id", flat=True
        )
        subscriptions = await Subscription.all().values_list("stripe_id", flat=True)
    finally:
        with quiet_shutdown_line():
            await Tortoise.close_connections()
    return [str(i) for i in [*customers, *subscriptions]]


def _check_emulator_matches_database(
    settings: Settings, emulator: EmulatorServer, state_path: Path | None
) -> None:
    """One warning line, saying what to do, when the database refers to Stripe objects the
    emulator does not know (its state was lost: no state file, or an older one)."""
    ids = asyncio.run(_stripe_ids_in_database(settings.database_url))
    state = emulator.emulator.state
    with state.lock:
        unknown = [i for i in ids if state.find(i) is None]
    if not unknown:
        return
    database = _sqlite_path(settings)
    if state_path is not None and database is not None:
        todo = (
            f"its state file {state_path} is missing or older than the database: delete "
            f"{database} (and the state file) to start both afresh, or restore the state file"
        )
    else:
        todo = (
            "the emulator keeps no state on PostgreSQL: use a new database (or a SQLite "
            "DATABASE_URL, whose emulator state is kept beside it), or STRIPE_API_BASE with an "
            "emulator that has it"
        )
    log.warning(
        "EMULATOR OUT OF STEP: the database refers to %d Stripe object(s) the emulator does "
        "not know (e.g. %s); %s",
        len(unknown),
        unknown[0],
        todo,
    )


def _start_billing(
    settings: Settings, catalog: Catalog, *, fresh_database: bool = False
) -> tuple[Settings, EmulatorServer | None]:
    """With STRIPE_SECRET_KEY: real Stripe, as configured. Without: the offline emulator, started
    here unless STRIPE_API_BASE names one already running; this service's webhook URL is
    registered with it (its signing secret becomes STRIPE_WEBHOOK_SECRET) and the catalog's
    products and prices are created there. On SQLite the emulator keeps its state in a file
    beside the database (started afresh with a new database)."""
    from seatbill.services.catalog_sync import sync_catalog
    from seatbill.webhooks.handlers import handled_events
    from stripe_emulator import EmulatorServer, StateFileError

    if settings.stripe_secret_key is not None:
        log.info(
            "billing: Stripe%s",
            f" at {settings.stripe_api_base}" if settings.stripe_api_base else "",
        )
        return settings, None
    emulator = None
    state_path = None
    if settings.stripe_api_base is None:
        state_path = emulator_state_path(settings)
        if state_path is not None and fresh_database and state_path.exists():
            log.info("new database: the emulator starts empty too (replacing %s)", state_path)
            state_path.unlink()
        try:
            emulator = EmulatorServer(
                "127.0.0.1",
                settings.stripe_emulator_port,
                state_path=str(state_path) if state_path is not None else None,
            )
        except StateFileError as exc:
            raise SystemExit(f"seatbill: {exc}") from None
        try:
            emulator.start()
        except (OSError, RuntimeError) as exc:
            raise SystemExit(
                f"seatbill: could not start the Stripe emulator on port "
                f"{settings.stripe_emulator_port} ({exc}); set STRIPE_EMULATOR_PORT"
            ) from None
        settings = replace(settings, stripe_api_base=emulator.url)
    webhook_url = f"{settings.public_url}/webhooks/stripe"

    async def prepare() -> str:
        gateway = _stripe_gateway(settings)  # its own event loop: the app gets a fresh gateway
        for action in await sync_catalog(gateway, catalog):
            log.info("catalog sync: %s", action)
        # Registered after the sync: the catalog's own events need not reach a server not up yet.
        # Only the events Seatbill handles, as `seatbill stripe setup` registers them with Stripe.
        # After a restart on a kept state the same idempotency key replays the endpoint (and
        # its signing secret) instead of adding a second one.
        endpoint = await gateway.create_webhook_endpoint(
            webhook_url, enabled_events=handled_events()
        )
        return str(endpoint.secret)

    try:
        if emulator is not None:
            _check_emulator_matches_database(settings, emulator, state_path)
        secret = asyncio.run(prepare())
    except BaseException:
        if emulator is not None:
            emulator.stop()
        raise
    log.warning(
        "BILLING IS EMULATED: no STRIPE_SECRET_KEY, so Stripe calls go to the offline emulator "
        "at %s (test mode, %s; hosted checkout pages are served there). Webhooks are delivered "
        "to %s. Set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET to bill with Stripe.",
        settings.stripe_api_base,
        f"its state kept in {state_path}"
        if state_path is not None
        else "in memory, forgotten on restart",
        webhook_url,
    )
    return replace(settings, stripe_webhook_secret=secret), emulator


def _listen_socket(settings: Settings) -> socket.socket:
    """The API's socket, bound before anything else starts (uvicorn serves on it): a busy
    PORT is said in one line, with nothing started yet."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise SystemExit(
            f"seatbill: HOST {settings.host!r} cannot be listened on ({exc})"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        busy = exc.errno == errno.EADDRINUSE
        raise SystemExit(
            f"seatbill: PORT {settings.port} "
            + ("is already in use" if busy else "cannot be listened on")
            + f" on {settings.host} ({exc.strerror or exc}); "
            + ("stop the process using it or set PORT to a free port" if busy else "set PORT")
        ) from None
    return sock


def _shown_url(database_url: str) -> str:
    """DATABASE_URL without its password, for messages."""
    parts = urlsplit(database_url)
    if parts.password is None:
        return database_url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _prepare_database(settings: Settings, *, apply_migrations: bool) -> None:
    """Reach the database (one line naming DATABASE_URL when that fails), then migrate it, or
    with --no-migrate refuse one that lacks migrations (`seatbill migrate` applies them)."""
    from seatbill.db import CONNECT_TIMEOUT, check_database, migrate, pending_migrations

    try:
        asyncio.run(check_database(settings.database_url))
    except Exception as exc:
        # Tortoise wraps the driver's error ("database ... does not exist") in a vaguer one.
        cause = exc.__cause__ or exc
        reason = " ".join(str(cause).split()) or type(cause).__name__
        if isinstance(exc, TimeoutError):
            reason = f"no answer within {CONNECT_TIMEOUT:g} seconds"
        raise SystemExit(
            f"seatbill: DATABASE_URL: cannot use the database at "
            f"{_shown_url(settings.database_url)}: {reason[:300]}"
        ) from None
    if apply_migrations:
        applied = asyncio.run(migrate(settings.database_url))
        log.info(
            "database %s: %s", settings.dialect, f"applied {applied}" if applied else "up to date"
        )
        return
    pending = asyncio.run(pending_migrations(settings.database_url))
    if pending:
        raise SystemExit(
            f"seatbill: the database at DATABASE_URL lacks {len(pending)} migration(s) "
            f"(from {pending[0]}); run `seatbill migrate` first (serve --no-migrate does not)"
        )
    log.info("database %s: up to date (not migrated: --no-migrate)", settings.dialect)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _workers(args: argparse.Namespace, settings: Settings) -> int:
    """--workers, else WEB_CONCURRENCY, else 1; more than one only on PostgreSQL."""
    raw = args.workers if args.workers is not None else os.environ.get("WEB_CONCURRENCY")
    source = "--workers" if args.workers is not None else "WEB_CONCURRENCY"
    if raw in (None, ""):
        return 1
    try:
        workers = int(raw)
    except ValueError:
        workers = 0
    if workers < 1:
        raise SystemExit(f"seatbill: {source}: expected a number of processes (1 or more)")
    if workers > 1 and settings.dialect != "postgres":
        raise SystemExit(
            f"seatbill: {source}={workers} needs PostgreSQL: SQLite is for one process "
            "(set DATABASE_URL=postgres://..., or serve with one worker)"
        )
    return workers


def worker_app() -> Starlette:
    """The app of one `serve --workers N` process (uvicorn's factory, in a spawned process):
    its settings come from the environment `cmd_serve` prepared (the emulator's URL and the
    webhook secret it registered, when billing is emulated)."""
    from seatbill.app import create_app

    settings = _settings()
    _logging(settings)
    return create_app(
        settings, catalog=_catalog(settings), gateway=_stripe_gateway(settings), settle_gc=True
    )


def cmd_serve(args: argparse.Namespace) -> int:
    # Settings first: they are checked before anything (metrics included) is set up.
    settings = _settings()
    _logging(settings)
    workers = _workers(args, settings)

    import uvicorn

    from seatbill.app import create_app

    sock = _listen_socket(settings)
    # uvicorn shuts down gracefully on SIGTERM and SIGINT (Ctrl+C), then raises the signal
    # again: exit through the finally blocks below (the emulator stops and writes its state
    # file), not by the default handlers (SIGINT's would print a KeyboardInterrupt traceback).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    try:
        catalog = _catalog(settings)
        fresh = _sqlite_is_new(settings)
        _prepare_database(settings, apply_migrations=not args.no_migrate)
        for default in settings.dev_defaults:
            log.warning("development default in use (set it for production): %s", default)
        settings, emulator = _start_billing(settings, catalog, fresh_database=fresh)
        try:
            log.info(
                "serving GraphQL on http://%s:%s/graphql%s",
                settings.host,
                settings.port,
                f" with {workers} worker processes" if workers > 1 else "",
            )
            options: dict[str, Any] = {
                "log_level": "info",
                "log_config": None,  # uvicorn's lines go through the handler _logging set up
                "proxy_headers": True,
                # No WebSocket server (none was installed before uvicorn[standard]): the API
                # has no subscriptions, and upgrade requests stay plain HTTP requests.
                "ws": "none",
                "forwarded_allow_ips": settings.forwarded_allow_ips,
            }
            if workers > 1:
                return 3 if _serve_workers(settings, workers, sock, options) else 0
            app = create_app(
                settings, catalog=catalog, gateway=_stripe_gateway(settings), settle_gc=True
            )
            server = uvicorn.Server(uvicorn.Config(app, **options))
            server.run(sockets=[sock])
            if not server.started:
                return 3  # uvicorn logged why (e.g. the app's start-up failed)
        finally:
            if emulator is not None:
                emulator.stop()
    finally:
        sock.close()
    return 0


def _serve_workers(
    settings: Settings, workers: int, sock: socket.socket, options: dict[str, Any]
) -> bool:
    """uvicorn's supervisor: ``workers`` spawned processes accept on the one listening socket
    (the kernel spreads the connections), each with its own app (worker_app) and database
    pool; a process that dies is replaced. True when a worker failed to start. The emulator, when billing is emulated, stays in
    this process and the workers reach it over HTTP like any Stripe client."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    # What the workers' Settings.from_env must see beyond this process's own environment.
    if settings.stripe_secret_key is None and settings.stripe_api_base is not None:
        os.environ["STRIPE_API_BASE"] = settings.stripe_api_base
    if settings.stripe_webhook_secret is not None:
        os.environ["STRIPE_WEBHOOK_SECRET"] = settings.stripe_webhook_secret
    config = uvicorn.Config("seatbill.cli:worker_app", factory=True, workers=workers, **options)
    supervisor = Multiprocess(config, sockets=[sock])
    supervisor.run()
    # A worker that could not start (the app's start-up failed) stops them all: say so.
    return any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)


def _settings_with_stripe() -> Settings | None:
    """Settings for a command that talks to Stripe (a key, or a running emulator's URL);
    None, said on stderr, without either."""
    settings = _settings()
    if settings.stripe_secret_key is None and settings.stripe_api_base is None:
        print(
            "seatbill: set STRIPE_SECRET_KEY (Stripe), or STRIPE_API_BASE (a running emulator)",
            file=sys.stderr,
        )
        return None
    return settings


def cmd_catalog_sync(args: argparse.Namespace) -> int:
    from seatbill.services.catalog_sync import sync_catalog
    from seatbill.services.stripe_gateway import GatewayError

    settings = _settings_with_stripe()
    if settings is None:
        return 2
    catalog = _catalog(settings)
    try:
        actions = asyncio.run(sync_catalog(_stripe_gateway(settings), catalog))
    except GatewayError as exc:
        print(f"seatbill: catalog sync failed: {exc.message}", file=sys.stderr)
        return 1
    for action in actions:
        print(action)
    changed = sum(action.changed for action in actions)
    print(f"{changed} change(s)" if changed else "Stripe already matches the catalog")
    return 1 if any(action.outcome in ("missing", "mismatch") for action in actions) else 0


def cmd_stripe_setup(args: argparse.Namespace) -> int:
    from seatbill.services.stripe_gateway import GatewayError
    from seatbill.services.stripe_setup import setup_stripe
    from seatbill.webhooks.handlers import handled_events

    settings = _settings_with_stripe()
    if settings is None:
        return 2
    try:
        report = asyncio.run(
            setup_stripe(_stripe_gateway(settings), settings.public_url, handled_events())
        )
    except GatewayError as exc:
        print(f"seatbill: stripe setup failed: {exc.message}", file=sys.stderr)
        return 1
    for action in report.actions:
        print(action)
    if report.webhook_secret:
        print(
            "Webhook signing secret (shown once; set it as STRIPE_WEBHOOK_SECRET): "
            f"{report.webhook_secret}"
        )
    print(
        f"{report.changed} change(s)"
        if report.changed
        else "Stripe is already set up; nothing changed"
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """The seat-sync worker and the webhook event processor as a process of their own (API
    processes: SEAT_SYNC_WORKER=external, WEBHOOK_PROCESSOR=external)."""
    settings = _settings()
    _logging(settings)
    if settings.stripe_secret_key is None and settings.stripe_api_base is None:
        print(
            "seatbill: the worker needs STRIPE_SECRET_KEY (Stripe) or STRIPE_API_BASE "
            "(a running emulator)",
            file=sys.stderr,
        )
        return 2
    asyncio.run(_run_worker(settings, _catalog(settings)))
    return 0


# An external event processor is never woken by the route: it looks this often.
EXTERNAL_PROCESSOR_POLL_SECONDS = 0.2


async def _run_worker(settings: Settings, catalog: Catalog) -> None:
    import signal

    from tortoise import Tortoise

    from seatbill.db import tortoise_config
    from seatbill.services.seat_sync import SeatSyncWorker
    from seatbill.webhooks.processor import ProcessorConfig, WebhookProcessor

    await Tortoise.init(config=tortoise_config(settings.database_url))
    gateway = _stripe_gateway(settings)
    worker = SeatSyncWorker(gateway, catalog, dialect=settings.dialect)
    processor = WebhookProcessor(
        settings,
        catalog,
        gateway,
        config=ProcessorConfig(
            max_attempts=settings.webhook_max_attempts,
            poll_seconds=EXTERNAL_PROCESSOR_POLL_SECONDS,
        ),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await worker.start()
    await processor.start()
    log.info(
        "seat-sync worker and webhook event processor running (database %s); stop with SIGTERM",
        settings.dialect,
    )
    periodic = _periodic_reconcile(settings, catalog, stop)
    try:
        await stop.wait()
    finally:
        if periodic is not None:  # a run cut short is safe: each write is its own
            periodic.cancel()
            await asyncio.gather(periodic, return_exceptions=True)
        log.info("seat-sync worker and webhook event processor stopping")
        await processor.stop()
        await worker.stop()
        await Tortoise.close_connections()


def cmd_events_list(args: argparse.Namespace) -> int:
    """The newest webhook events in the inbox (or only the DEAD ones), one a line."""
    from seatbill.webhooks import inbox

    settings = _settings()
    rows = asyncio.run(_with_database(settings, inbox.recent(dead=args.dead, limit=args.limit)))
    if not rows:
        print("no dead webhook events" if args.dead else "no webhook events")
        return 0
    for row in rows:
        print(
            "\t".join(
                [
                    row.id,
                    row.type,
                    row.outcome.value,
                    f"attempts={row.attempts}",
                    f"received={row.received_at.isoformat(timespec='seconds')}",
                    *([f"error={row.error}"] if row.error else []),
                ]
            )
        )
    return 0


def cmd_events_retry(args: argparse.Namespace) -> int:
    """Put events back in the inbox to be applied again (a DEAD one, say, once fixed)."""
    from seatbill.webhooks import inbox

    settings = _settings()
    failures = 0
    for event_id in args.ids:
        try:
            row = asyncio.run(_with_database(settings, inbox.retry(event_id)))
        except LookupError:
            print(f"seatbill: no webhook event {event_id} in the inbox", file=sys.stderr)
            failures += 1
            continue
        except inbox.NotRetryable as exc:
            print(f"seatbill: cannot retry {event_id}: {exc}", file=sys.stderr)
            failures += 1
            continue
        print(f"{row.id}: queued to be applied again ({row.type})")
    return 1 if failures else 0


async def _with_database(settings: Settings, work: Awaitable[T]) -> T:
    from tortoise import Tortoise

    from seatbill.db import quiet_shutdown_line, tortoise_config

    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await work
    finally:
        with quiet_shutdown_line():
            await Tortoise.close_connections()


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Compare the mirror with Stripe (docs/reconcile.md). Exit 0: no drift, or all fixed;
    1: drift left; 2: an error (no Stripe configured, Stripe unreachable or refusing)."""
    import json
    import uuid

    from seatbill.services.stripe_gateway import GatewayError

    settings = _settings_with_stripe()
    if settings is None:
        return 2
    catalog = _catalog(settings)
    try:
        workspaces = [uuid.UUID(raw) for raw in args.workspace] if args.workspace else None
    except ValueError:
        print("seatbill: --workspace: expected a workspace id (a UUID)", file=sys.stderr)
        return 2
    progress = _ProgressBar("reconcile") if sys.stderr.isatty() and not args.json else None
    try:
        report = asyncio.run(_reconcile(settings, catalog, args.fix, workspaces, progress))
    except GatewayError as exc:
        print(f"seatbill: reconcile: {exc.message}", file=sys.stderr)
        return 2
    finally:
        if progress is not None:
            progress.close()
    if args.json:
        print(json.dumps(report.as_json(), indent=2, sort_keys=True))
    else:
        for drift in report.drifts:
            print(drift.line())
        for error in report.errors:
            print(f"error: {error}")
        fixed = len(report.drifts) - len(report.unfixed)
        print(
            f"{report.workspaces} workspace(s) checked: {len(report.drifts)} drift(s)"
            + (f", {fixed} fixed" if args.fix else "")
            + (f", {len(report.errors)} error(s)" if report.errors else "")
        )
    if report.errors:
        return 2
    return 1 if report.unfixed else 0


class _ProgressBar:
    """A one-line progress bar on stderr (only drawn on a terminal)."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{total} workspaces")
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()


async def _reconcile(
    settings: Settings,
    catalog: Catalog,
    fix: bool,
    workspaces: list[uuid.UUID] | None,
    progress: _ProgressBar | None,
) -> Report:
    from tortoise import Tortoise

    from seatbill.db import quiet_shutdown_line, tortoise_config
    from seatbill.services.reconcile import reconcile

    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await reconcile(
            _stripe_gateway(settings),
            catalog,
            fix=fix,
            workspace_ids=workspaces,
            dunning_max_attempts=settings.dunning_max_attempts,
            progress=progress,
        )
    finally:
        with quiet_shutdown_line():
            await Tortoise.close_connections()


def _periodic_reconcile(
    settings: Settings, catalog: Catalog, stop: asyncio.Event
) -> asyncio.Task[None] | None:
    """With RECONCILE_EVERY: `reconcile --fix` in the worker, every that many seconds."""
    from seatbill.services.reconcile import run_periodically

    if not settings.reconcile_every_seconds:
        return None
    log.info(
        "reconciling with Stripe every %ss (RECONCILE_EVERY)", settings.reconcile_every_seconds
    )
    return asyncio.create_task(
        run_periodically(
            _stripe_gateway(settings),
            catalog,
            settings.reconcile_every_seconds,
            stop,
            dunning_max_attempts=settings.dunning_max_attempts,
        ),
        name="reconcile",
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    from seatbill.db import migrate

    settings = _settings()
    _logging(settings)
    applied = asyncio.run(migrate(settings.database_url))
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """The SDL of the schema `seatbill serve` answers with (no database or Stripe needed)."""
    from seatbill.schema import build_schema

    sys.stdout.write(build_schema(_settings()).as_str().rstrip("\n") + "\n")
    return 0


def cmd_makemigrations(args: argparse.Namespace) -> int:
    from seatbill.db import make_migrations

    for dialect, name in make_migrations(args.name).items():
        print(f"{dialect}: {name or 'no changes'}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from seatbill.auth import issue_development_token

    settings = _settings()
    ttl: int = settings.jwt_max_ttl_seconds if args.ttl is None else args.ttl
    if ttl < 1:
        print("seatbill: --ttl must be at least 1 second", file=sys.stderr)
        return 2
    if ttl > settings.jwt_max_ttl_seconds:
        print(
            f"seatbill: --ttl {ttl} capped at JWT_MAX_TTL ({settings.jwt_max_ttl_seconds} s): "
            "the server refuses tokens that live longer",
            file=sys.stderr,
        )
        ttl = settings.jwt_max_ttl_seconds
    print(issue_development_token(settings, args.sub, args.email, args.name, ttl))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `seatbill` command line (`seatbill emulator ...` has the emulator's own parser)."""
    parser = argparse.ArgumentParser(prog="seatbill", description="Per-seat billing on Stripe.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate the database and serve the API")
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply migrations (run `seatbill migrate` once per deploy instead); "
        "refuse to start on a database that lacks some",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="serve with N processes sharing the port, for machines with several cores "
        "(default: WEB_CONCURRENCY, else 1; more than one needs PostgreSQL)",
    )
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser(
        "worker",
        help="run the seat-sync worker and the webhook event processor (with "
        "SEAT_SYNC_WORKER=external and WEBHOOK_PROCESSOR=external on the API)",
    ).set_defaults(func=cmd_worker)
    events = sub.add_parser("events", help="the webhook inbox: list events, retry DEAD ones")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    listing = events_sub.add_parser("list", help="the newest webhook events, newest first")
    listing.add_argument("--dead", action="store_true", help="only the DEAD events")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.set_defaults(func=cmd_events_list)
    retry = events_sub.add_parser(
        "retry", help="apply events again (a DEAD event once its cause is fixed)"
    )
    retry.add_argument("ids", nargs="+", metavar="ID", help="Stripe event ids (evt_...)")
    retry.set_defaults(func=cmd_events_retry)
    sub.add_parser(
        "schema", help="print the GraphQL schema (SDL) the API serves; `make schema` commits it"
    ).set_defaults(func=cmd_schema)
    make = sub.add_parser("makemigrations", help="generate migrations for every database")
    make.add_argument("name", nargs="?", default="update")
    make.set_defaults(func=cmd_makemigrations)
    token = sub.add_parser("token", help="print a development token signed with JWT_SECRET")
    token.add_argument("--sub", required=True)
    token.add_argument("--email")
    token.add_argument("--name")
    token.add_argument(
        "--ttl", type=int, help="lifetime in seconds (default and at most JWT_MAX_TTL, 24 h)"
    )
    token.set_defaults(func=cmd_token)
    sub.add_parser("emulator", help="run the offline Stripe emulator (see docs/emulator.md)")
    catalog = sub.add_parser("catalog", help="the plans catalog in Stripe")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    catalog_sub.add_parser(
        "sync", help="create or update Stripe products and prices from plans.toml (idempotent)"
    ).set_defaults(func=cmd_catalog_sync)
    reconcile = sub.add_parser(
        "reconcile",
        help="compare the mirror with Stripe and report each drift (--fix repairs it); "
        "exit 0: none or all fixed, 1: drift left, 2: error; see docs/reconcile.md",
    )
    reconcile.add_argument(
        "--fix",
        action="store_true",
        help="re-mirror drifted objects from Stripe and queue seat sync for quantity drift",
    )
    reconcile.add_argument("--json", action="store_true", help="print a JSON report")
    reconcile.add_argument(
        "--workspace",
        action="append",
        metavar="ID",
        help="only this workspace (repeatable); default: every workspace with a customer",
    )
    reconcile.set_defaults(func=cmd_reconcile)
    stripe_cmd = sub.add_parser("stripe", help="the Stripe account settings Seatbill needs")
    stripe_sub = stripe_cmd.add_subparsers(dest="stripe_command", required=True)
    stripe_sub.add_parser(
        "setup",
        help="create or update the webhook endpoint (PUBLIC_URL/webhooks/stripe) and the "
        "customer portal configuration (idempotent); see docs/stripe-setup.md",
    ).set_defaults(func=cmd_stripe_setup)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "emulator":
        from stripe_emulator.cli import main as emulator_main

        return emulator_main(argv[1:], prog="seatbill emulator")
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
