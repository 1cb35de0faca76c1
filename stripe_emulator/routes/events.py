"""/v1/events and /v1/webhook_endpoints"""

from __future__ import annotations

from stripe_emulator import objects
from stripe_emulator.protocol import (
    Obj,
    get_bool,
    get_dict,
    get_int,
    get_list,
    get_str,
    invalid,
    merge_metadata,
    missing,
    paginate,
    req_str,
)
from stripe_emulator.routes.core import Ctx, Router
from stripe_emulator.store import new_id


def list_events(ctx: Ctx) -> Obj:
    p = ctx.params
    found = ctx.state.all("event")
    kind = get_str(p, "type")
    if kind:
        if kind.endswith("*"):
            found = [e for e in found if e["type"].startswith(kind[:-1])]
        else:
            found = [e for e in found if e["type"] == kind]
    types = get_list(p, "types")
    if types:
        found = [e for e in found if e["type"] in types]
    created = p.get("created")
    if isinstance(created, dict):
        for op, check in (
            ("gt", int.__gt__),
            ("gte", int.__ge__),
            ("lt", int.__lt__),
            ("lte", int.__le__),
        ):
            bound = get_int(created, op, label=f"created[{op}]")
            if bound is not None:
                found = [e for e in found if check(int(e["created"]), bound)]
    elif created not in (None, ""):
        exact = get_int(p, "created")
        found = [e for e in found if e["created"] == exact]
    return paginate(found, p, "/v1/events", lambda o: objects.render(ctx.state, o))


def _enabled_events(p: Obj) -> list[str]:
    events = [str(e) for e in get_list(p, "enabled_events")]
    if not events:
        raise missing("enabled_events")
    return events


def create_endpoint(ctx: Ctx) -> Obj:
    p = ctx.params
    url = req_str(p, "url")
    if not url.startswith(("http://", "https://")):
        raise invalid("url", "Invalid URL: An explicit scheme (such as https) must be provided.")
    endpoint: Obj = {
        "id": new_id("we_"),
        "object": "webhook_endpoint",
        "api_version": get_str(p, "api_version"),
        "application": None,
        "created": ctx.state.real_now(),
        "description": get_str(p, "description"),
        "enabled_events": _enabled_events(p),
        "livemode": False,
        "metadata": merge_metadata({}, p.get("metadata")),
        "status": "enabled",
        "url": url,
        "_secret": "whsec_" + new_id("", 32),
    }
    ctx.state.add(endpoint)
    out = objects.render(ctx.state, endpoint)
    out["secret"] = endpoint["_secret"]  # only on creation, as Stripe does
    return out


def update_endpoint(ctx: Ctx) -> Obj:
    endpoint = ctx.state.get(ctx.arg, "webhook_endpoint")
    p = ctx.params
    if "url" in p:
        endpoint["url"] = req_str(p, "url")
    if "enabled_events" in p:
        endpoint["enabled_events"] = _enabled_events(p)
    if "description" in p:
        endpoint["description"] = objects.value_or_none(p["description"])
    disabled = get_bool(p, "disabled")
    if disabled is not None:
        endpoint["status"] = "disabled" if disabled else "enabled"
    if "metadata" in p:
        endpoint["metadata"] = merge_metadata(
            endpoint["metadata"], get_dict(p, "metadata") or p["metadata"]
        )
    return objects.render(ctx.state, endpoint)


def delete_endpoint(ctx: Ctx) -> Obj:
    endpoint = ctx.state.get(ctx.arg, "webhook_endpoint")
    endpoint["_deleted"] = True
    return {"deleted": True, "id": endpoint["id"], "object": "webhook_endpoint"}


def register(r: Router) -> None:
    r.add("GET", "/v1/events", list_events)
    r.retrieve("/v1/events/{id}", "event")
    r.add("POST", "/v1/webhook_endpoints", create_endpoint)
    r.add(
        "GET",
        "/v1/webhook_endpoints",
        lambda c: paginate(
            c.state.all("webhook_endpoint"),
            c.params,
            "/v1/webhook_endpoints",
            lambda o: objects.render(c.state, o),
        ),
    )
    r.retrieve("/v1/webhook_endpoints/{id}", "webhook_endpoint")
    r.add("POST", "/v1/webhook_endpoints/{id}", update_endpoint)
    r.add("DELETE", "/v1/webhook_endpoints/{id}", delete_endpoint)
