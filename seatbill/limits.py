"""Request body size limit as a pure ASGI middleware: 413 before the app reads too much."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {
                "errors": [
                    {
                        "message": "Request body too large",
                        "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                    }
                ]
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# GraphQL request bodies ------------------------------------------------------------------

# A request is {"query", "variables", "operationName", "extensions"}; this API's inputs nest a
# few levels and take no long lists, so these bounds leave room and stop hostile bodies.
MAX_JSON_DEPTH = 32
MAX_JSON_ITEMS = 1000


class BadBody(ValueError):
    """A request body refused before GraphQL sees it; the message is safe to answer."""


def _refuse_constant(name: str) -> Any:
    raise BadBody(f"The request body is not valid JSON ({name} is not a JSON number)")


def parse_request_json(data: str | bytes) -> dict[str, Any]:
    """The JSON object of a GraphQL-over-HTTP request, or BadBody: invalid UTF-8 (lone
    surrogates included), invalid JSON, a top level that is not an object, nesting deeper
    than MAX_JSON_DEPTH, or an array or object with more than MAX_JSON_ITEMS entries."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise BadBody("The request body is not valid UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except BadBody:
        raise
    except RecursionError:
        raise BadBody(f"The request body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # JSONDecodeError, and integers too long to convert
        raise BadBody("The request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadBody("The request body must be a JSON object")
    _check_shape(value)
    return value


def _check_shape(root: dict[str, Any]) -> None:
    """Depth, sizes and strings of a parsed body, without recursion."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise BadBody(f"The request body nests deeper than {MAX_JSON_DEPTH} levels")
        if len(value) > MAX_JSON_ITEMS:
            raise BadBody(
                f"The request body has an array or object of more than {MAX_JSON_ITEMS} entries"
            )
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escaped as \ud800
        raise BadBody("The request body is not valid Unicode") from None
