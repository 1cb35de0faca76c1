"""POST /webhooks/stripe. (Being built: see issue "Stripe webhooks into Tortoise models".)"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def stripe_webhook(request: Request) -> Response:
    return JSONResponse({"error": "webhooks are not handled yet"}, status_code=501)
