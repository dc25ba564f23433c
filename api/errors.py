"""The one table from core errors to HTTP. An error body is {"message": ...}, except where
Radarr answers otherwise: a body that fails validation (pydantic's errors, or core's
ValidationFailed) is Radarr's array of validation failures, and a parameter that cannot be
bound is ASP.NET's problem details (api/failures.py)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from api import failures
from api.resources import dumps
from core import errors as e

log = logging.getLogger("queuarr.api")

STATUS: list[tuple[type[e.QueuarrError], int]] = [
    (e.NotFound, 404),
    (e.UnknownDownloadClient, 400),
    (e.PayloadTooLarge, 413),
    (e.UnsupportedMediaType, 415),
    (e.NoApprovedRelease, 422),
    (e.BadRequest, 400),
    (e.Duplicate, 409),
    (e.NoProcessor, 409),
    (e.IllegalTransition, 409),
    (e.ConcurrentModification, 409),
    (e.ReleaseTooLarge, 422),
    (e.Blocklisted, 422),
    (e.ClientRejected, 422),
    (e.StorageUnavailable, 503),
    (e.ClientUnavailable, 502),
    (e.DownloadClientError, 502),
]
RETRY_AFTER = {503: "5"}


def status_for(exc: e.QueuarrError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def message_response(status: int, body: dict[str, Any] | list[dict[str, Any]],
                     headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, headers=headers,
                    media_type="application/json")


def install(app: FastAPI) -> None:
    @app.exception_handler(e.QueuarrError)
    async def _core(_: Request, exc: e.QueuarrError) -> Response:
        status = status_for(exc)
        if isinstance(exc, e.ValidationFailed):
            return message_response(400, failures.from_core(exc.failures))
        body: dict[str, Any] = {"message": exc.message}
        if isinstance(exc, e.UnknownDownloadClient):
            body["message"] = f"BadRequest: {exc.message}"
        if isinstance(exc, e.Duplicate):
            body["existingId"] = exc.existing_id
        if isinstance(exc, e.InvalidId):
            body["content"] = exc.content
        if status == 500:
            log.error("unmapped core error", exc_info=exc)
        headers = {"Retry-After": RETRY_AFTER[status]} if status in RETRY_AFTER else None
        return message_response(status, body, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        if failures.is_parameter_error(exc):
            return message_response(400, failures.problem_details(exc.errors()))
        return message_response(400, failures.from_pydantic(exc.errors()))

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> Response:
        message = "NotFound" if exc.status_code == 404 else str(exc.detail)
        return message_response(exc.status_code, {"message": message},
                                dict(exc.headers) if exc.headers else None)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.error("unexpected error", exc_info=exc)
        return message_response(500, {"message": "Internal server error"})
