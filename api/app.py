"""The FastAPI app factory: `uvicorn --factory api.app:create_app`."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.cors import CORSMiddleware

from api import errors
from api.compression import Compression
from api.docs import docs_app
from api.edge import ApiKeyAuth, RadarrEdge
from api.pydantic_v1 import skip_v1_import
from api.resources import event_json
from api.routers import (
    backup,
    blocklist,
    command,
    config,
    customformat,
    downloadclient,
    group,
    health,
    history,
    language,
    movie,
    notification,
    qualitydefinition,
    qualityprofile,
    queue,
    release,
    rootfolder,
    stream,
    system,
    tag,
    telegram,
    ui,
)
from api.url_base import RootPath, UrlBase
from api.version import QUEUARR_VERSION, RADARR_API_VERSION
from core.ratelimit import FailureLimiter
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings

log = logging.getLogger("queuarr")

DESCRIPTION = """A download-queue server that speaks Radarr's `/api/v3/queue` API.

Every `/api` call needs the API key: the `X-Api-Key` header, the `apikey` query
parameter, or `Authorization: Bearer <key>`. Errors are `{"message": ...}`."""


def create_app(settings: Settings | None = None, container: Container | None = None,
               processor: bool = True) -> FastAPI:
    """Build the app. The container is built in the lifespan (never at import), unless a
    test hands one in; `processor=False` serves the API only (a replica)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = container is None
        c = container or build(settings or Settings(), processor=processor)
        await c.start()
        if c.webhook is not None:  # webhooks carry the item's queue resource
            c.webhook.render = lambda event: event_json(event, c.clock.now())
        app.state.container = c
        # Everything built so far lives as long as the process: keep it out of the
        # cyclic collector, whose full passes over it were 50 ms pauses under load. No
        # collection first: it cost 70-150 ms on the way to the first answer, for the
        # ~1,500 unreachable objects start-up leaves (they stay). `queuarr serve` keeps
        # the collector off while it loads (api/cli.py); it runs again from here. (Not
        # for a container handed in, as tests do: the test process's heap is not the
        # app's.)
        if own:
            gc.freeze()
            gc.enable()
        where = c.database.url.render_as_string(hide_password=True) if c.database else "memory"
        log.info("Queuarr %s ready on %s", QUEUARR_VERSION, where)
        try:
            yield
        finally:
            if own:
                gc.unfreeze()  # an app restarted in-process frees its own
            if own:
                await c.aclose()

    app = docs_app(  # /docs and /redoc from the package, not a CDN
        title="Queuarr",
        version=QUEUARR_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,
        # FastAPI's OpenTelemetry bridge probes the providers on every request; Queuarr
        # does not use OpenTelemetry, so it stays off.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    skip_v1_import()  # before the first route is built
    _mount(app, system.router)
    _mount(app, backup.router)  # issue 17
    _mount(app, stream.router)  # before queue's /{id}
    _mount(app, group.router)  # before queue's /{id}
    _mount(app, queue.router)
    _mount(app, blocklist.router)
    _mount(app, downloadclient.router)
    _mount(app, history.router)
    _mount(app, health.router)
    _mount(app, release.router)
    _mount(app, customformat.router)
    _mount(app, qualityprofile.router)
    _mount(app, notification.router)
    for small in (tag, language, qualitydefinition, rootfolder, config):  # issue 13
        _mount(app, small.router)
    _mount(app, command.router)
    _mount(app, movie.router)
    _mount(app, telegram.router)  # issue 14: outside /api, its own secret
    _mount(app, ui.router)  # issue 16: the web UI, and its session cookie

    def query_names() -> frozenset[str]:
        from api.query_names import query_names as declared  # not app.openapi(): issue 18

        return frozenset({"apikey", *declared(app)})

    app.state.auth_failures = FailureLimiter()  # wrong API keys, per client address
    app.add_middleware(RootPath)  # innermost: the routes see ASGI's full path (url_base)
    app.add_middleware(ApiKeyAuth, key=lambda: app.state.container.api_key,
                       version=RADARR_API_VERSION,
                       failures=lambda: app.state.auth_failures,
                       sessions=lambda: app.state.container.settings.ui)
    app.add_middleware(RadarrEdge, names=query_names)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"],
                       allow_headers=["*"])
    app.add_middleware(UrlBase, base=lambda: app.state.container.settings.url_base)
    app.add_middleware(Compression)  # outermost: it sees the final bodies
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _mount(app: FastAPI, router: APIRouter) -> None:
    """The router's routes, as they are, in the app's own list. FastAPI's include_router
    would keep the router and build every route a second time for it (a dependant, a
    body and a response field each) on the first request that reaches that router; the
    routers here need nothing include_router adds (no prefix, tags, dependencies or
    responses at inclusion), and a DeferredRoute (api/deferred_route.py) is built once,
    when a request first reaches it."""
    app.router.routes.extend(router.routes)


def end_streams(app: FastAPI) -> None:
    """The server begins to stop: end the live event streams now. They never end by
    themselves, and the server waits for open responses before the lifespan's shutdown
    gives the leases back and stops the managed aria2c."""
    container: Container | None = getattr(app.state, "container", None)
    if container is not None and container.events is not None:
        container.events.end_streams()


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (*queue.BODY_MODELS, notification.NotificationBody,
                  downloadclient.DownloadClientBody):
        definition = model.model_json_schema(ref_template="#/components/schemas/{model}",
                                             by_alias=True)
        schemas.update(definition.pop("$defs", {}))
        schemas[model.__name__] = definition
    components["securitySchemes"] = {
        "X-Api-Key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        "apikey": {"type": "apiKey", "in": "query", "name": "apikey"},
    }
    for path, item in schema["paths"].items():
        if path == "/api" or path.startswith("/api/") or path == "/metrics":
            for operation in item.values():
                operation["security"] = [{"X-Api-Key": []}, {"apikey": []}]
                operation.setdefault("responses", {})["401"] = {
                    "description": "Missing or wrong API key (empty body)"}
                operation["responses"]["429"] = {
                    "description": "Too many wrong API keys from this address; Retry-After "
                                   "says when it may try again"}
    app.openapi_schema = schema
    return schema
