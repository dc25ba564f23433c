"""Response helpers: every JSON body goes through api.resources.dumps (Radarr's date
format), and large lists stream in chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import Response, StreamingResponse

from api.resources import dumps
from core.domain import QueueItem

JSON = "application/json"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type=JSON)


def empty_ok() -> Response:
    """Radarr's void actions: 200 with an empty body and no Content-Type."""
    return Response(status_code=200)


async def _stream(prefix: bytes, chunks: AsyncIterator[list[QueueItem]], suffix: bytes,
                  render: Callable[[QueueItem], Any]) -> AsyncIterator[bytes]:
    yield prefix
    first = True
    async for chunk in chunks:
        if not chunk:
            continue
        encoded = dumps([render(item) for item in chunk])[1:-1]
        yield encoded if first else b"," + encoded
        first = False
    yield suffix


def stream_items(header: dict[str, Any] | None, chunks: AsyncIterator[list[QueueItem]],
                 render: Callable[[QueueItem], Any]) -> StreamingResponse:
    """A JSON array of items (or a paging wrapper around one when `header` is given),
    written a chunk at a time."""
    if header is None:
        prefix, suffix = b"[", b"]"
    else:
        prefix = dumps(header)[:-1] + b',"records":['
        suffix = b"]}"
    return StreamingResponse(_stream(prefix, chunks, suffix, render), media_type=JSON)
