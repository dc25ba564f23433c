"""Radarr's HTTP manners, as pure ASGI middleware (cheap on the hot path):

- routes are case-insensitive and a trailing slash is tolerated (no redirect);
- query keys are case-insensitive, and `key[0]=` array syntax is accepted;
- every /api request needs the API key (query `apikey`, then `X-Api-Key`, then
  `Authorization: Bearer`), compared in constant time; failure is a bare 401;
- authenticated /api responses carry X-Application-Version and no-cache headers.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

ASGIApp = Callable[..., Any]
_INDEX = re.compile(r"\[\d*\]$")


class RadarrEdge:
    """Path and query normalisation. `names` returns the canonical query-parameter
    names (collected from the routes once they exist)."""

    def __init__(self, app: ASGIApp, names: Callable[[], frozenset[str]]) -> None:
        self.app = app
        self._names = names
        self._folded: dict[str, str] | None = None

    def _canonical(self) -> dict[str, str]:
        if self._folded is None:
            self._folded = {n.lower(): n for n in self._names()}
        return self._folded

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            low = path.lower()
            fixed = low if low.startswith("/api") or low.rstrip("/") == "/ping" else path
            if len(fixed) > 1 and fixed.endswith("/"):
                fixed = fixed.rstrip("/") or "/"
            if fixed != path:
                scope = dict(scope, path=fixed, raw_path=fixed.encode())
            query: bytes = scope.get("query_string", b"")
            if query:
                rewritten = self._rewrite(query)
                if rewritten is not None:
                    scope = dict(scope, query_string=rewritten)
        await self.app(scope, receive, send)

    def _rewrite(self, query: bytes) -> bytes | None:
        names = self._canonical()
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        changed = False
        out = []
        for key, value in pairs:
            bare = _INDEX.sub("", key)
            canonical = names.get(bare.lower(), bare)
            if canonical != key:
                changed = True
            out.append((canonical, value))
        return urlencode(out).encode("latin-1") if changed else None


def api_key_from(scope: dict[str, Any]) -> str | None:
    """The key the way Radarr reads it: a present `apikey` query parameter wins, even
    when empty; then X-Api-Key; then Authorization: Bearer."""
    query: bytes = scope.get("query_string", b"")
    if query:
        for part in query.split(b"&"):
            name, _, value = part.partition(b"=")
            if name.lower() == b"apikey":
                return unquote(value.decode("latin-1").replace("+", " "))
    bearer = None
    for name, value in scope.get("headers", ()):
        if name == b"x-api-key":
            return value.decode("latin-1")
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            bearer = value[7:].decode("latin-1").strip()
    return bearer


class ApiKeyAuth:
    """Requires the API key on /api paths (after RadarrEdge has lower-cased them)."""

    def __init__(self, app: ASGIApp, key: Callable[[], str], version: str) -> None:
        self.app = app
        self._key = key
        self._headers = [
            (b"x-application-version", version.encode()),
            (b"cache-control", b"no-cache, no-store"),
            (b"pragma", b"no-cache"),
            (b"expires", b"-1"),
        ]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not (
            scope["path"] == "/api" or scope["path"].startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        given = api_key_from(scope)
        if given is None or not hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), self._key().encode()
        ):
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        extra = self._headers

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", ()), *extra])
            await send(message)

        await self.app(scope, receive, send_with_headers)
