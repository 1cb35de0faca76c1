"""Logging: one format for seatbill, uvicorn and the in-process Stripe emulator.

``LOG_FORMAT=json`` writes one JSON object a line (timestamp, level, logger, message, component,
request_id while a request is served, and any ``extra=`` fields); ``text`` one readable line
with the same facts. Without LOG_FORMAT: text when stderr is a terminal, else json.

Every line logged while a request is served carries its request id: :class:`RequestIdMiddleware`
takes a sane incoming ``X-Request-Id`` or makes one, keeps it in a context variable for the
request, and echoes it in the response. uvicorn's access line is written inside the request's
last ``send``, so it carries the id too.

The emulator that ``seatbill serve`` starts beside the API runs uvicorn in a thread named
``stripe-emulator``: its uvicorn lines are told apart by that thread. Its lifecycle and access
lines (below WARNING) are left out, as its own server leaves them out when it runs alone; its
warnings and its own loggers (``stripe_emulator*``) are labelled as the emulator's.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("seatbill_request_id", default=None)
REQUEST_ID_HEADER = "X-Request-Id"
# What an incoming X-Request-Id may be: short, printable, nothing a log reader could trip on.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")

EMULATOR_THREAD = "stripe-emulator"  # stripe_emulator.server names its uvicorn thread so
EMULATOR_COMPONENT = "stripe-emulator"
SEATBILL_COMPONENT = "seatbill"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# Libraries whose INFO lines are Stripe's internals (request URLs, ids): warnings only.
QUIET_LOGGERS = ("stripe", "httpx", "httpcore")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}


def current_request_id() -> str | None:
    return REQUEST_ID.get()


def accepted_request_id(raw: str | None) -> str:
    """The incoming id when it is sane, else a new one."""
    if raw is not None and _SANE_REQUEST_ID.fullmatch(raw):
        return raw
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI (the app runs in the request's own task, so the context variable reaches
    every line logged while serving it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = None
        for key, value in scope.get("headers", []):
            if key == b"x-request-id":
                raw = value.decode("latin-1")
                break
        request_id = accepted_request_id(raw)
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


def _from_emulator_server(record: logging.LogRecord) -> bool:
    return record.name.startswith("uvicorn") and record.threadName == EMULATOR_THREAD


def component(record: logging.LogRecord) -> str:
    if record.name.startswith("stripe_emulator") or _from_emulator_server(record):
        return EMULATOR_COMPONENT
    return SEATBILL_COMPONENT


def logger_name(record: logging.LogRecord) -> str:
    """The name shown: uvicorn's lifecycle lines come from "uvicorn.error" although most are
    no errors, so they show as "uvicorn"; the emulator's uvicorn as "stripe_emulator.server"."""
    if _from_emulator_server(record):
        return "stripe_emulator.server"
    if record.name == "uvicorn.error":
        return "uvicorn"
    return record.name


class RecordFilter(logging.Filter):
    """On the handler: adds ``request_id``; leaves out the emulator's uvicorn lines below
    WARNING (its start, stop and access lines, which would read as the API's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _from_emulator_server(record) and record.levelno < logging.WARNING:
            return False
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


# The last second formatted: every access line of a busy second shares it (strftime was a few
# per cent of a read's CPU).
_second: tuple[datetime, str] = (datetime.min.replace(tzinfo=UTC), "")


def _timestamp(record: logging.LogRecord) -> str:
    global _second
    stamp = datetime.fromtimestamp(record.created, UTC)
    whole = stamp.replace(microsecond=0)
    if whole != _second[0]:
        _second = (whole, whole.strftime("%Y-%m-%dT%H:%M:%S."))
    return f"{_second[1]}{stamp.microsecond // 1000:03d}Z"


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """uvicorn's access line: (client, method, path, http version, status)."""
    args = record.args
    if record.name != "uvicorn.access" or not isinstance(args, tuple) or len(args) != 5:
        return {}
    client, method, path, _, status = args
    return {"client": client, "method": method, "path": path, "status": status}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": logger_name(record),
            "message": record.getMessage(),
            "component": component(record),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            out["request_id"] = request_id
        out.update(_access_fields(record))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-01-31T12:00:00.000Z INFO [stripe-emulator] logger [request_id]: message``"""

    def format(self, record: logging.LogRecord) -> str:
        label = "[stripe-emulator] " if component(record) == EMULATOR_COMPONENT else ""
        request_id = getattr(record, "request_id", None)
        rid = f" [{request_id}]" if request_id else ""
        line = (
            f"{_timestamp(record)} {record.levelname} {label}{logger_name(record)}{rid}: "
            f"{record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def resolve_format(log_format: str | None, stream: TextIO | None = None) -> str:
    """ "json" or "text"; unset: text on a terminal, json otherwise."""
    if log_format in ("json", "text"):
        return log_format
    stream = stream or sys.stderr
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):
        return "json"


def configure_logging(
    log_format: str | None, *, level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """One handler on the root logger for everything, uvicorn's loggers included (pass
    ``log_config=None`` to uvicorn so it keeps them). Calling it again replaces the handler."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.set_name("seatbill")
    handler.setFormatter(
        JsonFormatter() if resolve_format(log_format, stream) == "json" else TextFormatter()
    )
    handler.addFilter(RecordFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "seatbill":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
