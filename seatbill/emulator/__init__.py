"""Offline Stripe emulator for development and tests (never used in production).

Start it in-process with :class:`EmulatorServer` or from the command line with
``seatbill emulator``; see ``docs/emulator.md``.
"""

from __future__ import annotations

from seatbill.emulator.server import EmulatorServer, create_app

__all__ = ["EmulatorServer", "create_app"]
