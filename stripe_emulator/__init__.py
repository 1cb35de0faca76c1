"""Offline Stripe emulator for development and tests (never used in production).

It is its own package and never imports the service it checks: everything it does comes
from Stripe's documentation.

Start it in-process with :class:`EmulatorServer` or from the command line with
``stripe-emulator`` (or ``seatbill emulator``); see ``docs/emulator.md``.
"""

from __future__ import annotations

from stripe_emulator.persist import StateFileError
from stripe_emulator.server import EmulatorServer, create_app

__all__ = ["EmulatorServer", "StateFileError", "create_app"]
