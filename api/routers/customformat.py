"""/api/v3/customformat: Radarr's custom formats; Radarr and TRaSH JSON import as is."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.format_fields import format_schema
from api.params import ContainerDep, ItemId, valid_id
from api.release_resources import format_from_body, format_resource
from api.release_schemas import CustomFormatBody
from api.responses import json_response
from api.routers.queue import ERRORS, releases_of

router = APIRouter(prefix="/api/v3/customformat", tags=["CustomFormat"], route_class=DeferredRoute)

_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/CustomFormatBody"}}}}}


@router.get("", response_model=None, summary="List the custom formats",
            responses={200: {"description": "Radarr's CustomFormatResource array"}})
async def list_formats(c: ContainerDep) -> Response:
    formats = await releases_of(c).catalogue.formats()
    return json_response([format_resource(f) for f in formats])


@router.get("/schema", response_model=None,
            summary="A blank specification of every implementation")
async def schema(c: ContainerDep) -> Response:
    """Radarr's schema: every implementation's fields, and as presets Radarr's six
    release-title conditions and each stored format's conditions, named."""
    return json_response(format_schema(await releases_of(c).catalogue.formats()))


@router.get("/{id}", response_model=None, summary="Get a custom format",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_format(c: ContainerDep, id: ItemId) -> Response:
    return json_response(format_resource(
        await releases_of(c).catalogue.get_format(valid_id(id))))


@router.post("", response_model=None, status_code=201, summary="Add (import) a custom format",
             openapi_extra=_BODY, responses={400: ERRORS[400]})
async def create_format(c: ContainerDep, request: Request) -> Response:
    """A Radarr CustomFormatResource, or a TRaSH-Guides JSON file as it is (`fields` as
    an object). Every pattern is compiled first: a bad one is a 400 naming it."""
    body = await require_json(request, CustomFormatBody)
    stored = await releases_of(c).catalogue.add_format(format_from_body(body))
    return json_response(format_resource(stored), status=201)


@router.put("/{id}", response_model=None, status_code=202, summary="Change a custom format",
            openapi_extra=_BODY, responses={404: ERRORS[404], 400: ERRORS[400]})
async def update_format(c: ContainerDep, id: ItemId, request: Request) -> Response:
    body = await require_json(request, CustomFormatBody)
    catalogue = releases_of(c).catalogue
    await catalogue.get_format(valid_id(id))
    stored = await catalogue.update_format(format_from_body(body, id))
    return json_response(format_resource(stored), status=202)


@router.delete("/{id}", response_class=Response, summary="Delete a custom format",
               responses={200: {"description": "Deleted (empty body)"}, 404: ERRORS[404],
                          400: ERRORS[400]})
async def delete_format(c: ContainerDep, id: ItemId) -> Response:
    """Its score goes from every quality profile too."""
    await releases_of(c).catalogue.delete_format(valid_id(id))
    return json_response({})
