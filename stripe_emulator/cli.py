"""``stripe-emulator`` (or ``seatbill emulator``) ``[--host H] [--port P] [--webhook-url URL] [--webhook-secret whsec_...]``"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from stripe_emulator.persist import StateFileError
from stripe_emulator.server import EmulatorServer

log = logging.getLogger("stripe_emulator")


def parser(prog: str = "stripe-emulator") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Offline Stripe emulator (test mode only).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=12111)
    p.add_argument("--webhook-url", default=None, help="deliver every event to this URL")
    p.add_argument(
        "--webhook-secret", default=None, help="signing secret for --webhook-url (whsec_...)"
    )
    p.add_argument("--shuffle-webhooks", action="store_true", help="deliver webhooks out of order")
    p.add_argument(
        "--duplicate-webhooks", type=float, default=0.0, help="share of deliveries sent twice"
    )
    p.add_argument(
        "--state-file",
        default=None,
        help="keep the state in this JSON file across restarts (loaded at start, kept current)",
    )
    p.add_argument("--log-level", default="info")
    return p


def main(argv: list[str], prog: str = "stripe-emulator") -> int:
    args = parser(prog).parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    secret = args.webhook_secret
    if args.webhook_url and not secret:
        secret = "whsec_emulator_default_secret"
        log.warning("no --webhook-secret given; signing webhooks with %s", secret)
    try:
        server = EmulatorServer(
            args.host,
            args.port,
            webhook_url=args.webhook_url,
            webhook_secret=secret,
            shuffle_webhooks=args.shuffle_webhooks,
            duplicate_webhooks=args.duplicate_webhooks,
            log_level="warning",
            state_path=args.state_file,
        )
    except StateFileError as exc:
        log.error("%s", exc)
        return 1
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        log.error("could not start the Stripe emulator on %s:%s: %s", args.host, args.port, exc)
        return 1
    log.info("Stripe EMULATOR (offline, test mode, not real Stripe) listening on %s", server.url)
    if args.webhook_url:
        log.info("delivering every event to %s", args.webhook_url)
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        done.wait()
    finally:
        server.stop()
        log.info("Stripe emulator stopped")
    return 0


def run() -> int:
    """The ``stripe-emulator`` console script."""
    return main(sys.argv[1:])
