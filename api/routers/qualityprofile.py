"""/api/v3/qualityprofile: Radarr's quality profiles (qualities, cutoff, format scores)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.params import ContainerDep, ItemId, valid_id
from api.release_resources import profile_from_body, profile_resource
from api.release_schemas import QualityProfileBody
from api.responses import json_response
from api.routers.queue import ERRORS, releases_of
from core.presets import default_profile

router = APIRouter(prefix="/api/v3/qualityprofile", tags=["QualityProfile"],
                   route_class=DeferredRoute)

_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/QualityProfileBody"}}}}}


@router.get("", response_model=None, summary="List the quality profiles",
            responses={200: {"description": "Radarr's QualityProfileResource array"}})
async def list_profiles(c: ContainerDep) -> Response:
    profiles = await releases_of(c).catalogue.profiles()
    return json_response([profile_resource(p) for p in profiles])


@router.get("/schema", response_model=None, summary="A profile template to fill in")
async def schema(c: ContainerDep) -> Response:
    """Every quality in Radarr's order and a score of 0 for every custom format."""
    formats = await releases_of(c).catalogue.formats()
    template = default_profile({f.name: f.id for f in formats})
    return json_response(profile_resource(template) | {"id": 0, "name": "",
                                                        "formatItems": [
        {"format": f.id, "name": f.name, "score": 0} for f in formats]})


@router.get("/{id}", response_model=None, summary="Get a quality profile",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_profile(c: ContainerDep, id: ItemId) -> Response:
    return json_response(profile_resource(
        await releases_of(c).catalogue.get_profile(valid_id(id))))


@router.post("", response_model=None, status_code=201, summary="Add a quality profile",
             openapi_extra=_BODY, responses={400: ERRORS[400]})
async def create_profile(c: ContainerDep, request: Request) -> Response:
    """Qualities are listed worst first (Radarr's order); `cutoff` is an allowed quality
    or group id; `formatItems` score custom formats by id."""
    body = await require_json(request, QualityProfileBody)
    stored = await releases_of(c).catalogue.add_profile(profile_from_body(body))
    return json_response(profile_resource(stored), status=201)


@router.put("/{id}", response_model=None, status_code=202, summary="Change a quality profile",
            openapi_extra=_BODY, responses={404: ERRORS[404], 400: ERRORS[400]})
async def update_profile(c: ContainerDep, id: ItemId, request: Request) -> Response:
    body = await require_json(request, QualityProfileBody)
    catalogue = releases_of(c).catalogue
    await catalogue.get_profile(valid_id(id))
    stored = await catalogue.update_profile(profile_from_body(body, id))
    return json_response(profile_resource(stored), status=202)


@router.delete("/{id}", response_class=Response, summary="Delete a quality profile",
               responses={200: {"description": "Deleted (empty body)"}, 404: ERRORS[404],
                          400: ERRORS[400]})
async def delete_profile(c: ContainerDep, id: ItemId) -> Response:
    """The last profile cannot be deleted."""
    await releases_of(c).catalogue.delete_profile(valid_id(id))
    return json_response({})
