"""/v1/test_helpers/test_clocks"""

from __future__ import annotations

import copy

from stripe_emulator import objects, timeline
from stripe_emulator.events import emit
from stripe_emulator.protocol import Obj, StripeError, get_int, get_str, invalid, paginate
from stripe_emulator.routes.core import Ctx, Router
from stripe_emulator.store import RequestInfo, new_id

DAY = 86400


def create(ctx: Ctx) -> Obj:
    frozen = get_int(ctx.params, "frozen_time", required=True)
    assert frozen is not None
    now = ctx.state.real_now()
    clock: Obj = {
        "id": new_id("clock_"),
        "object": "test_helpers.test_clock",
        "created": now,
        "deletes_after": now + 30 * DAY,
        "frozen_time": frozen,
        "livemode": False,
        "name": get_str(ctx.params, "name"),
        "status": "ready",
        "status_details": {},
    }
    ctx.state.add(clock)
    emit(ctx.state, "test_helpers.test_clock.created", clock, now=now)
    return objects.render(ctx.state, clock)


def advance(ctx: Ctx) -> Obj:
    clock = ctx.state.get(ctx.arg, "test_helpers.test_clock")
    target = get_int(ctx.params, "frozen_time", required=True)
    assert target is not None
    if target < int(clock["frozen_time"]):
        raise invalid(
            "frozen_time",
            "The test clock's new frozen_time must be later than its current frozen_time.",
        )
    if clock["status"] != "ready":
        raise StripeError(400, "The test clock is already advancing.")
    request = ctx.state.request
    answer = copy.deepcopy(objects.render(ctx.state, clock))
    answer["status"] = "advancing"
    answer["status_details"] = {"advancing": {"target_frozen_time": target}}
    ctx.state.request = RequestInfo()  # what happens during the advance is automatic, as at Stripe
    try:
        timeline.advance(ctx.state, clock, target)
    finally:
        ctx.state.request = request
    # The work is done when this returns; like Stripe, the answer still says "advancing" and
    # the next retrieve says "ready" (poll until ready, as against real Stripe).
    return answer


def delete(ctx: Ctx) -> Obj:
    clock = ctx.state.get(ctx.arg, "test_helpers.test_clock")
    clock["_deleted"] = True
    return {"deleted": True, "id": clock["id"], "object": "test_helpers.test_clock"}


def register(r: Router) -> None:
    r.add("POST", "/v1/test_helpers/test_clocks", create)
    r.add(
        "GET",
        "/v1/test_helpers/test_clocks",
        lambda c: paginate(
            c.state.all("test_helpers.test_clock"),
            c.params,
            "/v1/test_helpers/test_clocks",
            lambda o: objects.render(c.state, o),
        ),
    )
    r.retrieve("/v1/test_helpers/test_clocks/{id}", "test_helpers.test_clock")
    r.add("POST", "/v1/test_helpers/test_clocks/{id}/advance", advance)
    r.add("DELETE", "/v1/test_helpers/test_clocks/{id}", delete)
