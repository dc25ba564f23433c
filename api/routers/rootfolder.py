"""/api/v3/rootfolder: Radarr's root folders are where movies live; Queuarr's are its
download roots (QUEUARR_DOWNLOAD_DIR, then QUEUARR_DOWNLOAD_ROOTS), read-only."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from api.deferred_route import DeferredRoute
from api.params import ContainerDep, ItemId, valid_id
from api.responses import json_response
from api.routers.queue import ERRORS
from core.errors import BadRequest, NotFound, ValidationFailed, ValidationFailure

router = APIRouter(prefix="/api/v3/rootfolder", tags=["RootFolder"], route_class=DeferredRoute)

READ_ONLY = ("Queuarr's root folders are its download directories: set them with "
             "QUEUARR_DOWNLOAD_DIR and QUEUARR_DOWNLOAD_ROOTS")


def _measure(root: Path) -> tuple[bool, int | None]:
    """(accessible, free bytes): as Radarr, a folder that does not exist is inaccessible
    and has no free space to show."""
    try:
        if not root.is_dir():
            return False, None
        return True, shutil.disk_usage(root).free
    except OSError:
        return False, None


async def _resource(root_id: int, root: Path) -> dict[str, Any]:
    accessible, free = await asyncio.to_thread(_measure, root)
    out: dict[str, Any] = {"id": root_id, "path": str(root), "accessible": accessible,
                           "unmappedFolders": []}
    if free is not None:  # Radarr omits nulls
        out["freeSpace"] = free
    return out


@router.get("", response_model=None, summary="List the download roots as root folders",
            responses={200: {"description": "Radarr's RootFolderResource array"}})
async def list_roots(c: ContainerDep) -> Response:
    return json_response([await _resource(i, root)
                          for i, root in enumerate(c.settings.roots, start=1)])


@router.get("/{id}", response_model=None, summary="Get a root folder",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_root(c: ContainerDep, id: ItemId) -> Response:
    roots = c.settings.roots
    if not 1 <= valid_id(id) <= len(roots):
        raise NotFound(f"Root folder {id} does not exist")
    return json_response(await _resource(id, roots[id - 1]))


@router.post("", response_model=None, summary="Refused: the roots come from settings",
             responses={400: ERRORS[400]})
async def add_root() -> Response:
    """Always 400 (Radarr's validation-failure shape, on Path): the roots are set by
    QUEUARR_DOWNLOAD_DIR and QUEUARR_DOWNLOAD_ROOTS."""
    raise ValidationFailed([ValidationFailure("Path", READ_ONLY)])


@router.delete("/{id}", response_model=None, summary="Refused: the roots come from settings",
               responses={404: ERRORS[404], 400: ERRORS[400]})
async def delete_root(c: ContainerDep, id: ItemId) -> Response:
    """404 for an unknown id, else 400: the roots are set by settings."""
    if not 1 <= valid_id(id) <= len(c.settings.roots):
        raise NotFound(f"Root folder {id} does not exist")
    raise BadRequest(READ_ONLY)
