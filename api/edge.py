"""Radarr's HTTP manners, as pure ASGI middleware (cheap on the hot path):

- routes are case-insensitive and a trailing slash is tolerated (no redirect);
- query keys are case-insensitive, and `key[0]=` array syntax is accepted;
- every /api request needs the API key (query `apikey`, then `X-Api-Key`, then
  `Authorization: Bearer`), compared in constant time; failure is a bare 401, and an
  address that sent too many wrong keys gets 429 with Retry-After for a while;
- the web UI's session cookie (api.session) stands in for the key; a request it
  authenticates that may change something must also carry `X-Queuarr-UI: 1` (403 without);
- authenticated /api responses carry X-Application-Version and no-cache headers.
"""

from __future__ import annotations

import hmac
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import orjson

from api import session
from core.ratelimit import FailureLimiter

ASGIApp = Callable[..., Any]
log = logging.getLogger("queuarr.api")
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
            # "/ui/" keeps its slash: the page's relative URLs resolve against it.
            if len(fixed) > 1 and fixed.endswith("/") and fixed != "/ui/":
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


async def _bare(send: Any, status: int, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", b"0"), *headers]})
    await send({"type": "http.response.body", "body": b""})


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


_JSON_RANGES = frozenset({"application/json", "text/json", "application/*", "text/*", "*/*"})


def accepts_json(accept: bytes | None) -> bool:
    """Whether an Accept header admits a JSON answer (no header admits anything)."""
    if not accept:
        return True
    for media_range in accept.decode("latin-1").lower().split(","):
        kind, *params = (part.strip() for part in media_range.split(";"))
        if kind in _JSON_RANGES or (kind.startswith("application/") and kind.endswith("+json")):
            q = next((p[2:] for p in params if p.startswith("q=")), "1")
            try:
                if float(q) > 0:
                    return True
            except ValueError:
                return True
    return False


# Paths whose answers are not JSON: the key is checked, the Accept header is not.
NOT_JSON = frozenset({"/metrics", "/api/v3/queue/stream"})


async def _forbidden(send: Any) -> None:
    body = orjson.dumps({"message": "A request signed in by the web UI's cookie must carry "
                                    "the header X-Queuarr-UI: 1"})
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# Methods a cookie alone may use: they change nothing, so a cross-site request gains nothing.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _too_many(send: Any, seconds: float) -> None:
    body = orjson.dumps({"message": "Too many failed API keys from this address; try "
                                    f"again in {math.ceil(seconds)} s"})
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(max(1, math.ceil(seconds))).encode())]})
    await send({"type": "http.response.body", "body": body})


class ApiKeyAuth:
    """Requires the API key on /api paths and /metrics (after RadarrEdge has lower-cased
    them). Wrong keys are counted per client address (`failures`, core.ratelimit): past
    the limit, the address gets 429 for everything until its window passes. Without a
    key, a valid session cookie (api.session) authenticates when `sessions()` says the web
    UI is on."""

    def __init__(self, app: ASGIApp, key: Callable[[], str], version: str,
                 failures: Callable[[], FailureLimiter] | None = None,
                 sessions: Callable[[], bool] = lambda: False) -> None:
        self.app = app
        self._key = key
        self._sessions = sessions
        own = FailureLimiter()
        self._failures = failures or (lambda: own)
        self._headers = [
            (b"x-application-version", version.encode()),
            (b"cache-control", b"no-cache, no-store"),
            (b"pragma", b"no-cache"),
            (b"expires", b"-1"),
        ]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not (
            scope["path"] == "/api" or scope["path"].startswith("/api/")
            or scope["path"] == "/metrics"
        ):
            await self.app(scope, receive, send)
            return
        failures = self._failures()
        address = (scope.get("client") or ("unknown",))[0]
        wait = failures.retry_after(address)
        if wait is not None:
            await _too_many(send, wait)
            return
        given = api_key_from(scope)
        if given is None and self._sessions():
            headers = scope.get("headers", ())
            if not session.signed_in(headers, self._key()):
                await _bare(send, 401)
                return
            if scope["method"] not in SAFE_METHODS and \
                    (session.UI_HEADER, b"1") not in headers:
                await _forbidden(send)
                return
        elif given is None:
            await _bare(send, 401)
            return
        elif not hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                     self._key().encode()):
            if failures.failed(address):
                log.warning("%s sent %d wrong API keys within %g s: its requests get 429 "
                            "until the window passes", address, failures.limit,
                            failures.window)
            await _bare(send, 401)
            return
        extra = self._headers
        accept = next((v for k, v in scope.get("headers", ()) if k == b"accept"), None)
        if scope["method"] in ("GET", "HEAD") and scope["path"] not in NOT_JSON and \
                not accepts_json(accept):
            await _bare(send, 406, extra)  # Radarr's ReturnHttpNotAcceptable
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", ()), *extra])
            await send(message)

        await self.app(scope, receive, send_with_headers)
