"""Recording the events Stripe would emit, and handing them to webhook delivery."""

from __future__ import annotations

import copy

from stripe_emulator import objects
from stripe_emulator.protocol import Obj
from stripe_emulator.store import State


def emit(
    state: State, type_: str, obj: Obj, *, previous: Obj | None = None, now: int | None = None
) -> Obj:
    """Record an event about ``obj`` (a stored object) and queue its webhooks."""
    if obj.get("_deleted"):
        # Stripe sends the full last state of a deleted object in its *.deleted event.
        data_object: Obj = copy.deepcopy(objects.strip_private(obj))
    else:
        data_object = copy.deepcopy(objects.render(state, obj))
    when = now if now is not None else state.customer_now(_customer_of(obj))
    event = objects.event(
        when,
        type_=type_,
        data_object=data_object,
        previous=previous,
        api_version=state.api_version,
        request_id=state.request.id,
        idempotency_key=state.request.idempotency_key,
    )
    state.add(event)
    if state.on_event is not None:
        event["pending_webhooks"] = state.on_event(copy.deepcopy(event))
    return event


def emit_update(state: State, type_: str, obj: Obj, before: Obj) -> Obj | None:
    """Emit ``type_`` with ``previous_attributes`` if anything changed since ``before``."""
    after = objects.render(state, obj)
    previous = objects.diff(before, after)
    if not previous:
        return None
    return emit(state, type_, obj, previous=previous)


def _customer_of(obj: Obj) -> str | None:
    if obj.get("object") == "customer":
        return str(obj["id"])
    value = obj.get("customer")
    return value if isinstance(value, str) else None
