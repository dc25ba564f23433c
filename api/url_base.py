"""QUEUARR_URL_BASE: the whole app under a sub-path, for a reverse proxy that passes the
full path on (Radarr's "URL Base": `location /queuarr { proxy_pass http://queuarr; }`).

Two pure-ASGI layers around the middleware that reads paths (api.edge):

- `UrlBase`, outermost, takes the base off the path, so that Radarr's edge rules see the
  paths they know (/api/..., /ui/), and adds it to `root_path`; a path outside the base is
  a 404, as in Radarr, except `/`, which is served as the base's `/` (a redirect to the
  page). The match ignores case, as Radarr's routes do.
- `RootPath`, innermost, puts `root_path` back in front of the path, as ASGI has it (the
  path includes the root path), so that Starlette's routing, its mounts (the docs' files)
  and every URL built from `root_path` (the docs, the OpenAPI `servers`, the page's
  redirect and cookie path) carry the base.

A `root_path` the server sets (uvicorn's --root-path, for a proxy that strips its prefix)
is taken off the path the same way and kept in front of the base."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ASGIApp = Callable[..., Any]
_NOT_FOUND = b'{"message":"NotFound"}'  # api.errors' answer to an unknown route


def _strip(path: str, prefix: str) -> str | None:
    """`path` without `prefix` (compared ignoring case), "/" for the prefix itself; None
    when the path is not under it."""
    if not prefix:
        return path
    head = path[:len(prefix)]
    if head.lower() != prefix.lower():
        return None
    rest = path[len(prefix):]
    if not rest:
        return "/"
    return rest if rest.startswith("/") else None


class UrlBase:
    """Takes the base (`base()`, read per request: the settings live in the container the
    lifespan builds) off the path and adds it to root_path; 404 outside it."""

    def __init__(self, app: ASGIApp, base: Callable[[], str]) -> None:
        self.app = app
        self._base = base

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        served = scope.get("root_path", "")
        base = self._base()
        if not served and not base:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        raw: bytes | None = scope.get("raw_path")
        unserved = _strip(path, served) if served else None
        if unserved is not None:  # uvicorn puts its root path in the path too
            path, raw = unserved, _strip_raw(raw, served)
        inner = _strip(path, base)
        if inner is not None:
            raw = _strip_raw(raw, base)
        elif path == "/":  # served as the base's own "/"
            inner, raw = "/", b"/"
        else:
            await _not_found(scope, send)
            return
        scope = dict(scope, path=inner, root_path=served + base)
        if raw is None:
            scope.pop("raw_path", None)
        else:
            scope["raw_path"] = raw
        await self.app(scope, receive, send)


def _strip_raw(raw: bytes | None, prefix: str) -> bytes | None:
    """raw_path without `prefix`; None (dropped) when the client spelled the prefix some
    other way (percent-escapes), since only `path` is then sure."""
    if raw is None or not prefix:
        return raw
    stripped = _strip(raw.decode("latin-1"), prefix)
    return None if stripped is None else stripped.encode("latin-1")


class RootPath:
    """Puts root_path back in front of the path (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        root: str = scope.get("root_path", "")
        if root and scope["type"] in ("http", "websocket"):
            scope = dict(scope, path=root + scope["path"])
            raw: bytes | None = scope.get("raw_path")
            if raw is not None:
                scope["raw_path"] = root.encode("latin-1") + raw
        await self.app(scope, receive, send)


async def _not_found(scope: dict[str, Any], send: Any) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})
        return
    await send({"type": "http.response.start", "status": 404, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_NOT_FOUND)).encode())]})
    await send({"type": "http.response.body", "body": _NOT_FOUND})
