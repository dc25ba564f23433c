"""Bulk grabs on the wire: a list of links, one a line, sent to POST /api/v3/queue/grab as
a JSON array of strings, a text/plain body, or a multipart upload of a .txt under `file`
or `links`; read into core.intake Sources numbered by line, and the per-line answer.

Anything else (a JSON object, a multipart form without those fields) is a single grab and
is left for api/grab_input.read_grab to read."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from pydantic import StrictStr, TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from api.bodies import MAX_BODY, content_type, is_json_type, read_body, strip_trailing_commas
from api.failures import body_errors
from api.grab_input import read_form
from api.responses import json_response
from api.schemas import BulkResult
from core.errors import BadRequest, Duplicate
from core.intake import Outcome, Source, list_lines

LIST_FIELDS = ("file", "links")  # multipart fields that carry a list; a .torrent is torrentFile
_ARRAY = re.compile(rb"^\s*\[")
_STRINGS: TypeAdapter[list[StrictStr]] = TypeAdapter(list[StrictStr])


async def read_bulk(request: Request) -> list[Source] | None:
    """The links of a bulk body, or None when the body is a single grab (still readable by
    read_grab). A list without a single link is a 400."""
    media_type = content_type(request)
    if media_type == "text/plain":
        return _some(list_lines(_text(await read_body(request), "The body")))
    if media_type == "multipart/form-data":
        form = await read_form(request)
        field = next((key for key in form if key.lower() in LIST_FIELDS), None)
        if field is None:
            return None
        try:
            return _some(list_lines(await _form_text(form, field)))
        finally:
            await form.close()
    if media_type == "" or is_json_type(media_type):
        raw = await read_body(request)
        if _ARRAY.match(raw):
            return _some(_array_lines(raw))
        # Starlette's own cache of the body (Request.body() fills it, stream() replays it):
        # read_grab reads this body again.
        request._body = raw
    return None


def _text(data: bytes, what: str) -> str:
    """UTF-8 text (a BOM tolerated); a binary or otherwise encoded upload is a 400."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{what} is not UTF-8 text (byte {exc.start} is not): send a list "
                         "of links, one a line (a .torrent is uploaded as 'torrentFile')"
                         ) from None
    if "\x00" in text:
        raise BadRequest(f"{what} is binary, not a list of links (a .torrent is uploaded "
                         "as 'torrentFile')")
    return text


async def _form_text(form: FormData, field: str) -> str:
    others = sorted({key for key in form if key != field})
    values = form.getlist(field)
    if others or len(values) != 1:
        raise BadRequest(f"A list of links is sent alone: one {field!r} part"
                         + (f", not {', '.join(map(repr, others))}" if others else ""))
    value = values[0]
    if isinstance(value, UploadFile):
        data = await value.read(MAX_BODY + 1)
        if len(data) > MAX_BODY:
            raise BadRequest(f"The {field!r} upload is larger than {MAX_BODY} bytes")
        return _text(data, f"The {field!r} upload")
    return value


def _array_lines(raw: bytes) -> list[Source]:
    """A JSON array of links; element n (from 1) is line n, blanks and `#` skipped."""
    try:
        links = _parse_strings(raw)
    except ValidationError as exc:
        raise body_errors(exc) from None
    return [Source(link=link.strip(), line=number)
            for number, link in enumerate(links, start=1)
            if link.strip() and not link.strip().startswith("#")]


def _parse_strings(raw: bytes) -> list[str]:
    try:
        return _STRINGS.validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors(include_url=False)):
            return _STRINGS.validate_json(strip_trailing_commas(raw))  # as Radarr allows
        raise


def _some(sources: list[Source]) -> list[Source]:
    if not sources:
        raise BadRequest("The list holds no link: send magnets or URLs, one a line")
    return sources


def bulk_answer(outcomes: Sequence[Outcome]) -> Response:
    """Each line's result in order, with counts: 201 when any line was queued, else 200."""
    results = [_result(outcome) for outcome in outcomes]
    counts = {kind: sum(r["result"] == kind for r in results) for kind in BulkResult}
    queued = counts[BulkResult.QUEUED]
    return json_response({"queued": queued, "duplicates": counts[BulkResult.DUPLICATE],
                          "refused": counts[BulkResult.REFUSED], "results": results},
                         status=201 if queued else 200)


def _result(outcome: Outcome) -> dict[str, Any]:
    line = {"line": outcome.source.line, "link": outcome.source.shown}
    if outcome.item is not None:
        queued = {**line, "result": BulkResult.QUEUED, "id": outcome.item.id,
                  "downloadClient": outcome.item.download_client}
        if outcome.item.group_id is not None:  # a playlist: every entry queued from it
            queued.update(groupId=outcome.item.group_id,
                          ids=[outcome.item.id, *(i.id for i in outcome.more)],
                          skipped=len(outcome.skipped))
        return queued
    error = outcome.error
    if isinstance(error, Duplicate):  # AlreadyCompleted too
        return {**line, "result": BulkResult.DUPLICATE, "existingId": error.existing_id,
                "message": error.message}
    return {**line, "result": BulkResult.REFUSED,
            "message": error.message if error is not None else "Not queued"}
