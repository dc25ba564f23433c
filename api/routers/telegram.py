"""POST /telegram/webhook: Telegram's webhook (QUEUARR_TELEGRAM_WEBHOOK_URL points here).
Outside /api, so the API key does not apply: the secret token header is its auth
(infrastructure/telegram/webhook.py checks it and queues the update)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deferred_route import DeferredRoute
from api.params import ContainerDep
from api.responses import json_response
from api.schemas import Message
from core.ratelimit import FailureLimiter
from infrastructure.telegram.webhook import MAX_BODY, SECRET_HEADER

router = APIRouter(tags=["Telegram"], route_class=DeferredRoute)

_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"model": Message, "description": "The update is queued (or was already taken)"},
    400: {"model": Message, "description": "The body is not a Telegram Update"},
    401: {"model": Message, "description": "No X-Telegram-Bot-Api-Secret-Token header"},
    403: {"model": Message, "description": "A wrong X-Telegram-Bot-Api-Secret-Token"},
    404: {"model": Message, "description": "The webhook is off"},
    413: {"model": Message, "description": "The body is too large for an update"},
    429: {"model": Message, "description": "Too many wrong secrets (or API keys) from this "
                                           "address; Retry-After says when to try again"},
    503: {"model": Message, "description": "The bot has not started yet"},
}


@router.post("/telegram/webhook", summary="Take one update from Telegram",
             responses=_ANSWERS)
async def webhook(request: Request, c: ContainerDep) -> Response:
    hook = c.telegram.webhook if c.telegram is not None else None
    if hook is None:
        return json_response({"message": "The Telegram webhook is off "
                                         "(QUEUARR_TELEGRAM_WEBHOOK_URL is not set)"}, 404)
    client = request.client.host if request.client else "unknown"
    # Wrong secrets count with wrong API keys (one limiter per address): past the limit,
    # every request is 429 until the window passes, a right secret included.
    failures: FailureLimiter = request.app.state.auth_failures
    wait = failures.retry_after(client)
    if wait is not None:
        limited = json_response({"message": "Too many wrong secrets from this address"}, 429)
        limited.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return limited
    refusal = hook.refusal(request.headers.get(SECRET_HEADER), client)
    if refusal is not None:
        failures.failed(client)
        return json_response({"message": refusal[1]}, refusal[0])
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            break
    status, message = await hook.receive(bytes(body))
    return json_response({"message": message}, status)
