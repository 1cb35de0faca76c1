"""An optional state file: the emulator's data survives a restart.

Loaded once at start; written (atomically: a temporary file beside it, then a rename) a
moment after anything may have changed and at stop. It holds what :class:`State` holds that
is data: objects (customers, subscriptions, invoices, events, webhook endpoints with their
signing secrets, test clocks, ...), invoice previews, completed idempotent requests, payment
method behaviours, the API version and a clock override. Not kept: locks, threads, webhook
deliveries still in flight, faults.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from stripe_emulator.store import IdempotentEntry, State

log = logging.getLogger("stripe_emulator")

FORMAT = 1


class StateFileError(Exception):
    """The state file exists but cannot be read back (the message names the file)."""


def dump_state(state: State) -> dict[str, Any]:
    """The state's data as JSON-ready values: the live containers, so serialize them while
    holding ``state.lock``."""
    with state.lock:
        return {
            "format": FORMAT,
            "api_version": state.api_version,
            "clock_override": state.clock_override,
            "objects": state.objects,
            "previews": state.previews,
            "payment_methods": state.payment_methods,
            # Requests still running are not saved: after a restart the key runs afresh.
            "idempotency": [
                [key, idem, entry.fingerprint, entry.status, entry.body.decode()]
                for (key, idem), entry in state.idempotency.items()
                if entry.done
            ],
        }


def load_state(state: State, data: dict[str, Any]) -> None:
    """Replace the state's data with ``data`` (as written by :func:`dump_state`)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown format {data.get('format')!r} (expected {FORMAT})")
    with state.lock:
        state.api_version = str(data["api_version"])
        override = data.get("clock_override")
        state.clock_override = int(override) if override is not None else None
        state.objects = dict(data["objects"])
        state.previews = dict(data["previews"])
        state.payment_methods = dict(data["payment_methods"])
        state.idempotency = {
            (str(key), str(idem)): IdempotentEntry(str(fp), int(status), str(body).encode(), True)
            for key, idem, fp, status, body in data["idempotency"]
        }


class StateFile:
    """Keeps ``state`` in ``path``: :meth:`load` at start, :meth:`changed` after anything may
    have changed (a background thread writes ``debounce`` seconds later, only when the data
    differs from the last write), :meth:`close` at stop (a final write)."""

    def __init__(self, path: str | os.PathLike[str], state: State, debounce: float = 0.2) -> None:
        self.path = Path(path)
        self.state = state
        self.debounce = debounce
        self._dirty = threading.Event()
        self._closing = threading.Event()
        self._write_lock = threading.Lock()
        self._last = ""
        self._thread: threading.Thread | None = None

    def load(self) -> bool:
        """Read the file into the state; False when there is no file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StateFileError(
                f"cannot read the emulator state file {self.path}: {exc}"
            ) from None
        try:
            load_state(self.state, json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise StateFileError(
                f"the emulator state file {self.path} is not readable ({exc}); "
                "delete it to start the emulator empty"
            ) from None
        self._last = text
        return True

    def start(self) -> None:
        if self._thread is None:
            self._closing.clear()
            self._thread = threading.Thread(
                target=self._run, name="emulator-state-file", daemon=True
            )
            self._thread.start()

    def changed(self) -> None:
        self._dirty.set()

    def save(self) -> bool:
        """Write now if the data differs from the last write; True when written."""
        with self._write_lock:
            with self.state.lock:  # dump_state's values are the live dicts
                text = json.dumps(dump_state(self.state), separators=(",", ":"))
            if text == self._last:
                return False
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._last = text
            return True

    def close(self) -> None:
        """Stop the background writer and write a last time."""
        self._closing.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.save()

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            # Let a burst of requests settle into one write; close() writes the last one.
            if self._closing.wait(self.debounce):
                return
            self._dirty.clear()
            try:
                self.save()
            except Exception:
                log.exception("could not write the emulator state file %s", self.path)
