"""Asynchronous, signed, retried delivery of events to webhook endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from stripe_emulator.protocol import Obj
from stripe_emulator.store import new_id

log = logging.getLogger("stripe_emulator.webhooks")


def sign(payload: str, secret: str, timestamp: int) -> str:
    """Stripe's ``Stripe-Signature`` header value for ``payload``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass
class Target:
    url: str
    secret: str
    endpoint: str | None  # we_ id, None for the start-up endpoint
    api_version: str | None = None  # the endpoint's own version: its events say that one


@dataclass
class Delivery:
    id: str
    event_id: str
    event_type: str
    target: Target
    payload: str
    due: float
    attempts: int = 0
    status: str = "pending"  # pending | succeeded | failed
    responses: list[Any] = field(default_factory=list)

    def public(self) -> Obj:
        return {
            "id": self.id,
            "event": self.event_id,
            "type": self.event_type,
            "url": self.target.url,
            "webhook_endpoint": self.target.endpoint,
            "attempts": self.attempts,
            "status": self.status,
            "responses": list(self.responses),
        }


class Deliverer:
    """One background thread; retries non-2xx and connection errors with exponential backoff.

    Attempt ``n`` (1-based) that fails is retried after ``retry_base * 2 ** (n - 1)`` seconds,
    up to ``max_attempts`` attempts in all.
    """

    def __init__(
        self,
        *,
        retry_base: float = 0.05,
        max_attempts: int = 5,
        timeout: float = 5.0,
        shuffle: bool = False,
        duplicate_rate: float = 0.0,
        seed: int | None = None,
        on_done: Callable[[str], None] | None = None,
    ) -> None:
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.shuffle = shuffle
        self.duplicate_rate = duplicate_rate
        self.random = random.Random(seed)
        self.on_done = on_done
        self._cond = threading.Condition()
        self._queue: list[Delivery] = []
        self._all: list[Delivery] = []
        self._busy = 0
        self._stop = False
        self._thread: threading.Thread | None = None

    # ---- control -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def set_mode(self, *, shuffle: bool, duplicate_rate: float, seed: int | None = None) -> None:
        with self._cond:
            self.shuffle = shuffle
            self.duplicate_rate = duplicate_rate
            if seed is not None:
                self.random.seed(seed)

    def enqueue(self, event: Obj, targets: list[Target]) -> None:
        payload = json.dumps(event, indent=2)
        now = time.monotonic()
        with self._cond:
            for target in targets:
                body = payload
                if target.api_version and target.api_version != event.get("api_version"):
                    body = json.dumps({**event, "api_version": target.api_version}, indent=2)
                copies = 1
                if self.duplicate_rate > 0 and self.random.random() < self.duplicate_rate:
                    copies = 2
                for _ in range(copies):
                    jitter = self.random.uniform(0, 0.03) if self.shuffle else 0.0
                    delivery = Delivery(
                        new_id("whdel_"), event["id"], event["type"], target, body, now + jitter
                    )
                    self._queue.append(delivery)
                    self._all.append(delivery)
            self._cond.notify_all()

    def deliveries(self) -> list[Obj]:
        with self._cond:
            return [d.public() for d in self._all]

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()
            self._all.clear()

    def idle(self) -> bool:
        with self._cond:
            return not self._queue and self._busy == 0

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    # ---- worker --------------------------------------------------------------------

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._stop:
                now = time.monotonic()
                due = [d for d in self._queue if d.due <= now]
                if due:
                    pick = (
                        self.random.choice(due) if self.shuffle else min(due, key=lambda d: d.due)
                    )
                    self._queue.remove(pick)
                    self._busy += 1
                    return pick
                wait = min((d.due for d in self._queue), default=now + 0.5) - now
                self._cond.wait(max(0.001, min(wait, 0.5)))
            return None

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                delivery = self._next()
                if delivery is None:
                    return
                try:
                    self._send(client, delivery)
                finally:
                    with self._cond:
                        self._busy -= 1
                        self._cond.notify_all()

    def _send(self, client: httpx.Client, delivery: Delivery) -> None:
        delivery.attempts += 1
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign(delivery.payload, delivery.target.secret, timestamp),
        }
        try:
            response = client.post(
                delivery.target.url, content=delivery.payload.encode(), headers=headers
            )
            ok = 200 <= response.status_code < 300
            delivery.responses.append(response.status_code)
        except httpx.HTTPError as exc:
            ok = False
            delivery.responses.append(type(exc).__name__)
        if ok:
            delivery.status = "succeeded"
            if self.on_done is not None:
                self.on_done(delivery.event_id)
            return
        if delivery.attempts >= self.max_attempts:
            delivery.status = "failed"
            log.warning(
                "webhook %s to %s failed after %d attempts",
                delivery.event_id,
                delivery.target.url,
                delivery.attempts,
            )
            if self.on_done is not None:
                self.on_done(delivery.event_id)
            return
        delay = self.retry_base * 2 ** (delivery.attempts - 1)
        with self._cond:
            delivery.due = time.monotonic() + delay
            self._queue.append(delivery)
            self._cond.notify_all()
