"""/api/v3/language: Radarr's languages (the ids custom formats and profiles use)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from api.deferred_route import DeferredRoute
from api.params import ItemId
from api.responses import json_response
from api.routers.queue import ERRORS
from core.errors import NotFound
from core.quality import LANGUAGES

router = APIRouter(prefix="/api/v3/language", tags=["Language"], route_class=DeferredRoute)


def language_resource(language_id: int) -> dict[str, Any]:
    name = LANGUAGES[language_id]
    return {"id": language_id, "name": name, "nameLower": name.lower()}


@router.get("", response_model=None, summary="List the languages",
            responses={200: {"description": "Radarr's LanguageResource array"}})
async def list_languages() -> Response:
    """Radarr's order: Any, Original and Unknown (ids 0 and below) first, then by name."""
    ordered = sorted(LANGUAGES, key=lambda i: (i > 0, LANGUAGES[i]))
    return json_response([language_resource(i) for i in ordered])


@router.get("/{id}", response_model=None, summary="Get a language",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_language(id: ItemId) -> Response:
    """An unknown id is a 404 (Radarr: 500)."""
    if id not in LANGUAGES:
        raise NotFound(f"Language {id} does not exist")
    return json_response(language_resource(id))
