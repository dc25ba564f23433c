"""/api/v3/queue: Radarr's endpoints, then Queuarr's own beside them. Static paths are
registered before /{id} so that /queue/bulk never parses as an id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from api.bodies import read_json, require_json
from api.bulk_input import bulk_answer, read_bulk
from api.deferred_route import DeferredRoute
from api.grab_input import read_grab
from api.group_schemas import PlaylistGrabOut
from api.params import (
    INT32,
    ContainerDep,
    Int32Item,
    ItemId,
    ProtocolParam,
    SortDirectionParam,
    StatusItem,
    valid_id,
)
from api.release_resources import release_from_body
from api.release_schemas import (
    CandidatesBody,
    CustomFormatBody,
    QualityProfileBody,
    ReleaseBody,
    ScoreBody,
)
from api.resources import queue_resource, status_resource
from api.responses import JSON, empty_ok, json_response, stream_items
from api.schemas import (
    BadRequestBody,
    BulkGrabOut,
    DispatchOut,
    Empty,
    ForceGrabOut,
    GrabBody,
    IdsBody,
    IdsOut,
    Message,
    PriorityBody,
    QueuePage,
    QueueResource,
    QueueStatistics,
    QueueStatus,
    RemovedOut,
    RetryBody,
)
from core.domain import DownloadProtocol, Priority, QueueItem
from core.errors import NoProcessor, NotFound
from core.intake import Intake
from core.listing import QueueFilter
from core.processor import Processor
from core.selection import GrabOptions, ReleaseService
from core.service import CHUNK, RemoveOptions
from infrastructure.bootstrap import Container

router = APIRouter(prefix="/api/v3/queue", tags=["Queue"], route_class=DeferredRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": BadRequestBody, "description": "Invalid input: {message}, problem "
          "details for a parameter, or Radarr's array of validation failures for a body"},
    404: {"model": Message, "description": "Not found"},
}


@router.get("", response_model=None, summary="List the queue, a page at a time",
            responses={200: {"model": QueuePage}, 400: ERRORS[400]})
async def get_queue(
    c: ContainerDep,
    page: Annotated[int, Query(ge=-INT32 - 1, le=INT32)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=0, le=INT32)] = 10,
    sort_key: Annotated[str | None, Query(alias="sortKey")] = None,
    sort_direction: Annotated[SortDirectionParam, Query(alias="sortDirection")] = None,
    include_unknown: Annotated[bool, Query(alias="includeUnknownMovieItems")] = False,
    include_movie: Annotated[bool, Query(alias="includeMovie")] = False,
    movie_ids: Annotated[list[Int32Item], Query(alias="movieIds")] = [],  # noqa: B006
    protocol: ProtocolParam = None,
    languages: Annotated[list[Int32Item], Query()] = [],  # noqa: B006
    quality: Annotated[list[Int32Item], Query()] = [],  # noqa: B006
    status: Annotated[list[StatusItem], Query()] = [],  # noqa: B006
    search: Annotated[str | None, Query(max_length=200, description=(
        "Queuarr's own: only items whose title contains this (ASCII letters in any "
        "case)"))] = None,
) -> Response:
    """Radarr's GET /api/v3/queue: any pageSize, Radarr's sort keys (an unknown key
    sorts by timeleft), omitted sortDirection = descending. Items without a movie are
    hidden unless includeUnknownMovieItems=true. `search` (Queuarr's) keeps the items
    whose title contains it."""
    flt = QueueFilter(
        include_unknown=include_unknown,
        movie_ids=frozenset(movie_ids) if movie_ids else None,
        protocol=DownloadProtocol[protocol.name] if protocol else None,
        statuses=QueueFilter.for_statuses(status),
        quality_ids=frozenset(quality) if quality else None,
        language_ids=frozenset(languages) if languages else None,
        search=search.strip() or None if search is not None else None,
    )
    listed = await c.queue.list_page(page, page_size, sort_key, sort_direction, flt)
    now = c.clock.now()
    header = {"page": listed.page, "pageSize": listed.page_size, "sortKey": listed.sort_key,
              "sortDirection": listed.sort_direction.value,
              "totalRecords": listed.total_records}

    def render(item: QueueItem) -> dict[str, Any]:
        return queue_resource(item, now, include_movie)

    if page_size <= CHUNK:
        records = [render(item) async for chunk in listed.chunks for item in chunk]
        return json_response({**header, "records": records})
    return stream_items(header, listed.chunks, render)


@router.get("/details", response_model=None, summary="Every queue item, unpaged",
            responses={200: {"model": list[QueueResource]}, 400: ERRORS[400]})
async def get_details(
    c: ContainerDep,
    movie_id: Annotated[int | None, Query(alias="movieId", ge=-INT32 - 1, le=INT32)] = None,
    include_movie: Annotated[bool, Query(alias="includeMovie")] = False,
) -> Response:
    """Radarr's GET /api/v3/queue/details: a bare array, unknown movies included unless
    movieId is given."""
    now = c.clock.now()
    chunks = await c.queue.details(movie_id)
    return stream_items(None, chunks, lambda item: queue_resource(item, now, include_movie))


@router.get("/status", response_model=QueueStatus, summary="Queue counters")
async def get_status(c: ContainerDep) -> Response:
    """Radarr's GET /api/v3/queue/status, from counters kept with every state change."""
    return json_response(status_resource(await c.queue.counts()))


@router.get("/statistics", response_model=QueueStatistics, summary="Queue statistics")
async def get_statistics(c: ContainerDep) -> Response:
    """Items pending, downloading, paused, retrying, completed and failed."""
    s = await c.queue.statistics()
    return json_response({
        "pending": s.pending, "downloading": s.downloading, "paused": s.paused,
        "retrying": s.retrying, "completed": s.completed, "failed": s.failed,
        "permanentFailures": s.permanent_failures, "total": s.total,
    })


GRAB_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/GrabBody"},
                {"$ref": "#/components/schemas/CandidatesBody"},
                {"type": "array", "items": {"type": "string"},
                 "description": "A list of links (bulk import)"}]}},
            "text/plain": {"schema": {
                "type": "string", "description": "A list of links, one a line (bulk "
                "import); blank lines and # comments are skipped"}},
            "multipart/form-data": {"schema": {
                "type": "object",
                "properties": {
                    "torrentFile": {"type": "string", "format": "binary"},
                    "file": {"type": "string", "format": "binary", "description":
                             "A .txt list of links, one a line (bulk import; sent alone)"},
                    "links": {"type": "string", "format": "binary",
                              "description": "The same as file"},
                    "title": {"type": "string", "maxLength": 1000},
                    "downloadUrl": {"type": "string"},
                    "movieId": {"type": "integer", "minimum": 1, "maximum": INT32},
                    "indexer": {"type": "string", "maxLength": 200},
                    "priority": {"type": "string",
                                 "enum": ["low", "normal", "high", "veryHigh"]},
                    "category": {"type": "string", "maxLength": 200},
                    "force": {"type": "boolean"},
                },
            }},
        },
    }
}


@router.post("/grab", status_code=201, response_model=None, summary="Add a release",
             openapi_extra=GRAB_BODY,
             responses={201: {"model": QueueResource | BulkGrabOut | PlaylistGrabOut},
                        200: {"model": BulkGrabOut, "description": "A list of links of "
                              "which none was queued"}, 400: ERRORS[400],
                        409: {"model": Message, "description": "Already queued (existingId), "
                              "or already completed without force=true"},
                        413: {"model": Message}, 415: {"model": Message},
                        422: {"model": Message, "description": "Blocklisted or too large"}})
async def grab(c: ContainerDep, request: Request) -> Response:
    """Queue a release: JSON with `downloadUrl` (magnet, .torrent URL, or http(s) file) or
    `torrentFile` (base64), or a multipart upload with a `torrentFile` part.
    camelCase or snake_case property names.

    Or candidates for one movie, `{"movieId": 7, "releases": [ReleaseResource, ...]}`:
    the best approved release is grabbed (its queue resource is the answer), the others
    are kept for the next-best re-grab; 422 when none is approved, with each reason.

    Or a list of links (a JSON array, text/plain, or a multipart `file`/`links` .txt, one
    a line): each line is queued, a duplicate (existingId) or refused (why)."""
    bulk = await read_bulk(request)
    if bulk is not None:
        return bulk_answer(await Intake(c.queue).grab(bulk, sender="bulk import"))
    grab = await read_grab(request)
    if isinstance(grab, CandidatesBody):
        outcome = await releases_of(c).grab_best(
            [release_from_body(r) for r in grab.releases], grab.movie_id,
            grab.quality_profile_id, GrabOptions(
                priority=Priority.parse(grab.priority.value),
                download_client=grab.download_client, category=grab.category))
        assert outcome.item is not None
        return json_response(queue_resource(outcome.item, c.clock.now()), status=201)
    taken = await c.queue.take(grab)
    now = c.clock.now()
    if taken.group_id is None:
        item = taken.items[0]
        resource = queue_resource(item, now)
        routed = c.queue.routed_to(item)
        if routed is not None:
            resource["routedTo"] = routed
        return json_response(resource, status=201)
    return json_response({
        "groupId": taken.group_id, "title": taken.group_title,
        "items": [queue_resource(i, now) for i in taken.items],
        "skipped": [{"url": s.url, "title": s.title, "reason": s.reason,
                     "existingId": s.existing_id} for s in taken.skipped],
        "overCap": taken.over_cap}, status=201 if taken.items else 200)


@router.post("/grab/bulk", response_model=ForceGrabOut, summary="Force-grab pending items",
             openapi_extra={"requestBody": {"required": True, "content": {JSON: {
                 "schema": {"$ref": "#/components/schemas/IdsBody"}}}}},
             responses={404: ERRORS[404], 400: ERRORS[400]})
async def grab_bulk(c: ContainerDep, request: Request) -> Response:
    """Radarr's force grab of pending items; all ids must be pending, or none is touched.
    Answers `{}` as Radarr does, or, while dispatching waits, why nothing is sent yet."""
    body = await require_json(request, IdsBody, exact=True)
    await c.queue.force_grab_many([valid_id(i) for i in body.ids])
    return json_response(await _dispatch_note(c))


@router.post("/grab/{id}", response_model=ForceGrabOut, summary="Force-grab a pending item",
             responses={404: ERRORS[404], 400: ERRORS[400]})
async def grab_one(c: ContainerDep, id: ItemId) -> Response:
    """Radarr's force grab: a queued, delayed or client-unavailable item is sent now
    (within the free slots). Answers `{}` as Radarr does; while dispatching waits
    (PUT /queue/pause, or low free space), `dispatchPaused: true` and a `message`."""
    await c.queue.force_grab(valid_id(id))
    return json_response(await _dispatch_note(c))


async def _dispatch_note(c: Container) -> dict[str, Any]:
    """Nothing for Radarr's `{}`; while dispatching waits, that it does and why (the
    items are due, and wait for it): extra fields Radarr clients ignore."""
    if await c.dispatching.paused():
        why = "Dispatching is paused (PUT /api/v3/queue/resume starts it again)"
    elif c.processor is not None and c.processor.disk_message:
        why = c.processor.disk_message
    else:
        return {}
    return {"dispatchPaused": True,
            "message": f"{why}; the item is due and is sent once dispatching runs"}


def releases_of(c: Container) -> ReleaseService:
    if c.releases is None:
        raise NotFound("Release selection is not available in this process")
    return c.releases


def _processor(c: Container) -> Processor:
    if c.processor is None:
        raise NoProcessor()
    return c.processor


@router.put("/pause", response_model=DispatchOut, summary="Pause all dispatching",
            responses={409: {"model": Message, "description": "No processor here"}})
async def pause_all(c: ContainerDep) -> Response:
    """Stop sending new downloads (the seed's /pause); running downloads go on, and
    grabs are still accepted and queued. Every process sees it (the switch is in the
    database)."""
    await c.dispatching.set_paused(True)
    return json_response({"paused": True})


@router.put("/resume", response_model=DispatchOut, summary="Resume all dispatching",
            responses={409: {"model": Message, "description": "No processor here"}})
async def resume_all(c: ContainerDep) -> Response:
    """Send queued downloads again (the seed's /resume)."""
    await c.dispatching.set_paused(False)
    return json_response({"paused": False})


@router.get("/pause", response_model=DispatchOut, summary="Whether dispatching is paused")
async def dispatch_state(c: ContainerDep) -> Response:
    return json_response({"paused": await c.dispatching.paused()})


@router.post("/process", response_model=IdsOut, summary="Run one processing pass now",
             responses={409: {"model": Message, "description": "No processor here"}})
async def process(c: ContainerDep) -> Response:
    """Rescue expired leases, send what is due (up to the free slots, unless dispatching
    is paused) and sync progress, once; answers the ids sent or rescued."""
    return json_response({"ids": await _processor(c).process()})


@router.post("/retry", response_model=IdsOut, summary="Retry failed items",
             openapi_extra={"requestBody": {"required": False, "content": {JSON: {
                 "schema": {"$ref": "#/components/schemas/RetryBody"}}}}},
             responses={404: ERRORS[404], 400: ERRORS[400], 409: {"model": Message}})
async def retry(c: ContainerDep, request: Request) -> Response:
    """Queue failed items again with their attempts reset: the given ids, or every
    failed item when the body is empty or has no ids."""
    body = await read_json(request, RetryBody)
    ids = body.ids if body is not None else None
    retried = await c.queue.retry([valid_id(i) for i in ids] if ids is not None else None)
    return json_response({"ids": retried})


@router.delete("/cleanup", response_model=RemovedOut, summary="Delete old finished items",
               responses={400: ERRORS[400]})
async def cleanup(
    c: ContainerDep,
    older_than_days: Annotated[int, Query(alias="olderThanDays", ge=0, le=36500)] = 30,
) -> Response:
    """Delete completed and failed items not updated for olderThanDays days."""
    return json_response({"removed": await c.queue.cleanup(older_than_days)})


def remove_options(
    remove_from_client: Annotated[bool, Query(alias="removeFromClient")] = True,
    blocklist: Annotated[bool, Query()] = False,
    skip_redownload: Annotated[bool, Query(alias="skipRedownload")] = False,
    change_category: Annotated[bool, Query(alias="changeCategory")] = False,
) -> RemoveOptions:
    """Radarr's DELETE /queue flags, with Radarr's defaults."""
    return RemoveOptions(remove_from_client, blocklist, skip_redownload, change_category)


RemoveFlags = Annotated[RemoveOptions, Depends(remove_options)]


@router.delete("/bulk", response_model=Empty, summary="Remove many items",
               openapi_extra={"requestBody": {"required": True, "content": {
                   t: {"schema": {"$ref": "#/components/schemas/IdsBody"}}
                   for t in (JSON, "text/json", "application/*+json")}}},
               responses={404: ERRORS[404], 400: ERRORS[400]})
async def remove_bulk(c: ContainerDep, request: Request, options: RemoveFlags) -> Response:
    """Radarr's bulk remove: all or nothing, 404 if any id is unknown."""
    body = await require_json(request, IdsBody)
    await c.queue.remove_many([valid_id(i) for i in body.ids], options)
    return json_response({})


@router.get("/{id}", response_model=QueueResource, summary="One queue item",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_item(
    c: ContainerDep,
    id: ItemId,
    include_movie: Annotated[bool, Query(alias="includeMovie")] = False,
) -> Response:
    item = await c.queue.get(valid_id(id))
    return json_response(queue_resource(item, c.clock.now(), include_movie))


@router.delete("/{id}", response_class=Response, summary="Remove an item",
               responses={200: {"description": "Removed (empty body)"}, 404: ERRORS[404],
                          400: ERRORS[400]})
async def remove(c: ContainerDep, id: ItemId, options: RemoveFlags) -> Response:
    """Radarr's remove: from the client too unless removeFromClient=false; blocklist=true
    also blocklists the release. 200 with an empty body."""
    await c.queue.remove(valid_id(id), options)
    return empty_ok()


@router.put("/{id}/pause", response_model=QueueResource, summary="Pause an item",
            responses={404: ERRORS[404], 400: ERRORS[400], 409: {"model": Message}})
async def pause(c: ContainerDep, id: ItemId) -> Response:
    item = await c.queue.pause(valid_id(id))
    return json_response(queue_resource(item, c.clock.now()))


@router.put("/{id}/resume", response_model=QueueResource, summary="Resume an item",
            responses={404: ERRORS[404], 400: ERRORS[400], 409: {"model": Message}})
async def resume(c: ContainerDep, id: ItemId) -> Response:
    item = await c.queue.resume(valid_id(id))
    return json_response(queue_resource(item, c.clock.now()))


@router.put("/{id}/priority", response_model=QueueResource, summary="Set an item's priority",
            openapi_extra={"requestBody": {"required": True, "content": {JSON: {
                "schema": {"$ref": "#/components/schemas/PriorityBody"}}}}},
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def set_priority(c: ContainerDep, id: ItemId, request: Request) -> Response:
    body = await require_json(request, PriorityBody)
    item = await c.queue.set_priority(valid_id(id), Priority.parse(body.priority.value))
    return json_response(queue_resource(item, c.clock.now()))


BODY_MODELS: tuple[type[BaseModel], ...] = (
    GrabBody, IdsBody, RetryBody, PriorityBody, CandidatesBody, ReleaseBody, ScoreBody,
    CustomFormatBody, QualityProfileBody)
