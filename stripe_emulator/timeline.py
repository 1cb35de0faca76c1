"""Advancing a test clock: renewals, payment retries, schedule phases and pending update
expiry, in time order."""

from __future__ import annotations

from collections.abc import Callable

from stripe_emulator import billing, schedules
from stripe_emulator.events import emit
from stripe_emulator.protocol import Obj
from stripe_emulator.routes import checkout
from stripe_emulator.store import State

RENEWING = ("active", "past_due", "trialing")


def _next_step(
    state: State, clock_id: str, target: int
) -> tuple[int, int, Callable[[int], None]] | None:
    """The earliest thing due at or before ``target`` for the clock's customers."""
    best: tuple[int, int, Callable[[int], None]] | None = None

    def consider(at: int | None, order: int, action: Callable[[int], None]) -> None:
        nonlocal best
        if at is None or at > target:
            return
        if best is None or (at, order) < (best[0], best[1]):
            best = (at, order, action)

    for obj in list(state.objects.values()):
        kind = obj.get("object")
        if kind == "checkout.session" and obj["status"] == "open":
            if state.clock_of(obj["customer"]) == clock_id:
                consider(int(obj["expires_at"]), 3, _bind_expire(state, obj))
            continue
        if obj.get("test_clock") != clock_id or obj.get("_deleted"):
            continue
        pending = obj.get("pending_update") if kind == "subscription" else None
        if pending:
            # An unpaid pending update is discarded at expires_at (before a renewal then).
            consider(int(pending["expires_at"]), -1, _bind_expire_pending(state, obj))
        if kind == "subscription_schedule":
            consider(schedules.next_transition(obj), 0, _bind_schedule(state, obj))
        elif kind == "subscription" and obj["status"] in RENEWING and obj["_item_ids"]:
            consider(billing.trial_warning_at(obj), 0, _bind_trial_warning(state, obj))
            _, end = billing.current_period(state, obj)
            cancel_at = obj.get("cancel_at")
            if cancel_at is not None and int(cancel_at) < end:
                consider(int(cancel_at), 1, _bind_cancel(state, obj))
            consider(end, 1, _bind_renew(state, obj))
        elif kind == "invoice" and obj["status"] == "open" and obj.get("next_payment_attempt"):
            consider(int(obj["next_payment_attempt"]), 2, _bind_retry(state, obj))
    return best


def _bind_schedule(state: State, sched: Obj) -> Callable[[int], None]:
    return lambda at: schedules.transition(state, sched, at)


def _bind_renew(state: State, sub: Obj) -> Callable[[int], None]:
    return lambda at: billing.renew(state, sub, at)


def _bind_trial_warning(state: State, sub: Obj) -> Callable[[int], None]:
    return lambda at: billing.trial_will_end(state, sub, at)


def _bind_cancel(state: State, sub: Obj) -> Callable[[int], None]:
    return lambda at: billing.cancel(state, sub, at)


def _bind_expire(state: State, session: Obj) -> Callable[[int], None]:
    return lambda at: checkout.expire_session(state, session)


def _bind_expire_pending(state: State, sub: Obj) -> Callable[[int], None]:
    return lambda at: billing.expire_pending(state, sub, at)


def _bind_retry(state: State, inv: Obj) -> Callable[[int], None]:
    return lambda at: billing.retry(state, inv, at)


def advance(state: State, clock: Obj, target: int) -> None:
    """Run everything due up to ``target``, moving ``frozen_time`` step by step."""
    clock["status"] = "advancing"
    clock["status_details"] = {"advancing": {"target_frozen_time": target}}
    emit(state, "test_helpers.test_clock.advancing", clock, now=int(clock["frozen_time"]))
    for _ in range(10_000):
        step = _next_step(state, clock["id"], target)
        if step is None:
            break
        at, _, action = step
        clock["frozen_time"] = max(int(clock["frozen_time"]), at)
        action(at)
    clock["frozen_time"] = target
    clock["status"] = "ready"
    clock["status_details"] = {}
    emit(state, "test_helpers.test_clock.ready", clock, now=target)
