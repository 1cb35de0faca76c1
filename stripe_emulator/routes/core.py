"""Routing of ``/v1/...`` requests to handlers, plus ``expand`` of the answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stripe_emulator import objects
from stripe_emulator.protocol import Obj, StripeError
from stripe_emulator.store import State


@dataclass
class Ctx:
    state: State
    method: str
    path: str
    params: Obj
    args: tuple[str, ...]
    base_url: str

    @property
    def arg(self) -> str:
        return self.args[0]

    def now(self, customer_id: str | None = None) -> int:
        return self.state.customer_now(customer_id)


Handler = Callable[[Ctx], Obj]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # as registered, e.g. "/v1/subscriptions/{id}"
    regex: re.Pattern[str]
    handler: Handler


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = "^" + re.sub(r"\{\w+\}", r"([^/]+)", pattern) + "$"
        self._routes.append(Route(method.upper(), pattern, re.compile(regex), handler))

    def retrieve(self, pattern: str, kind: str) -> None:
        """``GET pattern`` answers the ``kind`` object whose id is the path's argument."""
        self.add("GET", pattern, lambda c: objects.render(c.state, c.state.get(c.arg, kind)))

    def routes(self) -> list[Route]:
        return list(self._routes)

    def match(self, method: str, path: str) -> tuple[Route, tuple[str, ...]]:
        for route in self._routes:
            found = route.regex.match(path)
            if found and route.method == method.upper():
                return route, tuple(found.groups())
        raise StripeError(
            404,
            f"Unrecognized request URL ({method.upper()}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )


Expander = Callable[[State, Obj], Any]
EXPANDERS: dict[tuple[str, str], Expander] = {}


def expand(state: State, value: Any, parts: list[str]) -> Any:
    """Replace the id at a dotted ``expand`` path with the object (``data.`` walks lists)."""
    if not parts:
        return value
    if isinstance(value, list):
        return [expand(state, v, parts) for v in value]
    if not isinstance(value, dict):
        return value
    head, rest = parts[0], parts[1:]
    special = EXPANDERS.get((str(value.get("object")), head))
    if special is not None and value.get("id") in state.objects:
        value[head] = expand(state, special(state, state.objects[value["id"]]), rest)
        return value
    if head not in value:
        return value
    child = value[head]
    if isinstance(child, str):
        stored = state.find(child)
        if stored is not None:
            child = objects.render(state, stored)
    value[head] = expand(state, child, rest)
    return value


def expand_all(state: State, body: Obj, paths: list[Any]) -> Obj:
    for path in paths:
        if isinstance(path, str) and path:
            body = expand(state, body, path.split("."))
    return body
