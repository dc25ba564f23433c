"""The web UI's server side: the page and its files (package data under api/ui/static),
and sign-in with the API key for a session cookie (api.session) that then stands in for
the key at /api (api.edge.ApiKeyAuth). QUEUARR_UI=false answers 404 for all of it.

Outside /api, so the API key is not required here; wrong keys sent to the sign-in count
with wrong API keys (one limiter per address), so guessing here is no faster."""

from __future__ import annotations

import hmac
import logging
import math
import mimetypes
import stat
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request
from starlette.datastructures import Headers
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles

from api import session
from api.deferred_route import DeferredRoute
from api.params import ContainerDep
from api.responses import json_response
from api.schemas import Message
from core.ratelimit import FailureLimiter
from infrastructure.bootstrap import Container

# The page and its files are not API operations (left out of /openapi.json); the session
# endpoints are.
router = APIRouter(route_class=DeferredRoute)
log = logging.getLogger("queuarr.api")

STATIC = Path(__file__).resolve().parent.parent / "ui" / "static"
MAX_BODY = 4096  # bytes of a sign-in body; a key is far shorter
# Fixed here rather than left to the host's mime.types, which differs between systems.
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
         ".woff2": "font/woff2", ".json": "application/json", ".txt": "text/plain; "
         "charset=utf-8", ".map": "application/json"}
_files = StaticFiles(directory=STATIC, check_dir=False)  # its traversal-safe lookup


def _ui_on(c: Container) -> None:
    if not c.settings.ui:
        raise HTTPException(404)


def _file(request: Request, path: str, cache: str) -> Response:
    """A file under STATIC with validators (ETag, Last-Modified) and 304s; 404 for
    anything else, a path that leaves STATIC included."""
    full, found = _files.lookup_path(path)
    if found is None or not stat.S_ISREG(found.st_mode):
        raise HTTPException(404)
    suffix = Path(full).suffix.lower()
    kind = TYPES.get(suffix) or mimetypes.guess_type(full)[0] or "application/octet-stream"
    response = FileResponse(full, stat_result=found, media_type=kind, headers={
        "Cache-Control": cache, "X-Content-Type-Options": "nosniff"})
    if _files.is_not_modified(response.headers, Headers(scope=request.scope)):
        return NotModifiedResponse(response.headers)
    return response


def _base(request: Request) -> str:
    """The URL base the browser sees (QUEUARR_URL_BASE, api.url_base), "" for none."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def root(request: Request, c: ContainerDep) -> Response:
    _ui_on(c)
    return RedirectResponse(f"{_base(request)}/ui/", status_code=302)


@router.api_route("/ui", methods=["GET", "HEAD"], include_in_schema=False)
async def to_page(request: Request, c: ContainerDep) -> Response:
    _ui_on(c)
    # The page's URLs are relative to /ui/.
    return RedirectResponse(f"{_base(request)}/ui/", status_code=302)


# RadarrEdge leaves this slash alone.
@router.api_route("/ui/", methods=["GET", "HEAD"], include_in_schema=False)
async def page(request: Request, c: ContainerDep) -> Response:
    _ui_on(c)
    response = _file(request, "index.html", "no-cache")
    response.headers["X-Frame-Options"] = "DENY"
    return response


@router.api_route("/ui/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def static_file(request: Request, path: str, c: ContainerDep) -> Response:
    _ui_on(c)
    return _file(request, path, "public, max-age=3600")


def _secure(request: Request) -> bool:
    """Whether the browser reached us over https (directly or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or \
        forwarded.split(",")[0].strip().lower() == "https"


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


SESSION_DOCS: dict[str, Any] = {"include_in_schema": True, "tags": ["Web UI"]}


@router.get("/ui/session", summary="Whether this browser is signed in to the web UI",
            response_model=None, responses={200: {"content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "signedIn": {"type": "boolean"}}, "required": ["signedIn"]}}}},
                404: {"description": "QUEUARR_UI is false"}}, **SESSION_DOCS)
async def signed_in(request: Request, c: ContainerDep) -> Response:
    _ui_on(c)
    verdict = session.signed_in(request.scope["headers"], c.api_key)
    return _no_store(json_response({"signedIn": bool(verdict)}))


@router.post("/ui/session", summary="Sign in to the web UI with the API key",
             status_code=204, response_model=None, openapi_extra={"requestBody": {
                 "required": True, "content": {"application/json": {"schema": {
                     "type": "object", "properties": {"apiKey": {"type": "string"}},
                     "required": ["apiKey"]}}}}},
             responses={204: {"description": "Signed in: an HttpOnly, SameSite=Strict "
                              "session cookie is set (requests it authenticates that change "
                              "something must carry X-Queuarr-UI: 1)"},
                        400: {"model": Message}, 401: {"model": Message},
                        404: {"description": "QUEUARR_UI is false"},
                        429: {"model": Message}}, **SESSION_DOCS)
async def sign_in(request: Request, c: ContainerDep) -> Response:
    _ui_on(c)
    client = request.client.host if request.client else "unknown"
    failures: FailureLimiter = request.app.state.auth_failures
    wait = failures.retry_after(client)
    if wait is not None:
        limited = json_response({"message": "Too many failed API keys from this address; "
                                            f"try again in {math.ceil(wait)} s"}, 429)
        limited.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return limited
    key = await _key_from(request)
    if key is None:
        return json_response({"message": 'Send {"apiKey": "<the API key>"} as JSON'}, 400)
    if not hmac.compare_digest(key.encode("utf-8", "surrogateescape"), c.api_key.encode()):
        if failures.failed(client):
            log.warning("%s sent %d wrong API keys within %g s: its requests get 429 "
                        "until the window passes", client, failures.limit, failures.window)
        return json_response({"message": "Wrong API key"}, 401)
    response = Response(status_code=204)
    response.headers["Set-Cookie"] = session.set_cookie(
        session.issue(c.api_key), _secure(request), _base(request) or "/")
    return _no_store(response)


@router.delete("/ui/session", summary="Sign out of the web UI (the cookie is cleared)",
               status_code=204, response_model=None,
               responses={204: {"description": "Signed out"},
                          404: {"description": "QUEUARR_UI is false"}}, **SESSION_DOCS)
async def sign_out(request: Request, c: ContainerDep) -> Response:
    _ui_on(c)
    response = Response(status_code=204)
    response.headers["Set-Cookie"] = session.clear_cookie(_secure(request),
                                                          _base(request) or "/")
    return _no_store(response)


async def _key_from(request: Request) -> str | None:
    """The apiKey of a small JSON body, else None (the body is never echoed: a key)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    key = parsed.get("apiKey") if isinstance(parsed, dict) else None
    return key if isinstance(key, str) and key else None
