"""Fault injection for reliability tests: errors, latency and Stripe's test-mode rate limit."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass

from stripe_emulator.protocol import Obj, StripeError


@dataclass
class Rule:
    """Answer a share (``rate``) of requests under ``path_prefix`` with ``status`` and/or delay them.

    ``count`` limits how many requests the rule hits (None: unlimited).
    """

    status: int | None = None
    rate: float = 1.0
    delay_ms: int = 0
    path_prefix: str = "/v1/"
    count: int | None = None
    hits: int = 0

    def public(self) -> Obj:
        return {
            "status": self.status,
            "rate": self.rate,
            "delay_ms": self.delay_ms,
            "path_prefix": self.path_prefix,
            "count": self.count,
            "hits": self.hits,
        }


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._random = random.Random(seed)
        self.rate_limit: int | None = None  # requests per second, None = off
        self._stamps: deque[float] = deque()

    def add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self.rate_limit = None
            self._stamps.clear()

    def public(self) -> Obj:
        with self._lock:
            return {"rules": [r.public() for r in self._rules], "rate_limit": self.rate_limit}

    def check(self, path: str) -> tuple[float, StripeError | None]:
        """Seconds to delay and the error to answer (if any) for a request to ``path``."""
        with self._lock:
            if self.rate_limit is not None:
                now = time.monotonic()
                while self._stamps and now - self._stamps[0] >= 1.0:
                    self._stamps.popleft()
                if len(self._stamps) >= self.rate_limit:
                    return 0.0, rate_limited()
                self._stamps.append(now)
            delay = 0.0
            for rule in self._rules:
                if not path.startswith(rule.path_prefix):
                    continue
                if rule.count is not None and rule.hits >= rule.count:
                    continue
                if self._random.random() >= rule.rate:
                    continue
                rule.hits += 1
                delay += rule.delay_ms / 1000
                if rule.status is not None:
                    return delay, injected(rule.status)
            return delay, None


def rate_limited() -> StripeError:
    return StripeError(
        429,
        "Request rate limit exceeded. You can learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
    )


def injected(status: int) -> StripeError:
    if status == 429:
        return rate_limited()
    if status >= 500:
        return StripeError(
            status, "An unknown error occurred (injected by the emulator).", type_="api_error"
        )
    return StripeError(status, f"Injected error {status} (emulator fault injection).")
