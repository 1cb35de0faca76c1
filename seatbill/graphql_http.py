"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/) for the GraphQL view:
media types and status codes, GET for queries only, Apollo's automatic persisted queries, and
the self-hosted GraphiQL page."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.exceptions import MissingQueryError
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from seatbill.config import Settings

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

GRAPHIQL_DIR = Path(__file__).parent / "static" / "graphiql"
GRAPHIQL_ASSETS = GRAPHIQL_DIR / "vendor"
ASSETS_PATH = "/graphql/assets"


@lru_cache(maxsize=256)  # clients send a handful of Accept headers, each on every request
def negotiate(accept: str | None) -> str:
    """The response media type for an Accept header: application/graphql-response+json when
    the client prefers it (or ranks it level with application/json), application/json
    otherwise, including when Accept is missing or names neither (the spec's legacy rule)."""
    best, best_rank = JSON, (-1.0, 0)
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if media == GRAPHQL_RESPONSE_JSON:
            rank = (q, 1)
        elif media in {JSON, "application/*", "*/*"}:
            rank = (q, 0)
        else:
            continue
        if rank > best_rank:
            best, best_rank = (GRAPHQL_RESPONSE_JSON if rank[1] else JSON), rank
    return best


def json_response(
    body: object, media_type: str, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type=f"{media_type}; charset=utf-8",
    )


def error_response(
    message: str,
    media_type: str,
    status: int,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code}
    return json_response({"errors": [error]}, media_type, status, headers)


class PersistedQueries:
    """Apollo's automatic persisted queries: SHA-256 hash -> query text, least recently used
    first out once ``size`` entries are held (per process)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._queries: OrderedDict[str, str] = OrderedDict()

    def get(self, sha256: str) -> str | None:
        query = self._queries.get(sha256)
        if query is not None:
            self._queries.move_to_end(sha256)
        return query

    def put(self, sha256: str, query: str) -> None:
        if self.size <= 0:
            return
        self._queries[sha256] = query
        self._queries.move_to_end(sha256)
        while len(self._queries) > self.size:
            self._queries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._queries)


class GraphQLView(Protocol):
    """What this module needs of the GraphQL view (seatbill.app.GraphQLApp)."""

    settings: Settings
    schema: BaseSchema
    persisted_queries: PersistedQueries

    def parse_json(self, data: str | bytes) -> Any: ...

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Any: ...

    async def process_result(self, request: Request, result: ExecutionResult) -> Any: ...


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def graphiql_page(root_path: str) -> str:
    page = (GRAPHIQL_DIR / "index.html").read_text(encoding="utf-8")
    return page.replace("{{ASSETS}}", root_path + ASSETS_PATH)


def _wants_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "extensions" not in request.query_params
        and ("text/html" in accept or "*/*" in accept)
    )


async def _params(view: GraphQLView, request: Request) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        for name in ("variables", "extensions"):
            if name in params:
                params[name] = view.parse_json(params[name]) if params[name] else None
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise HTTPException(400, "Unsupported content type")
    body = await request.body()
    if not body.strip():
        raise HTTPException(400, "The request body is empty")
    data = view.parse_json(body)
    if isinstance(data, list):
        raise HTTPException(400, "Batching is not enabled")
    if not isinstance(data, dict):
        raise HTTPException(400, "The request body must be a JSON object")
    return data


def _check(params: Mapping[str, Any]) -> None:
    for name, kind, label in (
        ("query", str, "a string"),
        ("operationName", str, "a string"),
        ("variables", dict, "an object"),
        ("extensions", dict, "an object"),
    ):
        value = params.get(name)
        if value is not None and not isinstance(value, kind):
            raise HTTPException(
                400, f"The GraphQL operation's `{name}` must be {label} or null, if provided."
            )


def _persisted_query(
    view: GraphQLView, query: str | None, extensions: Mapping[str, Any] | None, media: str
) -> tuple[str | None, str | None]:
    """The query to run and, when the client sent both, the hash to register it under."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return query, None
    sha = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise HTTPException(400, "Unsupported persisted query version")
    if not isinstance(sha, str) or len(sha) != 64:
        raise HTTPException(400, "persistedQuery.sha256Hash must be a SHA-256 hex digest")
    sha = sha.lower()
    if query is None:
        known = view.persisted_queries.get(sha)
        if known is None:
            # Apollo Server's answer; its clients then retry with the query and the hash.
            raise _Refused(
                error_response(
                    "PersistedQueryNotFound",
                    media,
                    404 if media == GRAPHQL_RESPONSE_JSON else 200,
                    "PERSISTED_QUERY_NOT_FOUND",
                )
            )
        return known, None
    if hashlib.sha256(query.encode()).hexdigest() != sha:
        raise HTTPException(400, "provided sha does not match query")
    return query, sha


async def serve_graphql(view: GraphQLView, request: Request) -> Response:
    media = negotiate(request.headers.get("accept"))
    if _wants_ide(request):
        if not view.settings.graphiql:
            return error_response("Not Found", media, 404)
        return HTMLResponse(graphiql_page(request.scope.get("root_path", "")))
    try:
        return await _execute(view, request, media)
    except HTTPException as exc:
        return error_response(exc.reason, media, exc.status_code)
    except _Refused as refused:
        return refused.response


async def _execute(view: GraphQLView, request: Request, media: str) -> Response:
    params = await _params(view, request)
    _check(params)
    query, register_as = _persisted_query(
        view, params.get("query"), params.get("extensions"), media
    )
    get = request.method == "GET"
    allowed = {OperationType.QUERY} if get else {OperationType.QUERY, OperationType.MUTATION}
    context = await view.get_context(request, Response())
    try:
        result = await view.schema.execute(
            query,
            variable_values=params.get("variables"),
            context_value=context,
            operation_name=params.get("operationName"),
            allowed_operation_types=allowed,
            operation_extensions=params.get("extensions"),
        )
    except InvalidOperationTypeError as exc:
        if get:
            raise _Refused(
                error_response(
                    exc.as_http_error_reason("GET"), media, 405, headers={"Allow": "POST"}
                )
            ) from None
        raise HTTPException(400, exc.as_http_error_reason("POST")) from None
    except CannotGetOperationTypeError as exc:
        raise HTTPException(400, exc.as_http_error_reason()) from None
    except MissingQueryError:
        raise HTTPException(400, "No GraphQL query found in the request") from None
    body: dict[str, Any] = dict(await view.process_result(request, result))
    # A request error (the document does not parse or validate, variables do not coerce): no
    # data, and no error has a path. The legacy media type answers it with 200, the new one
    # with 400 and without a data entry.
    request_error = (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or [])
    )
    if register_as is not None and not request_error:
        view.persisted_queries.put(register_as, query or "")
    if request_error and media == GRAPHQL_RESPONSE_JSON:
        body.pop("data", None)
        return json_response(body, media, 400)
    return json_response(body, media, 200)
