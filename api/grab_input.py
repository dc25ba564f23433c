"""Reading a grab from the wire: JSON (torrent as base64) or a multipart upload."""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from api.bodies import MAX_BODY, content_type, is_json_type, parse_json_body, read_body
from api.failures import body_errors
from api.release_schemas import CandidatesBody
from api.schemas import GrabBody
from core.domain import DownloadProtocol, MovieInfo, Priority
from core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from core.grab import MAX_TORRENT_BYTES, GrabRequest
from core.links import decode_base64
from core.offload import off_loop
from core.retry import RetryPolicy

_CANDIDATES = re.compile(rb'^\s*\{.*"releases"\s*:', re.IGNORECASE | re.DOTALL)


async def read_grab(request: Request) -> GrabRequest | CandidatesBody:
    """One release (GrabRequest), or candidates for one movie: a JSON object with a
    `releases` list (CandidatesBody)."""
    media_type = content_type(request)
    if media_type == "multipart/form-data":
        body, torrent = await _multipart(request)
    elif media_type == "" or is_json_type(media_type):
        raw = await read_body(request)
        if _CANDIDATES.match(raw[:65536]):
            return parse_json_body(raw, CandidatesBody)
        body = parse_json_body(raw, GrabBody)
        torrent = None
        if body.torrent_file is not None:
            torrent = await _decode_torrent(body.torrent_file)
    else:
        raise UnsupportedMediaType(
            f"Content-Type {media_type!r} is not accepted; send application/json, "
            "multipart/form-data, or text/plain (a list of links)"
        )
    return to_request(body, torrent)


async def _decode_torrent(data: str) -> bytes:
    """Up to 14 MB of base64 (~0.1 s of CPU), decoded by the torrent worker."""
    return await off_loop("torrent", 1, decode_base64, data, "torrentFile", MAX_TORRENT_BYTES)


async def _multipart(request: Request) -> tuple[GrabBody, bytes | None]:
    form = await read_form(request)
    try:
        return await _read_form(form)
    finally:
        await form.close()  # the spooled upload files


async def read_form(request: Request) -> FormData:
    """The multipart body, parsed within the grab's limits. Starlette keeps the parsed form
    on the request, so a second call (api/bulk_input looks first) answers the same form."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"Request body is larger than {MAX_BODY} bytes")
    try:
        return await request.form(max_files=1, max_fields=40, max_part_size=1024 * 1024)
    except Exception as exc:  # python-multipart's errors have no common base
        raise BadRequest(f"Malformed multipart body: {exc}") from None


async def _read_form(form: FormData) -> tuple[GrabBody, bytes | None]:
    fields: dict[str, Any] = {}
    torrent: bytes | None = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key.replace("_", "").lower() != "torrentfile":
                raise BadRequest(f"Unexpected file field {key!r}; upload the .torrent as "
                                 "'torrentFile'")
            torrent = await value.read(MAX_TORRENT_BYTES + 1)
            if len(torrent) > MAX_TORRENT_BYTES:
                raise BadRequest(f"torrentFile is larger than {MAX_TORRENT_BYTES} bytes")
        elif key.lower() == "movie":
            try:
                fields[key] = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise BadRequest("movie must be a JSON object") from None
        else:
            fields[key] = value
    try:
        body = GrabBody.model_validate(fields)
    except ValidationError as exc:
        raise body_errors(exc) from None
    if body.torrent_file is not None:
        if torrent is not None:
            raise BadRequest("Send torrentFile once: as an upload or as base64, not both")
        torrent = await _decode_torrent(body.torrent_file)
    return body, torrent


def to_request(body: GrabBody, torrent: bytes | None) -> GrabRequest:
    movie = None
    if body.movie is not None:
        m = body.movie
        movie = MovieInfo(m.title, m.year, m.tmdb_id, m.imdb_id, m.sort_title)
    return GrabRequest(
        title=body.title,
        download_url=body.download_url,
        torrent_file=torrent,
        protocol=DownloadProtocol[body.protocol.name] if body.protocol else None,
        movie_id=body.movie_id,
        movie=movie,
        release_id=str(body.release_id) if body.release_id is not None else None,
        indexer=body.indexer,
        size=body.size,
        seeders=body.seeders,
        leechers=body.leechers,
        priority=Priority.parse(body.priority.value),
        download_client=body.download_client,
        category=body.category,
        force=body.force,
        retry_policy=None if body.retry_policy is None else RetryPolicy(
            delays=tuple(body.retry_policy.delays),
            max_attempts=body.retry_policy.max_attempts, factor=body.retry_policy.factor,
            cap=body.retry_policy.cap, jitter=body.retry_policy.jitter),
        tags=tuple(body.tags),
    )
