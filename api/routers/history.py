"""/api/v3/history: every transition of every item, Radarr's HistoryResource shape."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from api.deferred_route import DeferredRoute
from api.params import INT32, ContainerDep, Int32Item, SortDirectionParam
from api.resources import RADARR_EVENT_IDS, RADARR_EVENTS, history_resource, unsent_item_id
from api.responses import json_response
from api.routers.queue import ERRORS
from api.schemas import HistoryPage, HistoryResource
from core.domain import HistoryQuery
from core.errors import BadRequest
from core.listing import SortDirection

router = APIRouter(prefix="/api/v3/history", tags=["History"], route_class=DeferredRoute)

# Queuarr's own event names (Radarr's eventType where it has one, see RADARR_EVENTS).
OWN_EVENTS = frozenset({
    "grabbed", "forceGrabbed", "claimed", "sent", "rescued", "released", "retryScheduled",
    "clientUnavailable", "noClient", "clientWarning", "stalled", "paused", "resumed",
    "readded", "downloadCompleted", "downloadFailed", "removed", "cleanedUp", "retried",
    "priorityChanged", "waitingForSlot", "redownloading", "redownloadSkipped",
})


def event_names(wanted: list[str]) -> frozenset[str] | None:
    """eventType values: Radarr's numbers or names, or Queuarr's own names."""
    if not wanted:
        return None
    names: set[str] = set()
    for raw in wanted:
        name = RADARR_EVENT_IDS.get(int(raw)) if raw.lstrip("-").isdigit() else raw
        if name is None or (name not in OWN_EVENTS and name not in RADARR_EVENT_IDS.values()):
            raise BadRequest(f"Unknown eventType {raw!r}")
        names.update(own for own, radarr in RADARR_EVENTS.items() if radarr == name)
        names.add(name)
    return frozenset(names)


@router.get("", response_model=HistoryPage, summary="Every transition, a page at a time",
            responses={400: ERRORS[400]})
async def get_history(
    c: ContainerDep,
    page: Annotated[int, Query(ge=1, le=INT32)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=0, le=1000)] = 10,
    sort_key: Annotated[str | None, Query(alias="sortKey")] = None,
    sort_direction: Annotated[SortDirectionParam, Query(alias="sortDirection")] = None,
    event_type: Annotated[list[str], Query(alias="eventType")] = [],  # noqa: B006
    download_id: Annotated[str | None, Query(alias="downloadId", max_length=200)] = None,
    movie_ids: Annotated[list[Int32Item], Query(alias="movieIds")] = [],  # noqa: B006
    item_id: Annotated[int | None, Query(alias="itemId", ge=1, le=INT32)] = None,
) -> Response:
    """Newest first by default (sorted by date; `sortDirection=ascending` for oldest
    first). `eventType` takes Radarr's numbers (1 grabbed, 4 downloadFailed) or names,
    and Queuarr's own event names; `itemId` narrows to one queue item."""
    ascending = sort_direction is SortDirection.ASCENDING
    unsent = unsent_item_id(download_id) if download_id is not None else None
    if unsent is not None:  # the queue's name for an item no client had: its history
        if item_id is not None and item_id != unsent:
            unsent = 0  # two different items asked for: none matches
        item_id, download_id = unsent, None
    query = HistoryQuery(page=page, page_size=page_size, ascending=ascending,
                         events=event_names(event_type), download_id=download_id,
                         movie_ids=frozenset(movie_ids) if movie_ids else None,
                         item_id=item_id)
    total, rows, items = await c.queue.history(query)
    return json_response({
        "page": page, "pageSize": page_size, "sortKey": "date",
        "sortDirection": "ascending" if ascending else "descending",
        "totalRecords": total,
        "records": [history_resource(h, items.get(h.item_id)) for h in rows],
    })


@router.get("/since", response_model=list[HistoryResource],
            summary="Every transition since a date, oldest first",
            responses={400: ERRORS[400]})
async def get_history_since(
    c: ContainerDep,
    date: Annotated[datetime, Query()],
    event_type: Annotated[str | None, Query(alias="eventType")] = None,
) -> Response:
    """Radarr's /history/since (at most 1,000 rows)."""
    if date.tzinfo is None:
        raise BadRequest("date needs a time zone, such as 2026-01-01T00:00:00Z")
    query = HistoryQuery(page=1, page_size=1000, ascending=True, since=date,
                         events=event_names([event_type] if event_type else []))
    _, rows, items = await c.queue.history(query)
    return json_response([history_resource(h, items.get(h.item_id)) for h in rows])
