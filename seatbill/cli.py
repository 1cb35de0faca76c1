"""The `seatbill` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from seatbill.config import ConfigError, Settings

log = logging.getLogger("seatbill")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        print(f"seatbill: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from seatbill.app import create_app
    from seatbill.catalog import CatalogError
    from seatbill.db import migrate

    _logging()
    settings = _settings()
    for default in settings.dev_defaults:
        log.warning("development default in use (set it for production): %s", default)
    try:
        app = create_app(settings)
    except CatalogError as exc:
        print(f"seatbill: plans catalog error: {exc}", file=sys.stderr)
        return 2
    applied = asyncio.run(migrate(settings.database_url))
    log.info("database %s: %s", settings.dialect, f"applied {applied}" if applied else "up to date")
    log.info("serving GraphQL on http://%s:%s/graphql", settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from seatbill.db import migrate

    _logging()
    settings = _settings()
    applied = asyncio.run(migrate(settings.database_url))
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    return 0


def cmd_makemigrations(args: argparse.Namespace) -> int:
    from seatbill.db import make_migrations

    for dialect, name in make_migrations(args.name).items():
        print(f"{dialect}: {name or 'no changes'}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from seatbill.auth import issue_development_token

    settings = _settings()
    print(issue_development_token(settings, args.sub, args.email, args.name, args.ttl))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "emulator":
        from seatbill.emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    parser = argparse.ArgumentParser(prog="seatbill", description="Per-seat billing on Stripe.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="migrate the database and serve the API").set_defaults(
        func=cmd_serve
    )
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    make = sub.add_parser("makemigrations", help="generate migrations for every database")
    make.add_argument("name", nargs="?", default="update")
    make.set_defaults(func=cmd_makemigrations)
    token = sub.add_parser("token", help="print a development token signed with JWT_SECRET")
    token.add_argument("--sub", required=True)
    token.add_argument("--email")
    token.add_argument("--name")
    token.add_argument("--ttl", type=int, default=7 * 24 * 3600, help="seconds (default 7 days)")
    token.set_defaults(func=cmd_token)
    sub.add_parser("emulator", help="run the offline Stripe emulator (see docs/emulator.md)")
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
