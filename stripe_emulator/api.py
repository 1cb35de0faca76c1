"""The ``/v1/...`` endpoint: auth, faults, idempotency, dispatch, expand, Stripe's errors."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

from starlette.requests import Request
from starlette.responses import Response

from stripe_emulator import contract
from stripe_emulator.app_state import Emulator
from stripe_emulator.protocol import Obj, StripeError, get_list, parse_body, parse_query
from stripe_emulator.routes.core import Ctx, expand_all
from stripe_emulator.store import IdempotentEntry, RequestInfo, new_id

log = logging.getLogger("stripe_emulator")


def _json(status: int, body: Obj, headers: dict[str, str]) -> Response:
    return Response(
        json.dumps(body, indent=2),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def api_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    key = ""
    if header.lower().startswith("bearer "):
        key = header[7:].strip()
    elif header.lower().startswith("basic "):
        try:
            key = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except ValueError:
            key = ""
    if not key:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    if not key.startswith("sk_test_"):
        raise StripeError(
            401, f"Invalid API Key provided: {key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}"
        )
    return key


async def handle(request: Request) -> Response:
    emu: Emulator = request.app.state.emulator
    request_id = new_id("req_", 14)
    headers = {
        "Request-Id": request_id,
        "Stripe-Version": request.headers.get("stripe-version", emu.state.api_version),
    }
    method = request.method.upper()
    path = request.url.path
    idem_key = request.headers.get("idempotency-key") if method == "POST" else None
    slot: tuple[str, str] | None = None
    try:
        key = api_key(request)
        params = parse_query(request.url.query)
        if method == "POST":
            params.update(parse_body(await request.body(), request.headers.get("content-type", "")))
        if idem_key:
            headers["Idempotency-Key"] = idem_key
            fingerprint = json.dumps([method, path, params], sort_keys=True)
            slot = (key, idem_key)
            with emu.state.lock:
                entry = emu.state.idempotency.get(slot)
                if entry is not None:
                    slot = None  # not ours to fill
                    if not entry.done:
                        raise StripeError(
                            409,
                            "There is currently another in-progress request using this Idempotent Key (that "
                            "probably means you submitted twice, and the other request is still going through): "
                            f"{idem_key}. Please try again later.",
                            type_="idempotency_error",
                            code="idempotency_key_in_use",
                        )
                    if entry.fingerprint != fingerprint:
                        raise StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same parameters they were "
                            f"first used with. Try using a key other than '{idem_key}' if you meant to execute a "
                            "different request.",
                            type_="idempotency_error",
                        )
                    replay = dict(headers, **{"Idempotent-Replayed": "true"})
                    return Response(
                        entry.body,
                        status_code=entry.status,
                        media_type="application/json",
                        headers=replay,
                    )
                emu.state.idempotency[slot] = IdempotentEntry(fingerprint, 0, b"", False)
        delay, fault = emu.faults.check(path)
        if delay:
            await asyncio.sleep(delay)
        if fault is not None:
            if slot is not None:
                with emu.state.lock:
                    emu.state.idempotency.pop(slot, None)
                slot = None
            return _json(fault.status, fault.body(request_id), headers)
        route, args = emu.router.match(method, path)
        contract.check(method, route.pattern, params)
        with emu.state.lock:
            emu.state.request = RequestInfo(request_id, idem_key)
            try:
                ctx = Ctx(emu.state, method, path, params, args, str(request.base_url))
                body = expand_all(emu.state, route.handler(ctx), get_list(params, "expand"))
            finally:
                emu.state.request = RequestInfo()
        status = 200
        payload = json.dumps(body, indent=2)
    except StripeError as err:
        status, payload = err.status, json.dumps(err.body(request_id), indent=2)
    except Exception:
        log.exception("emulator error on %s %s", method, path)
        internal = StripeError(500, "An unknown error occurred in the emulator.", type_="api_error")
        status, payload = 500, json.dumps(internal.body(request_id), indent=2)
    if slot is not None:
        with emu.state.lock:
            # Like Stripe, only requests that ran are saved: not failed validation (400/404).
            if status not in (200, 402) and status < 500:
                emu.state.idempotency.pop(slot, None)
            else:
                emu.state.idempotency[slot] = IdempotentEntry(
                    emu.state.idempotency[slot].fingerprint, status, payload.encode(), True
                )
    return Response(payload, status_code=status, media_type="application/json", headers=headers)
