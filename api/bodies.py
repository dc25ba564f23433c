"""Reading request bodies the way Radarr does: JSON content types only (415 otherwise),
trailing commas tolerated, a size cap, and validation errors as 400s."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from api.failures import body_errors
from core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

MAX_BODY = 16 * 1024 * 1024  # a 10 MB torrent in base64, plus the other fields
M = TypeVar("M", bound=BaseModel)


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json_type(media_type: str) -> bool:
    return media_type in ("application/json", "text/json") or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    return bytes(body)


def strip_trailing_commas(raw: bytes) -> bytes:
    """Drop commas that directly precede `}` or `]` outside strings (Radarr's
    System.Text.Json allows them; strict JSON parsers do not)."""
    out = bytearray()
    in_string = escaped = False
    pending_comma = -1
    for byte in raw:
        if in_string:
            out.append(byte)
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
            continue
        if byte in b" \t\r\n":
            out.append(byte)
            continue
        if byte in b"}]" and pending_comma >= 0:
            del out[pending_comma]
        pending_comma = -1
        if byte == 0x2C:  # comma
            pending_comma = len(out)
        elif byte == 0x22:
            in_string = True
        out.append(byte)
    return bytes(out)


def parse_json_body(raw: bytes, model: type[M]) -> M:
    """Validate a JSON body; errors become the API's 400 with a message."""
    if not raw.strip():
        raise BadRequest("A JSON request body is required")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors(include_url=False)):
            try:
                return model.model_validate_json(strip_trailing_commas(raw))
            except ValidationError:
                pass
        raise body_errors(exc) from None


async def read_json(request: Request, model: type[M], *, exact: bool = False) -> M | None:
    """The body as `model`, or None when there is none. `exact` requires the
    Content-Type application/json (Radarr's [Consumes]); otherwise any JSON type, or
    none at all, is accepted."""
    raw = await read_body(request)
    media_type = content_type(request)
    acceptable = media_type == "application/json" if exact else (
        media_type == "" or is_json_type(media_type))
    if raw.strip() and not acceptable:
        raise UnsupportedMediaType(
            f"Content-Type {media_type or '(none)'!r} is not accepted; send application/json"
        )
    return parse_json_body(raw, model) if raw.strip() else None


async def require_json(request: Request, model: type[M], *, exact: bool = False) -> M:
    body = await read_json(request, model, exact=exact)
    if body is None:
        raise BadRequest("A JSON request body is required")
    return body


