"""Emulator-only HTTP helpers under ``/_emulator`` (faults, webhook deliveries, reset)."""

from __future__ import annotations

import asyncio
import json
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stripe_emulator.app_state import Emulator
from stripe_emulator.faults import Rule
from stripe_emulator.protocol import Obj, parse_body, parse_query


def _emu(request: Request) -> Emulator:
    emu: Emulator = request.app.state.emulator
    return emu


async def _params(request: Request) -> Obj:
    params = parse_query(request.url.query)
    params.update(parse_body(await request.body(), request.headers.get("content-type", "")))
    return params


def _num(value: object, default: float) -> float:
    if value in (None, ""):
        return default
    return float(str(value))


def _flag(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


async def info(request: Request) -> Response:
    emu = _emu(request)
    return JSONResponse(
        {
            "emulator": "stripe",
            "livemode": False,
            "api_version": emu.state.api_version,
            "faults": emu.faults.public(),
            "webhooks": {
                "shuffle": emu.deliverer.shuffle,
                "duplicate_rate": emu.deliverer.duplicate_rate,
                "idle": emu.deliverer.idle(),
            },
        }
    )


async def faults(request: Request) -> Response:
    emu = _emu(request)
    if request.method == "DELETE":
        emu.faults.reset()
    elif request.method == "POST":
        p = await _params(request)
        if "rate_limit" in p:
            value = p["rate_limit"]
            emu.faults.rate_limit = None if value in ("", None, "0", 0, "off") else int(str(value))
        if any(k in p for k in ("status", "delay_ms")):
            emu.faults.add(
                Rule(
                    status=int(str(p["status"])) if p.get("status") not in (None, "") else None,
                    rate=_num(p.get("rate"), 1.0),
                    delay_ms=int(_num(p.get("delay_ms"), 0)),
                    path_prefix=str(p.get("path_prefix") or "/v1/"),
                    count=int(str(p["count"])) if p.get("count") not in (None, "") else None,
                )
            )
    return JSONResponse(emu.faults.public())


async def deliveries(request: Request) -> Response:
    emu = _emu(request)
    found = emu.deliverer.deliveries()
    event = request.query_params.get("event")
    if event:
        found = [d for d in found if d["event"] == event]
    return JSONResponse({"object": "list", "data": found})


async def wait_idle(request: Request) -> Response:
    emu = _emu(request)
    timeout = _num(request.query_params.get("timeout"), 10.0)
    deadline = time.monotonic() + timeout
    while not emu.deliverer.idle():
        if time.monotonic() >= deadline:
            return JSONResponse({"idle": False}, status_code=408)
        await asyncio.sleep(0.01)
    return JSONResponse({"idle": True})


async def webhook_mode(request: Request) -> Response:
    emu = _emu(request)
    p = await _params(request)
    emu.deliverer.set_mode(
        shuffle=_flag(p.get("shuffle", emu.deliverer.shuffle)),
        duplicate_rate=_num(p.get("duplicate_rate"), emu.deliverer.duplicate_rate),
        seed=int(str(p["seed"])) if p.get("seed") not in (None, "") else None,
    )
    return JSONResponse(
        {"shuffle": emu.deliverer.shuffle, "duplicate_rate": emu.deliverer.duplicate_rate}
    )


async def reset(request: Request) -> Response:
    _emu(request).reset()
    return Response(json.dumps({"reset": True}), media_type="application/json")
