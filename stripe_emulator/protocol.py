"""Stripe's wire protocol: bracket-syntax forms, errors, list envelopes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

Obj = dict[str, Any]

DOC_BASE = "https://stripe.com/docs/error-codes"


class StripeError(Exception):
    """An error answered in Stripe's JSON shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.decline_code = decline_code

    def body(self, request_id: str | None = None) -> Obj:
        err: Obj = {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
        }
        if self.code:
            err["doc_url"] = f"{DOC_BASE}#{self.code.replace('_', '-')}"
        if self.decline_code:
            err["decline_code"] = self.decline_code
        if request_id:
            err["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": err}


def not_found(kind: str, ident: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{ident}'", code="resource_missing", param=param)


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid(param: str, message: str) -> StripeError:
    return StripeError(400, message, code="parameter_invalid", param=param)


def _split_key(key: str) -> list[str]:
    if "[" not in key:
        return [key]
    head, _, rest = key.partition("[")
    parts = [head]
    for piece in rest.split("["):
        parts.append(piece.rstrip("]"))
    return parts


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        converted = {k: _listify(v) for k, v in value.items()}
        if converted and all(k.isdigit() or k == "" for k in converted):
            if "" in converted:
                return converted[""]
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return value


def parse_form(pairs: Iterable[tuple[str, str]]) -> Obj:
    """Turn ``items[0][price]=x&expand[]=y`` style pairs into nested dicts and lists."""
    root: Obj = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "" and not last:
                part = str(len(node))
            if last:
                if part == "":
                    bucket = node.setdefault("", [])
                    if isinstance(bucket, list):
                        bucket.append(value)
                else:
                    node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    result = _listify(root)
    return result if isinstance(result, dict) else {}


def parse_body(body: bytes, content_type: str) -> Obj:
    if not body:
        return {}
    if "json" in content_type:
        data = json.loads(body)
        return data if isinstance(data, dict) else {}
    return parse_form(parse_qsl(body.decode(), keep_blank_values=True))


def parse_query(query: str) -> Obj:
    return parse_form(parse_qsl(query, keep_blank_values=True))


# ---- typed parameter access -------------------------------------------------


def get_str(params: Obj, name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str):
        raise invalid(name, f"Invalid string: {name}")
    return value


def req_str(params: Obj, name: str) -> str:
    value = get_str(params, name, required=True)
    assert value is not None
    return value


def get_int(
    params: Obj, name: str, *, required: bool = False, label: str | None = None
) -> int | None:
    value = params.get(name)
    label = label or name
    if value is None or value == "":
        if required:
            raise missing(label)
        return None
    if isinstance(value, bool):
        raise StripeError(
            400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=label
        )
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise StripeError(
            400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=label
        ) from None


def get_bool(params: Obj, name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    raise StripeError(
        400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name
    )


def get_dict(params: Obj, name: str) -> Obj:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(name, f"Invalid hash: {name}")
    return value


def get_list(params: Obj, name: str) -> list[Any]:
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def merge_metadata(current: Obj, update: Any) -> Obj:
    """Stripe's metadata semantics: keys merge, "" deletes a key, "" for the whole hash clears."""
    if update is None:
        return current
    if update == "":
        return {}
    if not isinstance(update, dict):
        raise invalid("metadata", "Invalid hash: metadata")
    merged = dict(current)
    for key, value in update.items():
        if value == "" or value is None:
            merged.pop(key, None)
        else:
            merged[str(key)] = str(value)
    return merged


def list_envelope(data: list[Obj], url: str, has_more: bool) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def paginate(
    objects: list[Obj], params: Obj, url: str, render: Callable[[Obj], Obj] | None = None
) -> Obj:
    """Newest first, ``limit`` (1..100, default 10), ``starting_after`` / ``ending_before``.

    ``render`` turns the stored objects of the page (only those) into their public JSON.
    """
    limit = get_int(params, "limit") or 10
    if limit < 1 or limit > 100:
        raise invalid("limit", "Invalid limit: must be between 1 and 100")
    after = get_str(params, "starting_after")
    before = get_str(params, "ending_before")
    ids = [o["id"] for o in objects]
    if after is not None:
        if after not in ids:
            raise not_found("object", after, "starting_after")
        start = ids.index(after) + 1
        page = objects[start : start + limit]
        has_more = start + limit < len(objects)
    elif before is not None:
        if before not in ids:
            raise not_found("object", before, "ending_before")
        end = ids.index(before)
        begin = max(0, end - limit)
        page = objects[begin:end]
        has_more = begin > 0
    else:
        page = objects[:limit]
        has_more = limit < len(objects)
    if render is not None:
        page = [render(o) for o in page]
    return list_envelope(page, url, has_more)
