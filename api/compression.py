"""Compressed answers (issue 18), as pure ASGI middleware: nothing is buffered past the
first KiB, a streamed body is compressed as it goes, and each event of a
text/event-stream is flushed so that the client decodes it at once. (Starlette's
GZipMiddleware buffers, and skips event streams.)

A body is compressed when the client accepts a coding (api.encodings.choose), its type is
text (JSON, text/*, JavaScript, SVG, XML), it is at least MINIMUM bytes (an event stream
whatever its size), it is not a HEAD, 204, 304 or range answer, and it has no
Content-Encoding yet. Then Content-Length is fixed (or dropped for a stream) and a strong
ETag becomes weak: the bytes differ from the file's, the resource is the same, and the
If-None-Match comparison (weak) still matches, so revalidation still gives 304.

`Vary: Accept-Encoding` goes on every text answer to a request that sent
Accept-Encoding, compressed or not. A request without the header (wrk, curl, most
scripts) costs a header scan and nothing else: its answer is identity, which every
client accepts, so a cache that keeps it without Vary serves nobody bytes it cannot read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.encodings import CODECS, Encoder, choose, installed

ASGIApp = Callable[..., Any]
Message = dict[str, Any]

MINIMUM = 1024  # bytes: below it a coding's framing and CPU cost more than they save
_TEXT = frozenset({b"application/json", b"application/javascript", b"application/xml",
                   b"image/svg+xml", b"application/x-ndjson"})
_EVENTS = b"text/event-stream"
_CACHE_SIZE = 256  # distinct Accept-Encoding values remembered (clients send a handful)
# A file answer through one of these would bypass the body: compressed answers read it.
_FILE_SENDS = ("http.response.pathsend", "http.response.zerocopysend")


def _text(content_type: bytes) -> bool:
    kind = content_type.partition(b";")[0].strip().lower()
    return (kind.startswith(b"text/") or kind in _TEXT or kind.endswith(b"+json")
            or kind.endswith(b"+xml"))


class Compression:
    """Compresses answers for clients that accept it (see the module's docstring);
    `offered` is the codings to choose from, by default every one installed."""

    def __init__(self, app: ASGIApp, offered: tuple[str, ...] | None = None,
                 minimum: int = MINIMUM) -> None:
        self.app = app
        self.offered = installed() if offered is None else offered
        self.minimum = minimum
        self._chosen: dict[bytes, str | None] = {}

    def _choose(self, accept: bytes) -> str | None:
        try:
            return self._chosen[accept]
        except KeyError:
            pass
        if len(self._chosen) >= _CACHE_SIZE:
            self._chosen.clear()
        coding = self._chosen[accept] = choose(accept.decode("latin-1"), self.offered)
        return coding

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value if accept is None else accept + b"," + value
        if accept is None:
            await self.app(scope, receive, send)
            return
        coding = None if scope["method"] == "HEAD" else self._choose(accept)
        if coding is not None:
            extensions = scope.get("extensions") or {}
            if any(kind in extensions for kind in _FILE_SENDS):
                scope = dict(scope, extensions={k: v for k, v in extensions.items()
                                                if k not in _FILE_SENDS})
        await self.app(scope, receive, _Reply(send, coding, self.minimum, scope).send)


class _Reply:
    """One answer on its way out: the start is held until the body shows whether to
    compress it."""

    __slots__ = ("_buffer", "_coding", "_encoder", "_events", "_minimum", "_out", "_scope",
                 "_size", "_start")

    def __init__(self, send: Any, coding: str | None, minimum: int,
                 scope: dict[str, Any]) -> None:
        self._out = send
        self._scope = scope
        self._coding = coding
        self._minimum = minimum
        self._start: Message | None = None  # held until the body decides
        self._buffer: list[bytes] = []
        self._size = 0
        self._encoder: Encoder | None = None
        self._events = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            start = self._started(message)
            if start is not None:
                await self._out(start)
        elif kind == "http.response.body" and (self._start is not None
                                              or self._encoder is not None):
            await self._body(message.get("body", b""), message.get("more_body", False))
        else:
            await self._out(message)

    def _started(self, message: Message) -> Message | None:
        """The start to send now, or None to hold it (the answer may be compressed)."""
        headers = message.get("headers", ())
        content_type = content_length = None
        for name, value in headers:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                content_length = value
            elif name in (b"content-encoding", b"content-range"):
                return message  # already encoded, or a part of a whole
        status = message["status"]
        if status == 304:
            return _vary(self._as_held(message))  # what the 200 would say
        if content_type is None or not _text(content_type):
            return message
        if self._coding is None or status < 200 or status in (204, 206) or (
                content_length is not None and int(content_length) < self._minimum):
            return _vary(message)
        self._start = message
        self._events = content_type.startswith(_EVENTS)
        return None

    def _as_held(self, start: Message) -> Message:
        """A 304 names the ETag as the client holds it: weak if what it holds was
        compressed (it sent If-None-Match: W/"...")."""
        headers = start.get("headers", ())
        etag = next((v for k, v in headers if k == b"etag"), None)
        if etag is None or not etag.startswith(b'"'):
            return start
        held = next((v for k, v in self._scope["headers"] if k == b"if-none-match"), b"")
        if b"W/" + etag not in held:
            return start
        return dict(start, headers=[(k, b"W/" + v if k == b"etag" else v)
                                    for k, v in headers])

    async def _body(self, body: bytes, more: bool) -> None:
        if self._encoder is not None:
            await self._stream(body, more)
            return
        if not more and not self._buffer:
            await self._whole(body)
            return
        self._buffer.append(body)
        self._size += len(body)
        if more and self._size < self._minimum and not self._events:
            return  # too little to tell yet
        buffered = b"".join(self._buffer)
        self._buffer.clear()
        if not more and self._size < self._minimum:
            await self._plain(buffered)
            return
        assert self._coding is not None and self._start is not None
        self._encoder = CODECS[self._coding][0]()
        start, self._start = self._start, None
        await self._out(_encoded(start, self._coding, None))
        await self._stream(buffered, more)

    async def _stream(self, body: bytes, more: bool) -> None:
        encoder = self._encoder
        assert encoder is not None
        if not more:
            out = encoder.finish(body)
        elif self._events:
            out = encoder.flush(body) if body else b""
        else:
            out = encoder.compress(body) if body else b""
        if out or not more:
            await self._out({"type": "http.response.body", "body": out, "more_body": more})

    async def _whole(self, body: bytes) -> None:
        """A body in one message: compressed if it is big enough and it helps."""
        assert self._coding is not None and self._start is not None
        if len(body) < self._minimum:
            await self._plain(body)
            return
        packed = CODECS[self._coding][1](body)
        if len(packed) >= len(body):
            await self._plain(body)
            return
        start, self._start = self._start, None
        await self._out(_encoded(start, self._coding, len(packed)))
        await self._out({"type": "http.response.body", "body": packed})

    async def _plain(self, body: bytes) -> None:
        assert self._start is not None
        start, self._start = self._start, None
        await self._out(_vary(start))
        await self._out({"type": "http.response.body", "body": body})


def _vary(start: Message) -> Message:
    headers = []
    found = False
    for name, value in start.get("headers", ()):
        if name == b"vary":
            found = True
            if b"accept-encoding" not in value.lower() and value.strip() != b"*":
                value = value + b", Accept-Encoding"
        headers.append((name, value))
    if not found:
        headers.append((b"vary", b"Accept-Encoding"))
    return dict(start, headers=headers)


def _encoded(start: Message, coding: str, length: int | None) -> Message:
    """The start of a compressed answer: its coding, its new length (none for a stream:
    it goes chunked) and a weak ETag."""
    headers = []
    for name, value in _vary(start)["headers"]:
        if name == b"content-length":
            continue
        if name == b"etag" and value.startswith(b'"'):
            value = b"W/" + value
        headers.append((name, value))
    headers.append((b"content-encoding", coding.encode()))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return dict(start, headers=headers)
