"""Dependencies and lenient query types shared by the routers."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from pydantic import BeforeValidator, Field

from api.schemas import Protocol
from core.errors import InvalidId
from core.listing import RadarrStatus, SortDirection
from infrastructure.bootstrap import Container

INT32 = 2**31 - 1


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def lenient_enum(enum: type[Enum]) -> Callable[[Any], Any]:
    """Radarr binds enum query values by name in any case, or by their integer value."""
    members = list(enum)
    folded = {str(m.value).lower(): m for m in members}

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            if value.lower() in folded:
                return folded[value.lower()]
            if value.isascii() and value.isdigit() and int(value) < len(members):
                return members[int(value)]
        return value

    return parse


def valid_id(value: int) -> int:
    """Radarr's RestController.ValidateId."""
    if value <= 0:
        raise InvalidId(value)
    return value


ItemId = Annotated[int, Path(ge=-INT32 - 1, le=INT32, description="Queue item id.")]


SortDirectionParam = Annotated[SortDirection | None, BeforeValidator(lenient_enum(SortDirection))]
ProtocolParam = Annotated[Protocol | None, BeforeValidator(lenient_enum(Protocol))]
StatusItem = Annotated[RadarrStatus, BeforeValidator(lenient_enum(RadarrStatus))]
ProtocolItem = Annotated[Protocol, BeforeValidator(lenient_enum(Protocol))]
Int32Item = Annotated[int, Field(ge=-INT32 - 1, le=INT32)]
