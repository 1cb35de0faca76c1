"""In-memory state of the emulator: every object by id, guarded by one lock."""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stripe_emulator.protocol import Obj, not_found

_ALPHABET = string.ascii_letters + string.digits

# Stripe's names for objects in "No such ..." messages, by id prefix.
KIND_BY_PREFIX = {
    "cus_": "customer",
    "prod_": "product",
    "price_": "price",
    "cs_test_": "checkout.session",
    "sub_sched_": "subscription_schedule",
    "sub_": "subscription",
    "si_": "subscription_item",
    "in_": "invoice",
    "ii_": "invoiceitem",
    "inpay_": "invoice_payment",
    "pi_": "payment_intent",
    "re_": "refund",
    "evt_": "event",
    "we_": "webhook_endpoint",
    "clock_": "test_helpers.test_clock",
    "bps_": "billing_portal.session",
}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass
class IdempotentEntry:
    fingerprint: str
    status: int
    body: bytes
    done: bool


@dataclass
class RequestInfo:
    """Who caused an event: the API request (id + idempotency key) or nothing (automatic)."""

    id: str | None = None
    idempotency_key: str | None = None


@dataclass
class State:
    """All emulator data. Take ``lock`` around every read and write."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    objects: dict[str, Obj] = field(default_factory=dict)
    # invoice previews by their upcoming_in_ id (not objects: never listed or retrieved)
    previews: dict[str, Obj] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], IdempotentEntry] = field(default_factory=dict)
    # payment method id -> behaviour: "ok" | "decline" | "customer_fail"
    payment_methods: dict[str, str] = field(default_factory=dict)
    on_event: Callable[[Obj], int] | None = None
    request: RequestInfo = field(default_factory=RequestInfo)
    api_version: str = "2026-10-28.endive"
    clock_override: int | None = None

    def real_now(self) -> int:
        return self.clock_override if self.clock_override is not None else int(time.time())

    def add(self, obj: Obj) -> Obj:
        self.objects[obj["id"]] = obj
        return obj

    def get(self, ident: str, kind: str, param: str = "id") -> Obj:
        obj = self.objects.get(ident)
        if obj is None or obj.get("object") != kind or obj.get("_deleted"):
            raise not_found(kind, ident, param)
        return obj

    def find(self, ident: str) -> Obj | None:
        return self.objects.get(ident)

    def all(self, kind: str) -> list[Obj]:
        """Objects of one type, newest first."""
        found = [
            o for o in self.objects.values() if o.get("object") == kind and not o.get("_deleted")
        ]
        found.reverse()
        return found

    def customer_now(self, customer_id: str | None) -> int:
        """The customer's test clock time, or real time."""
        if customer_id:
            customer = self.objects.get(customer_id)
            if customer and customer.get("test_clock"):
                clock = self.objects.get(customer["test_clock"])
                if clock:
                    return int(clock["frozen_time"])
        return self.real_now()

    def clock_of(self, customer_id: str | None) -> str | None:
        if customer_id:
            customer = self.objects.get(customer_id)
            if customer:
                value = customer.get("test_clock")
                return value if isinstance(value, str) else None
        return None


def strip_private(value: Any) -> Any:
    """Deep copy without the emulator's ``_private`` keys."""
    if isinstance(value, dict):
        return {k: strip_private(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_private(v) for v in value]
    return value
