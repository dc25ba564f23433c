"""/api/v3/downloadclient: Radarr's download-client endpoints (qBittorrent and aria2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.params import ContainerDep, ItemId, valid_id
from api.resources import download_client_resource, download_client_schema
from api.responses import json_response
from api.routers.queue import ERRORS
from api.schemas import DownloadClientBody, DownloadClientResource, DownloadClientTestResult
from core.clients import ClientConfig, ClientKind
from core.errors import BadRequest, DownloadClientError, NotFound
from infrastructure.bootstrap import Container
from infrastructure.clients.registry import ClientRegistry

router = APIRouter(prefix="/api/v3/downloadclient", tags=["DownloadClient"],
                   route_class=DeferredRoute)

_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/DownloadClientBody"}}}}}
ForceSave = Annotated[bool, Query(alias="forceSave", description="Save without testing")]


def _registry(c: Container) -> ClientRegistry:
    if c.clients is None:
        raise NotFound("Download clients are not available in this process")
    return c.clients


async def _body(c: Container, request: Request) -> DownloadClientBody:
    """The body, its tags checked: each must exist (GET /api/v3/tag; Radarr stores
    unknown ids silently)."""
    body = await require_json(request, DownloadClientBody)
    if c.tags is not None:
        body.tags = list(await c.tags.check_known(body.tags))
    return body


def _kind(implementation: str) -> ClientKind:
    for kind in ClientKind:
        if kind.value.lower() == implementation.strip().lower():
            return kind
    known = ", ".join(k.value for k in ClientKind)
    raise BadRequest(f"Unknown implementation {implementation!r} (use {known}); Queuarr has "
                     "no usenet client")


def _prepare(registry: ClientRegistry, body: DownloadClientBody,
             previous: ClientConfig | None = None) -> ClientConfig:
    if body.protocol is not None and body.protocol.value not in ("torrent", "unknown"):
        raise BadRequest(f"protocol {body.protocol.value!r}: Queuarr's clients are torrent "
                         "(and direct http) clients, and yt-dlp")
    kind = _kind(body.implementation)
    wanted = "unknown" if kind is ClientKind.YTDLP else "torrent"
    if body.protocol is not None and body.protocol.value != wanted:
        raise BadRequest(f"protocol {body.protocol.value!r}: {kind.value} is filed under "
                         f"{wanted!r}")
    if previous is not None and previous.kind is not kind:
        raise BadRequest("implementation cannot change; delete the client and add a new one")
    return registry.prepare(
        kind, body.name, [f.model_dump() for f in body.fields], previous,
        enable=body.enable, priority=body.priority,
        remove_completed=body.remove_completed_downloads,
        remove_failed=body.remove_failed_downloads, tags=tuple(sorted(set(body.tags))))


@router.get("", response_model=list[DownloadClientResource],
            summary="List the download clients")
async def list_clients(c: ContainerDep) -> Response:
    registry = _registry(c)
    await registry.load()
    return json_response([download_client_resource(x) for x in registry.configs()])


@router.get("/schema", response_model=list[DownloadClientResource],
            summary="Blank resources for each implementation (QBittorrent, Aria2)")
async def schema(c: ContainerDep) -> Response:
    """Templates to fill in and POST back: every field with its default."""
    return json_response([download_client_schema(kind) for kind in ClientKind])


@router.get("/{id}", response_model=DownloadClientResource, summary="Get a download client",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_client(c: ContainerDep, id: ItemId) -> Response:
    registry = _registry(c)
    await registry.load()
    return json_response(download_client_resource(registry.config(valid_id(id))))


@router.post("", response_model=DownloadClientResource, status_code=201,
             summary="Add a download client", openapi_extra=_BODY,
             responses={400: ERRORS[400]})
async def create_client(c: ContainerDep, request: Request,
                        force_save: ForceSave = False) -> Response:
    """Tests the client first (as Radarr does) unless `forceSave=true` or it is disabled;
    a failed test is a 400 saying why."""
    registry = _registry(c)
    body = await _body(c, request)
    stored = await registry.create(_prepare(registry, body), force=force_save)
    if stored.enable:
        c.dispatching.wake()  # items waiting for a client may go now
    return json_response(download_client_resource(stored), status=201)


@router.put("/{id}", response_model=DownloadClientResource, summary="Change a download client",
            openapi_extra=_BODY, status_code=202,
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def update_client(c: ContainerDep, id: ItemId, request: Request,
                        force_save: ForceSave = False) -> Response:
    """A secret sent back as ******** keeps its stored value. Clients configured by
    settings, and the managed aria2c, are read-only."""
    registry = _registry(c)
    await registry.load()
    previous = registry.config(valid_id(id))
    body = await _body(c, request)
    stored = await registry.update(_prepare(registry, body, previous), force=force_save)
    if stored.enable:
        c.dispatching.wake()  # items waiting for a client may go now
    return json_response(download_client_resource(stored), status=202)


@router.delete("/{id}", response_class=Response, summary="Delete a download client",
               responses={200: {"description": "Deleted (empty body)"}, 404: ERRORS[404],
                          400: ERRORS[400]})
async def delete_client(c: ContainerDep, id: ItemId) -> Response:
    registry = _registry(c)
    await registry.load()
    await registry.delete(valid_id(id))
    return json_response({})


@router.post("/test", response_class=Response, summary="Test a download client's settings",
             openapi_extra=_BODY,
             responses={200: {"description": "The client answered"}, 400: ERRORS[400]})
async def test_client(c: ContainerDep, request: Request) -> Response:
    """Connects with the given settings (nothing is stored); 400 with the reason when the
    client cannot be reached or refuses the login or secret."""
    registry = _registry(c)
    body = await _body(c, request)
    previous = None
    if body.id:
        try:
            previous = registry.config(body.id)
        except NotFound:
            previous = None
    await registry.test(_prepare(registry, body, previous))
    return json_response({})


@router.post("/testall", response_model=list[DownloadClientTestResult],
             summary="Test every enabled download client")
async def test_all(c: ContainerDep) -> Response:
    registry = _registry(c)
    await registry.load()
    results: list[dict[str, Any]] = []
    for config in registry.configs():
        if not config.enable:
            continue
        adapter = registry.get(config.name)
        failures: list[dict[str, Any]] = []
        if adapter is None:
            failures.append({"propertyName": "", "errorMessage": "not usable", "severity": "error"})
        else:
            try:
                await adapter.test()
            except DownloadClientError as exc:
                failures.append({"propertyName": "", "errorMessage": exc.message,
                                 "severity": "error"})
        results.append({"id": config.id, "isValid": not failures,
                        "validationFailures": failures})
    return json_response(results)
